// CAA-aware choice of a CA (RFC 8659, RFC 8657): before any order, the names'
// CAA records are looked up once per attempt, and each CA is checked against
// them, so that a CA the records forbid is skipped without a request to it.
#ifndef CERTKEEPER_LIFECYCLE_CAA_CHOICE_H_
#define CERTKEEPER_LIFECYCLE_CAA_CHOICE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "challenges/caa.h"
#include "lifecycle/config.h"

namespace certkeeper::lifecycle {

// The relevant CAA record set of each name of one certificate.
struct CaaFacts {
  // (name as ordered, "*." kept; its set), in the certificate's order.
  std::vector<std::pair<std::string, challenges::CaaSet>> sets;
  // A lookup failed: no CA is known to be allowed (RFC 8659 §3).
  Status error;
};

// Looks up every name of `domains` (IP addresses have no CAA and are skipped)
// through settings.resolver within settings.timeout each.
CaaFacts LookupCaaFacts(const CaaSettings& settings, const std::vector<std::string>& domains);

// Why the CA with `identities` (its CAA issuer domains) and account
// `account_url` (empty: none yet) may not issue for the names, or nullopt when
// it may. *allowed_types: the challenge types the records let it use (RFC 8657
// §4), empty for any. Fail closed: a failed lookup, or records that exist for
// a CA whose identities are unknown, forbid it.
std::optional<std::string> CaaForbids(const CaaFacts& facts,
                                      const std::vector<std::string>& identities,
                                      const std::string& account_url,
                                      std::vector<std::string>* allowed_types);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_CAA_CHOICE_H_
