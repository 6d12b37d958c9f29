#include "lifecycle/request_keys.h"

#include <algorithm>

#include "lifecycle/registered_domain.h"

namespace certkeeper::lifecycle {

std::string NamesKey(std::vector<std::string> domains) {
  std::sort(domains.begin(), domains.end());
  std::string key = "names:";
  for (size_t i = 0; i < domains.size(); ++i) key += (i ? "," : "") + domains[i];
  return key;
}

std::set<std::string> RegisteredDomains(const std::vector<std::string>& domains) {
  std::set<std::string> registered;
  for (const std::string& d : domains) {
    auto rd = PublicSuffixList::Default().RegisteredDomain(d);
    if (rd.ok()) registered.insert(*rd);
  }
  return registered;
}

}  // namespace certkeeper::lifecycle
