#include "challenges/http_request_head.h"

#include <algorithm>

namespace certkeeper::challenges {

namespace {

// tchar of RFC 9110 §5.6.2.
bool IsTokenChar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
           return IsTokenChar(static_cast<unsigned char>(c));
         });
}

// field-vchar, SP and HTAB (RFC 9110 §5.5); obs-text is allowed.
bool IsFieldValueChar(unsigned char c) { return c == '\t' || c >= 0x20 ? c != 0x7f : false; }

ParsedHead Malformed(std::string problem) {
  ParsedHead out;
  out.state = HeadState::kMalformed;
  out.problem = std::move(problem);
  return out;
}

// request-line = method SP request-target SP HTTP-version (RFC 9112 §3).
// Returns what is wrong with it, or "" when it is valid and stored in head.
std::string ParseRequestLine(std::string_view line, RequestHead& head) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return std::string("the request line is not method SP target SP version");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return std::string("the method is not a token");
  if (target.empty() || !std::all_of(target.begin(), target.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u >= 0x21 && u <= 0x7e;
      })) {
    return std::string("the request target is empty or holds a byte outside 0x21-0x7E");
  }
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3);
  // only major version 1 is spoken here.
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
      version[7] > '9') {
    return std::string("the version is not HTTP/1.x");
  }
  head.method = std::string(method);
  head.target = std::string(target);
  head.version = std::string(version);
  return "";
}

// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).
bool IsValidFieldLine(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) return false;
  std::string_view value = line.substr(colon + 1);
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return IsFieldValueChar(static_cast<unsigned char>(c)); });
}

}  // namespace

ParsedHead ParseRequestHead(std::string_view input, size_t max_size) {
  const std::string_view window = input.substr(0, std::min(input.size(), max_size));
  RequestHead head;
  bool have_request_line = false;
  size_t pos = 0;
  while (true) {
    size_t nl = window.find('\n', pos);
    if (nl == std::string_view::npos) {
      ParsedHead out;
      out.state = input.size() >= max_size ? HeadState::kTooLarge : HeadState::kIncomplete;
      return out;
    }
    std::string_view line = window.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (line.find('\r') != std::string_view::npos) return Malformed("a bare CR in a line");
    if (!have_request_line) {
      if (line.empty()) continue;  // RFC 9112 §2.2: empty lines before it
      std::string problem = ParseRequestLine(line, head);
      if (!problem.empty()) return Malformed(std::move(problem));
      have_request_line = true;
      continue;
    }
    if (line.empty()) {
      head.length = pos;
      ParsedHead out;
      out.state = HeadState::kComplete;
      out.head = std::move(head);
      return out;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      return Malformed("obsolete line folding or whitespace before a field name");
    }
    if (!IsValidFieldLine(line)) return Malformed("a header field line is malformed");
    size_t colon = line.find(':');
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    head.fields.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
}

const std::string* FindField(const RequestHead& head, std::string_view name) {
  for (const auto& [field, value] : head.fields) {
    if (field.size() == name.size() &&
        std::equal(field.begin(), field.end(), name.begin(), [](char a, char b) {
          auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
          return lower(a) == lower(b);
        })) {
      return &value;
    }
  }
  return nullptr;
}

std::string_view TargetPath(std::string_view target) {
  if (!target.empty() && target.front() == '/') return target.substr(0, target.find('?'));
  auto starts_with_ci = [&target](std::string_view prefix) {
    if (target.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      char c = target[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  size_t scheme = starts_with_ci("http://") ? 7 : starts_with_ci("https://") ? 8 : 0;
  if (scheme == 0) return "";
  size_t slash = target.find_first_of("/?", scheme);
  if (slash == std::string_view::npos || target[slash] == '?') return "/";
  return target.substr(slash, target.find('?', slash) - slash);
}

}  // namespace certkeeper::challenges
