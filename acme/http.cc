#include "acme/http.h"

#include <cctype>

namespace certkeeper::acme {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits a Link field value at commas that are outside <...> and quotes.
std::vector<std::string_view> SplitLinkValues(std::string_view value) {
  std::vector<std::string_view> parts;
  bool in_uri = false;
  bool in_quotes = false;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (in_quotes) {
      if (c == '"') in_quotes = false;
    } else if (in_uri) {
      if (c == '>') in_uri = false;
    } else if (c == '<') {
      in_uri = true;
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == ',') {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(value.substr(start));
  return parts;
}

std::optional<Link> ParseOneLink(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.front() != '<') return std::nullopt;
  size_t close = text.find('>');
  if (close == std::string_view::npos) return std::nullopt;
  Link link;
  link.uri = std::string(text.substr(1, close - 1));
  std::string_view params = text.substr(close + 1);
  while (!params.empty()) {
    size_t semi = params.find(';');
    if (semi == std::string_view::npos) break;
    params.remove_prefix(semi + 1);
    size_t next = params.find(';');
    std::string_view param = Trim(params.substr(0, next));
    size_t eq = param.find('=');
    if (eq != std::string_view::npos &&
        EqualsIgnoreCase(Trim(param.substr(0, eq)), "rel")) {
      std::string_view v = Trim(param.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
      }
      link.rel = std::string(v);
    }
  }
  if (link.uri.empty() || link.rel.empty()) return std::nullopt;
  return link;
}

}  // namespace

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void HttpHeaders::Add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> HttpHeaders::Get(std::string_view name) const {
  for (const auto& [n, v] : entries_) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpHeaders::GetAll(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [n, v] : entries_) {
    if (EqualsIgnoreCase(n, name)) values.push_back(v);
  }
  return values;
}

bool IsJsonContentType(std::string_view content_type) {
  std::string type = AsciiLower(Trim(content_type.substr(0, content_type.find(';'))));
  if (type == "application/json") return true;
  constexpr std::string_view kSuffix = "+json";
  return type.rfind("application/", 0) == 0 && type.size() > kSuffix.size() &&
         type.compare(type.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

std::vector<Link> ParseLinks(const HttpHeaders& headers) {
  std::vector<Link> links;
  for (const std::string& value : headers.GetAll("Link")) {
    for (std::string_view part : SplitLinkValues(value)) {
      if (auto link = ParseOneLink(part)) links.push_back(std::move(*link));
    }
  }
  return links;
}

}  // namespace certkeeper::acme
