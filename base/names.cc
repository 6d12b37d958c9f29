#include "base/names.h"

#include <cctype>

namespace certkeeper {

namespace {

Status BadName(std::string_view name, std::string why) {
  std::string shown;
  for (char c : name.substr(0, 80)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      shown += "\\x" + std::string(1, "0123456789abcdef"[u >> 4]) + "0123456789abcdef"[u & 15];
    } else {
      shown += c;
    }
  }
  return Status(ErrorCode::kInvalidArgument,
                "invalid domain name \"" + shown + "\": " + std::move(why));
}

bool AllDigits(std::string_view label) {
  for (char c : label) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

bool IsWildcard(std::string_view name) { return name.rfind("*.", 0) == 0; }

Result<std::string> CanonicalDnsName(std::string_view name, bool allow_wildcard) {
  if (name.empty()) return BadName(name, "it is empty");
  std::string lower;
  lower.reserve(name.size());
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      return BadName(name, "it contains non-ASCII characters")
          .Hint("give internationalized names in their punycode form (xn--...), "
                "e.g. with `idn2 NAME`");
    }
    lower += static_cast<char>(std::tolower(u));
  }
  if (lower.back() == '.') lower.pop_back();
  std::string_view rest = lower;
  if (IsWildcard(rest)) {
    if (!allow_wildcard) return BadName(name, "wildcards are not allowed here");
    rest.remove_prefix(2);
  }
  if (rest.empty()) return BadName(name, "it is empty");
  if (rest.size() > 253) return BadName(name, "longer than 253 characters");
  size_t labels = 0;
  std::string_view last_label;
  while (true) {
    size_t dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty()) return BadName(name, "it has an empty label");
    if (label.size() > 63) return BadName(name, "a label is longer than 63 characters");
    if (label.front() == '-' || label.back() == '-') {
      return BadName(name, "a label starts or ends with '-'");
    }
    for (char c : label) {
      if (c == '*') {
        return BadName(name, "'*' is only allowed as the whole first label (\"*.example.com\")");
      }
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) {
        return BadName(name, std::string("it contains '") +
                                 (static_cast<unsigned char>(c) < 0x20 ? "control character"
                                                                        : std::string(1, c)) +
                                 "' (only letters, digits, '-' and '.' are allowed)");
      }
    }
    ++labels;
    last_label = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (labels < 2) {
    return BadName(name, "a certificate name needs at least two labels (e.g. example.com)");
  }
  if (AllDigits(last_label)) {
    return BadName(name, "IP addresses are not supported; give a DNS name");
  }
  return lower;
}

Status ValidateCertificateName(std::string_view name) {
  auto bad = [&](std::string why) {
    return Status(ErrorCode::kInvalidArgument,
                  "invalid certificate name \"" + std::string(name.substr(0, 80)) + "\": " +
                      std::move(why))
        .Hint("use 1-64 letters, digits, '.', '_' or '-', e.g. \"web\" or \"example.com\"");
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > 64) return bad("longer than 64 characters");
  if (name.front() == '.' || name.front() == '-') return bad("it starts with '.' or '-'");
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ||
        static_cast<unsigned char>(c) >= 0x80) {
      return bad("it contains a character other than letters, digits, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

}  // namespace certkeeper
