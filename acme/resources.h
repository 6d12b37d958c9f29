// The ACME resources (RFC 8555 §7.1) as plain values, and their parsers. The
// parsers validate what the server sent: statuses from the allowed set, URLs on
// the directory's scheme, tokens with enough entropy, identifiers of type dns
// or ip (RFC 8738).
#ifndef CERTKEEPER_ACME_RESOURCES_H_
#define CERTKEEPER_ACME_RESOURCES_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/status.h"

namespace certkeeper::acme {

// RFC 8555 §7.1.1, with renewalInfo from RFC 9773 §3 and profiles from the
// ACME profiles extension (draft-aaron-acme-profiles).
struct Directory {
  std::string url;
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string new_authz;     // optional, often absent
  std::string revoke_cert;
  std::string key_change;    // empty: the CA offers no key rollover
  std::string renewal_info;  // optional
  struct Meta {
    std::string terms_of_service;
    std::string website;
    std::vector<std::string> caa_identities;
    bool external_account_required = false;
    std::map<std::string, std::string> profiles;  // name -> description
  } meta;
};

// RFC 8555 §7.1.2. status: valid, deactivated or revoked.
struct Account {
  std::string url;
  std::string status;
  std::vector<std::string> contact;
  std::string orders;
};

// RFC 8555 §7.1.5 / §8. status: pending, processing, valid or invalid.
struct Challenge {
  std::string type;   // "http-01", "dns-01", "tls-alpn-01", or unknown types
  std::string url;
  std::string token;  // checked: base64url, >= 128 bits (§8.1); empty for
                      // challenge types that carry no token
  std::string status;
  std::optional<Problem> error;
};

// RFC 8555 §7.1.4. status: pending, valid, invalid, deactivated, expired or
// revoked.
struct Authorization {
  std::string url;
  std::string status;
  std::string identifier_type;  // "dns" or "ip" (RFC 8738 §3)
  std::string identifier;  // DNS name without "*." (§7.1.4), or canonical IP
                           // address (never a wildcard)
  bool wildcard = false;
  std::optional<TimePoint> expires;
  std::vector<Challenge> challenges;

  // The challenge of that type, or nullptr.
  const Challenge* Find(std::string_view type) const;
};

// RFC 8555 §7.1.3. status: pending, ready, processing, valid or invalid.
struct Order {
  std::string url;
  std::string status;
  std::optional<TimePoint> expires;
  std::vector<std::string> identifiers;  // DNS names ("*." kept for wildcards)
                                         // and IP addresses (canonical)
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;  // set once status is valid
  std::optional<Problem> error;
  // The Retry-After of the response this came from (RFC 8555 §7.4: a server
  // may say when a "processing" order is worth asking about again).
  std::optional<TimePoint> retry_after;
};

// RFC 8555 §7.4.2: the default chain and, when asked, the alternates the server
// offered with Link rel="alternate".
struct CertificateChains {
  std::string pem;
  std::vector<std::string> alternates;      // PEM, same order as alternate_urls
  std::vector<std::string> alternate_urls;
  // The same chains as parsed when they were downloaded (certs: pem's;
  // alternate_certs[i]: alternates[i]'s), so that nothing parses them again.
  // Empty when the chains were put together from text.
  std::vector<ParsedCertificate> certs;
  std::vector<std::vector<ParsedCertificate>> alternate_certs;
};

// RFC 9773 §4.2.
struct RenewalInfo {
  TimePoint window_start;
  TimePoint window_end;
  std::string explanation_url;
  std::optional<TimePoint> retry_after;  // when to ask again (§4.3)
};

// "https" for "https://ca.example/dir" (lower case); empty when there is none.
std::string UrlScheme(std::string_view url);

// Parsers. `scheme` is the directory's scheme; every URL inside must use it.
// Errors are kProtocol and name the member that was wrong.
Result<Directory> ParseDirectory(const nlohmann::json& doc, const std::string& url);
Result<Account> ParseAccount(const nlohmann::json& doc, const std::string& url,
                             std::string_view scheme);
Result<Order> ParseOrder(const nlohmann::json& doc, const std::string& url,
                         std::string_view scheme);
Result<Authorization> ParseAuthorization(const nlohmann::json& doc,
                                         const std::string& url,
                                         std::string_view scheme);
Result<Challenge> ParseChallenge(const nlohmann::json& doc, std::string_view scheme);
Result<RenewalInfo> ParseRenewalInfo(const nlohmann::json& doc);

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_RESOURCES_H_
