// The keys under which requests that count against a CA's rate limits are
// recorded (store::RequestRecord::key) and later counted for local budgets
// (lifecycle/budget.h). Issuance records with them and the renewal planner
// counts with them: both MUST use these functions, or a budget counts nothing.
#ifndef CERTKEEPER_LIFECYCLE_REQUEST_KEYS_H_
#define CERTKEEPER_LIFECYCLE_REQUEST_KEYS_H_

#include <set>
#include <string>
#include <vector>

namespace certkeeper::lifecycle {

// "names:a.example,b.example": the set of names of one certificate, sorted, the
// key of a kCertificate record counted by the duplicate-certificates limit.
std::string NamesKey(std::vector<std::string> domains);

// The registered domains (eTLD+1, lifecycle/registered_domain.h) the names fall
// in, each once, the keys of the kCertificate records counted by the
// certificates-per-registered-domain limit. A name without a registered domain
// (not a DNS name) contributes none.
std::set<std::string> RegisteredDomains(const std::vector<std::string>& domains);

// The two lists name the same set of names, compared case-insensitively
// (RFC 8555 §7.1.4 identifiers are lower-cased by the config loader; this is a
// safety net). An order for the names of a certificate issued before is a
// renewal (Let's Encrypt exempts it from the per-domain limit).
bool SameNameSet(const std::vector<std::string>& a, const std::vector<std::string>& b);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_REQUEST_KEYS_H_
