// certbot's renewal conf and account paths (import_certbot.h).
#include <cctype>

#include "lifecycle/import_certbot.h"

namespace certkeeper::lifecycle {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool ValidKey(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-' &&
        c != '*') {
      return false;
    }
  }
  return true;
}

// configobj: a value in matching quotes is taken literally; an unquoted one
// ends at '#' (an inline comment).
std::string ConfValue(std::string_view raw) {
  raw = Trim(raw);
  // A value holding both quote characters is written in triple quotes.
  for (std::string_view triple : {std::string_view("\"\"\""), std::string_view("'''")}) {
    if (raw.size() >= 6 && raw.substr(0, 3) == triple && raw.substr(raw.size() - 3) == triple) {
      return std::string(raw.substr(3, raw.size() - 6));
    }
  }
  if (raw.size() >= 2 && (raw.front() == '"' || raw.front() == '\'') &&
      raw.back() == raw.front()) {
    return std::string(raw.substr(1, raw.size() - 2));
  }
  size_t hash = raw.find('#');
  if (hash != std::string_view::npos) raw = Trim(raw.substr(0, hash));
  return std::string(raw);
}

}  // namespace

Result<RenewalConf> ParseRenewalConf(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument, "renewal conf holds a NUL byte");
  }
  RenewalConf conf;
  enum class Section { kTop, kParams, kWebrootMap, kOther } section = Section::kTop;
  size_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(start, end - start));
    start = end + 1;
    ++line_no;
    const std::string where = "line " + std::to_string(line_no);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      size_t depth = 0;
      while (depth < line.size() && line[depth] == '[') ++depth;
      if (line.size() < 2 * depth + 1 || line.substr(line.size() - depth) != std::string(depth, ']')) {
        return Status(ErrorCode::kInvalidArgument, where + ": malformed section header");
      }
      std::string_view name = Trim(line.substr(depth, line.size() - 2 * depth));
      if (depth == 1) {
        section = name == "renewalparams" ? Section::kParams : Section::kOther;
      } else if (depth == 2 && name == "webroot_map" && section != Section::kOther) {
        section = Section::kWebrootMap;
      } else {
        section = Section::kOther;
      }
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status(ErrorCode::kInvalidArgument, where + ": expected key = value");
    }
    std::string key(Trim(line.substr(0, eq)));
    if (!ValidKey(key)) {
      return Status(ErrorCode::kInvalidArgument, where + ": invalid key");
    }
    std::map<std::string, std::string>* target = nullptr;
    switch (section) {
      case Section::kTop: target = &conf.top; break;
      case Section::kParams: target = &conf.params; break;
      case Section::kWebrootMap: target = &conf.webroot_map; break;
      case Section::kOther: continue;  // sections certbot does not write
    }
    if (!target->emplace(key, ConfValue(line.substr(eq + 1))).second) {
      return Status(ErrorCode::kInvalidArgument, where + ": duplicate key \"" + key + "\"");
    }
  }
  return conf;
}

std::vector<std::string> ConfList(std::string_view value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string item = ConfValue(value.substr(start, comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

Result<std::string> CertbotAccountDir(std::string_view server) {
  std::string_view rest = server;
  if (rest.substr(0, 8) == "https://") {
    rest.remove_prefix(8);
  } else if (rest.substr(0, 7) == "http://") {
    rest.remove_prefix(7);
  } else {
    return Status(ErrorCode::kInvalidArgument, "server is not an http(s) URL");
  }
  size_t query = rest.find_first_of("?#");
  if (query != std::string_view::npos) rest = rest.substr(0, query);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return Status(ErrorCode::kInvalidArgument, "server URL has no host");
  size_t start = 0;
  while (start <= rest.size()) {
    size_t slash = rest.find('/', start);
    if (slash == std::string_view::npos) slash = rest.size();
    std::string_view segment = rest.substr(start, slash - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return Status(ErrorCode::kInvalidArgument,
                    "server URL has an empty, \".\" or \"..\" path segment");
    }
    for (char c : segment) {
      if (static_cast<unsigned char>(c) < 0x21 || c == '\\') {
        return Status(ErrorCode::kInvalidArgument, "server URL holds a control character");
      }
    }
    start = slash + 1;
  }
  return std::string(rest);
}

}  // namespace certkeeper::lifecycle
