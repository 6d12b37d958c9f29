#include "base/names.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>

namespace certkeeper {

namespace {

// The first 80 bytes of untrusted text, control characters as \xNN, so an
// error message stays one line.
std::string Shown(std::string_view text) {
  std::string shown;
  for (char c : text.substr(0, 80)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      shown += "\\x" + std::string(1, "0123456789abcdef"[u >> 4]) + "0123456789abcdef"[u & 15];
    } else {
      shown += c;
    }
  }
  return shown;
}

Status BadName(std::string_view name, std::string why) {
  return Status(ErrorCode::kInvalidArgument,
                "invalid domain name \"" + Shown(name) + "\": " + std::move(why));
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
    // Not a DNS name, and not an IP address in the one accepted spelling
    // either ("0x7f.0.0.1", "1.2.3.4x.5"): CanonicalIdentifier sends only
    // digits-and-dots and ':' forms to CanonicalIpAddress.
    return BadName(name, "its last label is all digits, so it is no DNS name; an IP address "
                         "must be four decimal numbers (192.0.2.1) or an IPv6 address");
  }
  return lower;
}

namespace {

Status BadIp(std::string_view text, std::string why) {
  return Status(ErrorCode::kInvalidArgument,
                "invalid IP address \"" + Shown(text) + "\": " + std::move(why))
      .Hint("give an IPv4 address as four decimal numbers (192.0.2.1) or an IPv6 address "
            "without brackets or zone (2001:db8::1)");
}

// Four decimal parts of 1-3 digits, no leading zero, each at most 255.
bool StrictDottedQuad(std::string_view text) {
  int parts = 0;
  while (true) {
    size_t dot = text.find('.');
    std::string_view part = text.substr(0, dot);
    if (part.empty() || part.size() > 3 || !AllDigits(part)) return false;
    if (part.size() > 1 && part.front() == '0') return false;
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return parts == 4;
}

// RFC 5952 §4: lower-case hex without leading zeros, the longest run of two or
// more zero groups (the first of equal runs) as "::", and no dotted IPv4 tail.
// inet_ntop is not used: glibc prints "::102:304" as "::1.2.3.4", which is not
// the form CAs (and RFC 8738 §3) use, so names would not compare equal.
std::string FormatIpv6(const in6_addr& addr) {
  unsigned groups[8];
  for (int i = 0; i < 8; ++i) {
    groups[i] = (static_cast<unsigned>(addr.s6_addr[2 * i]) << 8) | addr.s6_addr[2 * i + 1];
  }
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best_start = -1;
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    char buf[8];
    snprintf(buf, sizeof buf, "%x", groups[i]);
    out += buf;
  }
  return out;
}

bool IsIpv4Mapped(const in6_addr& addr) {
  for (int i = 0; i < 10; ++i) {
    if (addr.s6_addr[i] != 0) return false;
  }
  return addr.s6_addr[10] == 0xff && addr.s6_addr[11] == 0xff;
}

}  // namespace

bool LooksLikeIpAddress(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return true;
  if (text.empty()) return false;
  for (char c : text) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.')) return false;
  }
  return true;
}

Result<std::string> CanonicalIpAddress(std::string_view text) {
  if (text.empty()) return BadIp(text, "it is empty");
  if (text.size() > 45) return BadIp(text, "longer than any IP address");
  if (text.find(':') == std::string_view::npos) {
    if (!StrictDottedQuad(text)) {
      return BadIp(text, "an IPv4 address is four decimal numbers 0-255 without leading zeros");
    }
    return std::string(text);
  }
  for (char c : text) {
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) {
      return BadIp(text, c == '%' ? "zone ids are not allowed"
                                  : "it contains a character that is not part of an IPv6 address");
    }
  }
  in6_addr addr{};
  std::string copy(text);
  if (inet_pton(AF_INET6, copy.c_str(), &addr) != 1) return BadIp(text, "not an IPv6 address");
  // An embedded IPv4 part must be strict too.
  if (size_t colon = copy.rfind(':'); copy.find('.', colon) != std::string::npos &&
                                      !StrictDottedQuad(std::string_view(copy).substr(colon + 1))) {
    return BadIp(text, "its IPv4 part is not four decimal numbers without leading zeros");
  }
  // "::ffff:192.0.2.1" is the IPv4 address under another name: a certificate
  // for it (a 16-byte SAN) would not match clients of 192.0.2.1.
  if (IsIpv4Mapped(addr)) {
    return BadIp(text, "an IPv4-mapped IPv6 address; give the IPv4 address itself");
  }
  return FormatIpv6(addr);
}

bool IsIpAddress(std::string_view text) { return CanonicalIpAddress(text).ok(); }

Result<std::string> CanonicalIdentifier(std::string_view text, bool allow_wildcard) {
  if (LooksLikeIpAddress(text)) return CanonicalIpAddress(text);
  return CanonicalDnsName(text, allow_wildcard);
}

std::string ReverseDnsName(std::string_view ip) {
  // Only what CanonicalIpAddress accepts: inet_pton alone would map spellings
  // that certkeeper refuses everywhere else.
  auto canonical = CanonicalIpAddress(ip);
  if (!canonical.ok()) return "";
  const std::string& copy = *canonical;
  in_addr v4{};
  if (copy.find(':') == std::string::npos && inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    const auto* b = reinterpret_cast<const unsigned char*>(&v4.s_addr);
    char buf[32];
    snprintf(buf, sizeof buf, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
    return buf;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, copy.c_str(), &v6) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 15; i >= 0; --i) {
    out += kHex[v6.s6_addr[i] & 15];
    out += '.';
    out += kHex[v6.s6_addr[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
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
