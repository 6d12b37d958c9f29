// Whom a CA's rate limit holds back: one certificate, or every certificate of
// the account. Decided from the problem document's structure and the URL it
// was returned for, never from its human-readable `detail` (RFC 7807 §3.2:
// detail is for people and changes between CA versions and languages).
//
// The rule (docs/ca-waits.md, "Scope"):
//  1. A problem that names identifiers (its own `identifier`, or subproblems
//     naming identifiers, RFC 8555 §6.7.1) concerns those names: certificate.
//  2. A problem returned for the CA's newAccount URL (RFC 8555 §7.3: account
//     creation and lookup) stops everything that needs the account: account.
//  3. Anything else (newOrder, an order, finalize, a challenge, the
//     certificate download, an unknown URL): certificate. The narrower scope
//     costs at most one refused request per other certificate; the wider one
//     would stop certificates the limit does not concern.
#ifndef CERTKEEPER_LIFECYCLE_RATE_LIMIT_SCOPE_H_
#define CERTKEEPER_LIFECYCLE_RATE_LIMIT_SCOPE_H_

#include <string_view>

#include "base/status.h"

namespace certkeeper::lifecycle {

enum class RateLimitScope { kCertificate, kAccount };

// `problem`: the CA's problem document (null when there was none);
// `url`: where it was returned (Status::where()); `new_account_url`: the CA
// directory's newAccount URL, empty when unknown. Pure.
RateLimitScope ScopeOfRateLimit(const Problem* problem, std::string_view url,
                                std::string_view new_account_url);

std::string_view RateLimitScopeName(RateLimitScope scope);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_RATE_LIMIT_SCOPE_H_
