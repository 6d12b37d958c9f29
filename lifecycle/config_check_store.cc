// The fleet part of CheckConfig: this host's name, [store] and each
// certificate's hosts (lifecycle/config_check.h).
#include <cctype>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "base/text.h"
#include "lifecycle/config_check.h"

namespace certkeeper::lifecycle {

namespace {

constexpr std::string_view kUrlSchemes[] = {"postgresql://", "postgres://"};
constexpr const char* kKeyFileHint =
    "create one: head -c 32 /dev/urandom > /etc/certkeeper/fleet.key && "
    "chmod 600 /etc/certkeeper/fleet.key (the same file on every host), then set "
    "encryption_key_file = \"/etc/certkeeper/fleet.key\"";
constexpr const char* kPasswordHint =
    "put the password alone in a root-only file (chmod 600) and name it with "
    "password_file = \"/etc/certkeeper/store.password\" in [store], or use libpq's ~/.pgpass";

Status Invalid(std::string message, std::string hint) {
  return Status(ErrorCode::kInvalidArgument, std::move(message)).Hint(std::move(hint));
}

// A value shown back in a message: at most 80 bytes, escaped (it may hold
// control characters that a terminal or a log would act on).
std::string Shown(std::string_view value) {
  return "\"" + EscapeForTerminal(Utf8Prefix(value, 80)) + "\"";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// libpq percent-decodes URI parameter names (conninfo_uri_decode), so
// "%70assword=" names the password as much as "password=" does.
std::string PercentDecoded(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool QueryNamesPassword(std::string_view query) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    std::string name = PercentDecoded(param.substr(0, param.find('=')));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "password") return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

// `key` names the setting; `example` is a path to suggest.
Status CheckAbsolutePath(const std::string& path, const std::string& prefix, const std::string& key,
                         const std::string& example) {
  if (path.empty() || path[0] == '/') return Status::Ok();
  return Invalid(
      prefix + key + " must be an absolute path, not " + Shown(path),
      "certkeeper runs from any working directory; write the full path, e.g. \"" + example + "\"");
}

}  // namespace

Status CheckHostName(std::string_view name) {
  const std::string hint =
      "a host name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, "
      "e.g. \"edge-1\"; it appears in metrics labels, tables and file names";
  if (name.empty()) return Invalid("host name is empty", hint);
  if (name.size() > 64)
    return Invalid("host name " + Shown(name) + " is longer than 64 characters", hint);
  if (!std::isalnum(static_cast<unsigned char>(name.front())) ||
      static_cast<unsigned char>(name.front()) >= 0x80) {
    return Invalid("host name " + Shown(name) + " does not start with a letter or digit", hint);
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || !(std::isalnum(u) || c == '.' || c == '_' || c == '-')) {
      return Invalid("host name " + Shown(name) +
                         " contains a character other than letters, digits, '.', '_' and '-'",
                     hint);
    }
  }
  return Status::Ok();
}

// The url is never shown back: it is where a password would be.
Status CheckStoreUrl(std::string_view url) {
  bool scheme = false;
  for (std::string_view s : kUrlSchemes) scheme = scheme || url.substr(0, s.size()) == s;
  if (!scheme) {
    return Invalid("must be a postgresql:// or postgres:// URL",
                   "url = \"postgresql://certkeeper@db.example.com:5432/certkeeper\"; leave "
                   "[store] out for the embedded SQLite inventory");
  }
  for (size_t i = 0; i < url.size(); ++i) {
    const auto u = static_cast<unsigned char>(url[i]);
    if (u <= 0x20 || u >= 0x7f) {
      return Invalid("contains a space, a control character or a non-ASCII byte at offset " +
                         std::to_string(i),
                     "percent-encode such characters (RFC 3986 §2.1), e.g. %20 for a space");
    }
  }
  std::string_view rest = url.substr(url.find("://") + 3);
  const size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  if (size_t at = authority.rfind('@');
      at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos) {
    return Invalid("must not hold a password (user:password@)", kPasswordHint);
  }
  if (size_t q = url.find('?'); q != std::string_view::npos) {
    std::string_view query = url.substr(q + 1);
    query = query.substr(0, query.find('#'));
    if (QueryNamesPassword(query)) {
      return Invalid("must not hold a password (password= in the query)", kPasswordHint);
    }
  }
  return Status::Ok();
}

Status CheckLeaseTtl(Duration ttl) {
  if (ttl >= std::chrono::seconds(10) && ttl <= std::chrono::hours(1)) return Status::Ok();
  return Invalid("must be between 10s and 1h",
                 "lease_ttl = \"60s\": long enough for a renewal step, short enough that the "
                 "work of a host that died is taken over soon");
}

Status CheckFleetConfig(const Config& config, const std::string& prefix) {
  if (!config.host.empty()) {
    Status host = CheckHostName(config.host);
    if (!host.ok()) {
      return Invalid(prefix + "host: " + host.message(),
                     host.hint() +
                         "; unset, host is the machine's hostname: set host = "
                         "\"edge-1\" at the top of the config");
    }
  }
  const StoreSettings& store = config.store;
  if (store.shared()) {
    Status url = CheckStoreUrl(store.url);
    if (!url.ok()) return Invalid(prefix + "store.url: " + url.message(), url.hint());
  }
  CK_RETURN_IF_ERROR(CheckAbsolutePath(store.password_file, prefix, "store.password_file",
                                       "/etc/certkeeper/store.password"));
  CK_RETURN_IF_ERROR(CheckAbsolutePath(store.encryption_key_file, prefix,
                                       "store.encryption_key_file", "/etc/certkeeper/fleet.key"));
  if (store.shared() && store.encryption_key_file.empty()) {
    return Invalid(prefix +
                       "store.encryption_key_file is required with a [store] url: it seals "
                       "the private keys kept in the shared inventory",
                   kKeyFileHint);
  }
  Status ttl = CheckLeaseTtl(store.lease_ttl);
  if (!ttl.ok()) return Invalid(prefix + "store.lease_ttl: " + ttl.message(), ttl.hint());
  return Status::Ok();
}

Status CheckCertificateHosts(const Config& config, const CertificateSpec& spec,
                             const std::string& where) {
  if (spec.hosts.empty()) return Status::Ok();
  if (!config.store.shared()) {
    return Invalid(where + ": hosts = [...] needs a shared inventory ([store] url)",
                   "one host alone is every host: remove hosts, or set [store] url = "
                   "\"postgresql://...\" on every host of the fleet");
  }
  std::set<std::string> seen;
  for (const std::string& h : spec.hosts) {
    Status s = CheckHostName(h);
    if (!s.ok()) return Invalid(where + ": hosts: " + s.message(), s.hint());
    if (!seen.insert(h).second) {
      return Invalid(where + ": hosts lists " + Shown(h) + " twice", "list each host once");
    }
  }
  return Status::Ok();
}

}  // namespace certkeeper::lifecycle
