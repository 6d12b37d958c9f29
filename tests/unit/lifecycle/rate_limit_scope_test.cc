// Whom a CA's rate limit holds back, from the problem's structure and URL.
#include "lifecycle/rate_limit_scope.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace certkeeper::lifecycle {
namespace {

constexpr const char* kNewAccount = "https://ca.test/acme/new-acct";
constexpr const char* kNewOrder = "https://ca.test/acme/new-order";

Problem RateLimited(std::string detail) {
  Problem p;
  p.type = "urn:ietf:params:acme:error:rateLimited";
  p.detail = std::move(detail);
  p.status = 429;
  return p;
}

Problem WithSubproblem(Problem p, std::string identifier) {
  Problem sub = RateLimited("too many certificates for " + identifier);
  sub.identifier = std::move(identifier);
  p.subproblems.push_back(sub);
  return p;
}

struct ScopeCase {
  const char* meaning;
  std::optional<Problem> problem;
  std::string url;
  std::string new_account_url;
  RateLimitScope scope;
};

TEST(RateLimitScopeTest, FollowsTheUrlAndTheIdentifiersNotTheDetail) {
  const ScopeCase cases[] = {
      {"at newAccount", RateLimited("too many registrations"), kNewAccount, kNewAccount,
       RateLimitScope::kAccount},
      {"at newAccount, detail silent about accounts", RateLimited("slow down"), kNewAccount,
       kNewAccount, RateLimitScope::kAccount},
      {"at newAccount without a problem document", std::nullopt, kNewAccount, kNewAccount,
       RateLimitScope::kAccount},
      {"at newOrder, detail mentions the account",
       RateLimited("too many new orders recently for this account"), kNewOrder, kNewAccount,
       RateLimitScope::kCertificate},
      {"at finalize", RateLimited("too many certificates"), "https://ca.test/acme/finalize/1",
       kNewAccount, RateLimitScope::kCertificate},
      {"at an order", RateLimited("account is limited"), "https://ca.test/acme/order/7",
       kNewAccount, RateLimitScope::kCertificate},
      {"at an unknown URL", RateLimited("account"), "https://ca.test/other", kNewAccount,
       RateLimitScope::kCertificate},
      {"at newAccount but the subproblems name identifiers",
       WithSubproblem(RateLimited("see subproblems"), "web.example.com"), kNewAccount,
       kNewAccount, RateLimitScope::kCertificate},
      {"subproblems naming identifiers at newOrder",
       WithSubproblem(RateLimited("account"), "web.example.com"), kNewOrder, kNewAccount,
       RateLimitScope::kCertificate},
      {"the problem itself names an identifier",
       [] {
         Problem p = RateLimited("account");
         p.identifier = "web.example.com";
         return p;
       }(),
       kNewAccount, kNewAccount, RateLimitScope::kCertificate},
      {"newAccount URL unknown (directory not fetched)", RateLimited("too many registrations"),
       kNewAccount, "", RateLimitScope::kCertificate},
      {"no URL", RateLimited("account"), "", kNewAccount, RateLimitScope::kCertificate},
  };
  for (const ScopeCase& c : cases) {
    const Problem* problem = c.problem ? &*c.problem : nullptr;
    EXPECT_EQ(ScopeOfRateLimit(problem, c.url, c.new_account_url), c.scope)
        << c.meaning << ": got "
        << RateLimitScopeName(ScopeOfRateLimit(problem, c.url, c.new_account_url));
  }
}

}  // namespace
}  // namespace certkeeper::lifecycle
