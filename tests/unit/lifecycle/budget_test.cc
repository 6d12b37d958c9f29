#include "lifecycle/budget.h"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const TimePoint kBudgetNow = FromUnixSeconds(1795000000);
constexpr Duration kWeek = hours(24 * 7);

WindowCount Events(int count, std::optional<Duration> oldest_ago = std::nullopt) {
  WindowCount w;
  w.count = count;
  if (oldest_ago) w.oldest = kBudgetNow - *oldest_ago;
  return w;
}

struct BudgetCase {
  const char* name;
  BudgetCounts counts;
  bool allowed;
  const char* limit;  // the single expected hit, when not allowed
  std::string key;
  Duration frees_in;  // frees_at - now
};

void PrintTo(const BudgetCase& c, std::ostream* os) { *os << c.name; }

class BudgetTableTest : public testing::TestWithParam<BudgetCase> {};

TEST_P(BudgetTableTest, Decides) {
  const BudgetCase& c = GetParam();
  BudgetDecision d = CheckBudgets(BudgetPolicy::LetsEncrypt(), c.counts, kBudgetNow);
  EXPECT_EQ(d.allowed, c.allowed) << d.reason;
  if (c.allowed) {
    EXPECT_TRUE(d.hits.empty());
    EXPECT_FALSE(d.retry_at.has_value());
    EXPECT_TRUE(d.reason.empty());
    return;
  }
  ASSERT_EQ(d.hits.size(), 1u) << d.reason;
  EXPECT_EQ(d.hits[0].limit, c.limit);
  EXPECT_EQ(d.hits[0].key, c.key);
  EXPECT_EQ(d.hits[0].frees_at, kBudgetNow + c.frees_in);
  ASSERT_TRUE(d.retry_at.has_value());
  EXPECT_EQ(*d.retry_at, kBudgetNow + c.frees_in);
  EXPECT_EQ(d.reason.rfind("deferred: ", 0), 0u) << d.reason;
  EXPECT_NE(d.reason.find(FormatRfc3339(kBudgetNow + c.frees_in)), std::string::npos) << d.reason;
}

BudgetCounts Orders(WindowCount w) {
  BudgetCounts c;
  c.orders = w;
  return c;
}
BudgetCounts Failures(std::string id, WindowCount w) {
  BudgetCounts c;
  c.failed_validations = {{"example.com", Events(0)}, {std::move(id), w}};
  return c;
}
BudgetCounts Certificates(std::string domain, WindowCount w, bool renewal = false) {
  BudgetCounts c;
  c.certificates = {{std::move(domain), w}};
  c.renewal = renewal;
  return c;
}
BudgetCounts Duplicates(WindowCount w) {
  BudgetCounts c;
  c.duplicates = w;
  c.renewal = true;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    LetsEncrypt, BudgetTableTest,
    testing::Values(
        BudgetCase{"NothingRecordedAllowed", BudgetCounts{}, true, "", "", {}},
        BudgetCase{"OrdersBelowLimitAllowed", Orders(Events(299, hours(2))), true, "", "", {}},
        BudgetCase{"OrdersAtLimitDeferredUntilOldestLeaves", Orders(Events(300, hours(2))), false,
                   "new orders per account", "", hours(1)},
        BudgetCase{"OrdersOverLimitDeferred", Orders(Events(350, minutes(170))), false,
                   "new orders per account", "", minutes(10)},
        BudgetCase{"FailedValidationsBelowLimitAllowed",
                   Failures("www.example.com", Events(4, minutes(50))),
                   true,
                   "",
                   "",
                   {}},
        BudgetCase{"FailedValidationsAtLimitDeferred",
                   Failures("www.example.com", Events(5, minutes(45))), false,
                   "failed validations per identifier", "www.example.com", minutes(15)},
        BudgetCase{"CertificatesBelowLimitAllowed",
                   Certificates("example.com", Events(49, hours(24))),
                   true,
                   "",
                   "",
                   {}},
        BudgetCase{"CertificatesAtLimitDeferred",
                   Certificates("example.co.uk", Events(50, hours(24 * 6))), false,
                   "certificates per registered domain", "example.co.uk", hours(24)},
        BudgetCase{"RenewalExemptFromRegisteredDomainLimit",
                   Certificates("example.com", Events(50, hours(24)), /*renewal=*/true),
                   true,
                   "",
                   "",
                   {}},
        BudgetCase{
            "DuplicatesBelowLimitAllowed", Duplicates(Events(4, hours(24))), true, "", "", {}},
        BudgetCase{"DuplicatesAtLimitDeferred", Duplicates(Events(5, hours(24 * 5))), false,
                   "duplicate certificates", "", hours(48)},
        BudgetCase{"UnknownOldestDefersAFullWindow", Duplicates(Events(5)), false,
                   "duplicate certificates", "", kWeek},
        BudgetCase{"OldestOutsideWindowDefersAFullWindow",
                   Failures("a.example.com", Events(5, hours(2))), false,
                   "failed validations per identifier", "a.example.com", hours(1)}),
    [](const testing::TestParamInfo<BudgetCase>& info) { return info.param.name; });

TEST(BudgetTest, SeveralHitsRetryWhenAllFree) {
  BudgetCounts counts;
  counts.orders = Events(300, hours(1));                                      // frees in 2h
  counts.failed_validations = {{"www.example.com", Events(5, minutes(30))}};  // 30m
  counts.duplicates = Events(5, hours(24));                                   // 6d
  BudgetDecision d = CheckBudgets(BudgetPolicy::LetsEncrypt(), counts, kBudgetNow);
  EXPECT_FALSE(d.allowed);
  ASSERT_EQ(d.hits.size(), 3u);
  ASSERT_TRUE(d.retry_at.has_value());
  EXPECT_EQ(*d.retry_at, kBudgetNow + hours(24 * 6));
  EXPECT_EQ(d.hits[1].count, 5);
  EXPECT_EQ(d.hits[1].max, 5);
  EXPECT_EQ(d.reason,
            "deferred: 300 new orders per account in the last 3h 0m (limit 300); frees at " +
                FormatRfc3339(kBudgetNow + hours(2)) +
                "; 5 failed validations per identifier (www.example.com) in the last 1h 0m "
                "(limit 5); frees at " +
                FormatRfc3339(kBudgetNow + minutes(30)) +
                "; 5 duplicate certificates in the last 7d (limit 5); frees at " +
                FormatRfc3339(kBudgetNow + hours(24 * 6)));
}

TEST(BudgetTest, EveryIdentifierIsChecked) {
  BudgetCounts counts;
  counts.certificates = {{"example.com", Events(3, hours(1))},
                         {"example.org", Events(50, hours(24))},
                         {"example.net", Events(51, hours(48))}};
  BudgetDecision d = CheckBudgets(BudgetPolicy::LetsEncrypt(), counts, kBudgetNow);
  ASSERT_EQ(d.hits.size(), 2u);
  EXPECT_EQ(d.hits[0].key, "example.org");
  EXPECT_EQ(d.hits[1].key, "example.net");
  EXPECT_EQ(*d.retry_at, kBudgetNow + hours(24 * 6));
}

TEST(BudgetTest, UnlimitedPolicyAllowsEverything) {
  BudgetCounts counts;
  counts.orders = Events(100000, hours(1));
  counts.failed_validations = {{"www.example.com", Events(1000, minutes(1))}};
  counts.certificates = {{"example.com", Events(1000, hours(1))}};
  counts.duplicates = Events(1000, hours(1));
  EXPECT_TRUE(CheckBudgets(BudgetPolicy::Unlimited(), counts, kBudgetNow).allowed);
  EXPECT_FALSE(CheckBudgets(BudgetPolicy::LetsEncrypt(), counts, kBudgetNow).allowed);
}

TEST(BudgetTest, PerCaPolicyOverrides) {
  BudgetPolicy policy;
  policy.new_orders_per_account = {10, hours(1)};
  policy.renewals_exempt_from_registered_domain_limit = false;
  BudgetCounts counts;
  counts.orders = Events(10, minutes(20));
  counts.certificates = {{"example.com", Events(50, hours(1))}};
  counts.renewal = true;
  BudgetDecision d = CheckBudgets(policy, counts, kBudgetNow);
  ASSERT_EQ(d.hits.size(), 2u);
  EXPECT_EQ(d.hits[0].frees_at, kBudgetNow + minutes(40));
  EXPECT_EQ(d.hits[1].limit, "certificates per registered domain");
}

TEST(BudgetPolicyTest, Validates) {
  EXPECT_TRUE(ValidateBudgetPolicy(BudgetPolicy::LetsEncrypt()).ok());
  EXPECT_TRUE(ValidateBudgetPolicy(BudgetPolicy::Unlimited()).ok());

  BudgetPolicy negative;
  negative.duplicate_certificates.limit = -1;
  Status s = ValidateBudgetPolicy(negative);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("duplicate certificates"), std::string::npos) << s.message();

  BudgetPolicy no_window;
  no_window.failed_validations_per_identifier.window = Duration::zero();
  s = ValidateBudgetPolicy(no_window);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("failed validations"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace certkeeper::lifecycle
