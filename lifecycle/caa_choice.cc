// CAA-aware choice of a CA (caa_choice.h).
#include "lifecycle/caa_choice.h"

#include <algorithm>

#include "base/names.h"

namespace certkeeper::lifecycle {

CaaFacts LookupCaaFacts(const CaaSettings& settings, const std::vector<std::string>& domains) {
  CaaFacts facts;
  for (const std::string& d : domains) {
    if (IsIpAddress(d)) continue;  // RFC 8659 covers domain names only
    auto set = challenges::LookupCaa(d, settings.resolver, settings.timeout);
    if (!set.ok()) {
      facts.error = set.status().Annotate("look up the CAA records of " + d);
      return facts;
    }
    facts.sets.emplace_back(d, std::move(*set));
  }
  return facts;
}

std::optional<std::string> CaaForbids(const CaaFacts& facts,
                                      const std::vector<std::string>& identities,
                                      const std::string& account_url,
                                      std::vector<std::string>* allowed_types) {
  allowed_types->clear();
  if (!facts.error.ok()) return "CAA unknown: " + facts.error.ToString();
  bool restricted = false;  // some name limits the challenge types
  std::vector<std::string> types;
  for (const auto& [name, set] : facts.sets) {
    if (set.records.empty()) continue;
    if (identities.empty()) {
      return "the CAA records at " + set.owner +
             " name the CAs allowed, and this CA's CAA identities are unknown (set "
             "caa_identities in its [[ca]] block)";
    }
    challenges::CaaVerdict v =
        challenges::EvaluateCaa(set, IsWildcard(name), identities, account_url);
    if (!v.allowed) return v.reason.empty() ? "CAA at " + set.owner + " forbids it" : v.reason;
    if (v.challenge_types.empty()) continue;
    if (!restricted) {
      types = v.challenge_types;
      restricted = true;
    } else {
      std::erase_if(types, [&](const std::string& t) {
        return std::find(v.challenge_types.begin(), v.challenge_types.end(), t) ==
               v.challenge_types.end();
      });
    }
    if (types.empty()) {
      return "the CAA records of the names allow no challenge type in common (RFC 8657 "
             "validationmethods)";
    }
  }
  *allowed_types = std::move(types);
  return std::nullopt;
}

}  // namespace certkeeper::lifecycle
