#include "lifecycle/request_keys.h"

#include <algorithm>
#include <cctype>

#include "base/names.h"
#include "lifecycle/registered_domain.h"

namespace certkeeper::lifecycle {

namespace {

std::set<std::string> LowerCaseSet(const std::vector<std::string>& domains) {
  std::set<std::string> names;
  for (std::string d : domains) {
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    names.insert(std::move(d));
  }
  return names;
}

}  // namespace

std::string NamesKey(std::vector<std::string> domains) {
  std::sort(domains.begin(), domains.end());
  std::string key = "names:";
  for (size_t i = 0; i < domains.size(); ++i) key += (i ? "," : "") + domains[i];
  return key;
}

std::set<std::string> RegisteredDomains(const std::vector<std::string>& domains) {
  std::set<std::string> registered;
  for (const std::string& d : domains) {
    // An IP address (RFC 8738) is counted as itself.
    if (IsIpAddress(d)) {
      registered.insert(d);
      continue;
    }
    auto rd = PublicSuffixList::Default().RegisteredDomain(d);
    if (rd.ok()) registered.insert(*rd);
  }
  return registered;
}

bool SameNameSet(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return LowerCaseSet(a) == LowerCaseSet(b);
}

}  // namespace certkeeper::lifecycle
