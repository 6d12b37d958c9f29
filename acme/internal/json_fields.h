// Typed access to members of JSON objects received from the network. Every
// accessor returns kProtocol naming the member (and the object) on a mismatch,
// so a malformed server answer never throws and never passes silently.
#ifndef CERTKEEPER_ACME_INTERNAL_JSON_FIELDS_H_
#define CERTKEEPER_ACME_INTERNAL_JSON_FIELDS_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/http.h"
#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::acme::internal {

// Nesting deeper than this is refused before parsing: ACME documents nest a
// few levels (an order's identifiers, a problem's subproblems), while code that
// walks or copies a parsed value recurses once per level.
inline constexpr int kMaxJsonDepth = 32;

// Parses `text` (a body from the CA) as JSON. kProtocol when it does not parse
// or arrays/objects nest deeper than kMaxJsonDepth (checked by a linear scan
// first, so no input of any depth reaches a recursive walk). Every JSON body
// acme/ receives goes through here.
Result<nlohmann::json> ParseJsonText(std::string_view text);

// The response body as a JSON object. kProtocol naming the URL and the
// Content-Type when the type is not JSON, the body does not parse (truncated)
// or is not an object.
Result<nlohmann::json> ParseJsonBody(const HttpResponse& response, const std::string& url);

// `what` names the object in errors, e.g. "order".
Result<std::string> RequiredString(const nlohmann::json& doc, const char* name,
                                   std::string_view what);
// Absent or null gives "".
Result<std::string> OptionalString(const nlohmann::json& doc, const char* name,
                                   std::string_view what);
Result<std::vector<std::string>> OptionalStringArray(const nlohmann::json& doc,
                                                     const char* name,
                                                     std::string_view what);
Result<std::optional<TimePoint>> OptionalTime(const nlohmann::json& doc,
                                              const char* name, std::string_view what);

// The value must be one of `allowed`.
Status CheckStatusValue(std::string_view value,
                        std::initializer_list<std::string_view> allowed,
                        std::string_view what);
// The URL must be absolute and use `scheme` (the directory's).
Status CheckUrl(std::string_view url, std::string_view scheme, std::string_view what);
// The value of an identifier object the CA sent (§7.1.3, §7.1.4): type "dns"
// gives CanonicalDnsName(value) ("*." only with allow_wildcard); type "ip" an
// address that MUST already be in canonical form (RFC 8738 §3: dotted quad,
// RFC 5952), returned as is. kProtocol naming `what` for any other type or value.
Result<std::string> IdentifierValue(std::string_view type, std::string_view value,
                                    std::string_view what, bool allow_wildcard = true);
// RFC 8555 §8.1: base64url, at least 128 bits of entropy (22 characters).
Status CheckToken(std::string_view token);

}  // namespace certkeeper::acme::internal

#endif  // CERTKEEPER_ACME_INTERNAL_JSON_FIELDS_H_
