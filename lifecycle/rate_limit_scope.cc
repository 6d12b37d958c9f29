#include "lifecycle/rate_limit_scope.h"

#include <algorithm>

namespace certkeeper::lifecycle {

namespace {

bool NamesIdentifiers(const Problem& p) {
  if (!p.identifier.empty()) return true;
  return std::any_of(p.subproblems.begin(), p.subproblems.end(), NamesIdentifiers);
}

}  // namespace

RateLimitScope ScopeOfRateLimit(const Problem* problem, std::string_view url,
                                std::string_view new_account_url) {
  if (problem && NamesIdentifiers(*problem)) return RateLimitScope::kCertificate;
  if (!new_account_url.empty() && url == new_account_url) return RateLimitScope::kAccount;
  return RateLimitScope::kCertificate;
}

std::string_view RateLimitScopeName(RateLimitScope scope) {
  return scope == RateLimitScope::kAccount ? "account" : "certificate";
}

}  // namespace certkeeper::lifecycle
