// The keys under which issued certificates are counted for the local budgets
// (lifecycle/budget.h), shared by the issuance that records them and the
// renewal that checks them, so that both always agree on the key.
#ifndef CERTKEEPER_LIFECYCLE_REQUEST_KEYS_H_
#define CERTKEEPER_LIFECYCLE_REQUEST_KEYS_H_

#include <set>
#include <string>
#include <vector>

namespace certkeeper::lifecycle {

// "names:" followed by the sorted names, comma-separated: the key of a
// certificate for exactly this set of names (Let's Encrypt's "duplicate
// certificate" limit counts per exact set).
std::string NamesKey(std::vector<std::string> domains);

// The registered domains (public suffix + one label) of `domains`, each once.
// A name whose registered domain cannot be determined (a bare public suffix)
// is left out: it is counted under its exact set of names only.
std::set<std::string> RegisteredDomains(const std::vector<std::string>& domains);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_REQUEST_KEYS_H_
