// The renewal planner as a table: one named row per branch of the decision,
// each an input (a change to one base certificate and its CA) and the
// decision expected. Then BeforeOrder (what the same run changes before an
// order) and the outcome a dry run reports for each decision.
#include "lifecycle/planner.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lifecycle/request_keys.h"

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr Duration kDay = hours(24);
const TimePoint kNow = std::chrono::time_point_cast<std::chrono::seconds>(
    std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)));
constexpr char kServer[] = "https://ca.test/dir";
constexpr char kAccount[] = "https://ca.test/acct/1";

store::Version MakeVersion(int n, store::VersionState state, Duration left, Duration lifetime) {
  store::Version v;
  v.certificate = "web";
  v.n = n;
  v.not_after = kNow + left;
  v.not_before = v.not_after - lifetime;
  v.domains = {"web.example.com"};
  v.key_type = "ec256";
  v.state = state;
  return v;
}

// A 90-day certificate deployed 30 days ago: not due for another month.
PlanInput BaseInput() {
  PlanInput in;
  in.now = kNow;
  CertificateFacts f;
  f.spec.name = "web";
  f.spec.domains = {"web.example.com"};
  f.live = MakeVersion(1, store::VersionState::kDeployed, 60 * kDay, 90 * kDay);
  f.latest = f.live;
  in.certificates.push_back(f);
  in.cas[0].server = kServer;
  in.cas[0].account_url = kAccount;
  // Small budgets, so that a row needs few requests to exhaust one.
  in.cas[0].budgets = {2, 1, 1, 1};
  return in;
}

CertificateFacts& Cert(PlanInput& in) { return in.certificates.front(); }

// Live with 20 of 90 days left: inside the renewal window.
void Due(PlanInput& in) {
  Cert(in).live = MakeVersion(1, store::VersionState::kDeployed, 20 * kDay, 90 * kDay);
  Cert(in).latest = Cert(in).live;
}

// Live with 5 of 90 days left: past the latest renewal start (9-day margin).
void NearExpiry(PlanInput& in) {
  Cert(in).live = MakeVersion(1, store::VersionState::kDeployed, 5 * kDay, 90 * kDay);
  Cert(in).latest = Cert(in).live;
}

void Undeployed(PlanInput& in) {
  Cert(in).latest = MakeVersion(2, store::VersionState::kIssued, 90 * kDay, 90 * kDay);
}

void Request(PlanInput& in, store::RequestKind kind, std::string account, std::string key,
             Duration ago) {
  in.cas[0].requests.push_back({kServer, std::move(account), kind, std::move(key), kNow - ago});
}

void Limit(PlanInput& in, std::string scope, Duration until) {
  in.cas[0].limits.push_back({kServer, std::move(scope), kNow + until, "too many orders"});
}

Status ReadError() { return Status(ErrorCode::kIo, "database is locked"); }

enum class UntilIs { kUnset, kSet, kAt };

struct Expected {
  DecisionKind kind;
  Hold hold = Hold::kNone;
  std::string reason_has;  // a substring of the reason ("" checks nothing)
  UntilIs until_is = UntilIs::kUnset;
  Duration until = Duration::zero();  // from kNow, with kAt
  bool persist = false;
  std::string dry_outcome;  // PlannedOutcome(decision, dry_run = true).outcome
};

struct PlanRow {
  const char* name;
  std::function<void(PlanInput&)> setup;
  Expected want;
  // Extra checks of the decision (writes, budget query, error).
  std::function<void(const Decision&)> check = nullptr;
};

void PrintTo(const PlanRow& row, std::ostream* os) { *os << row.name; }

const Expected kDueNow{DecisionKind::kDue, Hold::kNone, "", UntilIs::kUnset, {}, false,
                       "would-renew"};

// PlanRow builders for the common expectations; reason_has as in Expected.
constexpr bool kPersist = true;  // Decision::persist: the schedule records the deferral
Expected Deferred(Hold hold, std::string reason_has, Duration until, bool persist = false) {
  return {DecisionKind::kDeferred, hold, std::move(reason_has), UntilIs::kAt, until, persist,
          "deferred"};
}
Expected WouldRenew(std::string reason_has) {
  return {DecisionKind::kDue, Hold::kNone, std::move(reason_has), UntilIs::kUnset, {}, false,
          "would-renew"};
}
Expected WouldDeploy(std::string reason_has) {
  return {DecisionKind::kDeployPending, Hold::kNone, std::move(reason_has), UntilIs::kUnset, {},
          false, "would-deploy"};
}
// A fact that cannot be read blocks the order: the run fails.
Expected Unreadable(std::string reason_has) {
  return {DecisionKind::kBlocked, Hold::kUnreadable, std::move(reason_has), UntilIs::kUnset, {},
          false, "failed"};
}

std::vector<PlanRow> DeployRows() {
  return {
      // ---- deploy pending ----
      {"UndeployedVersionIsDeployedFirst", Undeployed,
       WouldDeploy("version 2 is issued but not deployed"),
       [](const Decision& d) { EXPECT_EQ(d.version, 2); }},
      {"DeployFailedVersionIsDeployedAgain",
       [](PlanInput& in) {
         Cert(in).latest = MakeVersion(2, store::VersionState::kDeployFailed, 80 * kDay, 90 * kDay);
       },
       WouldDeploy("version 2")},
      {"UndeployedInDeployBackoffIsDeferredNotPersisted",
       [](PlanInput& in) {
         Undeployed(in);
         Cert(in).schedule.next_attempt_at = kNow + hours(2);
       },
       Deferred(Hold::kDeployBackoff, "deploy backoff (next attempt", hours(2))},
      {"UndeployedForcedIgnoresDeployBackoff",
       [](PlanInput& in) {
         Undeployed(in);
         Cert(in).schedule.next_attempt_at = kNow + hours(2);
         in.force = true;
       },
       WouldDeploy("version 2")},
      {"UndeployedIgnoresTheCaWait",
       [](PlanInput& in) {
         Undeployed(in);
         Cert(in).schedule.ca_retry_after = kNow + hours(2);
       },
       WouldDeploy("")},
      {"ExpiredUndeployedVersionIsRenewedInstead",
       [](PlanInput& in) {
         Due(in);
         Cert(in).latest = MakeVersion(2, store::VersionState::kIssued, -kDay, 90 * kDay);
       },
       kDueNow},
      {"DeployPendingUnaffectedByUnreadableCaFacts",
       [](PlanInput& in) {
         Undeployed(in);
         in.cas[0].limits_error = in.cas[0].account_error = in.cas[0].requests_error = ReadError();
       },
       WouldDeploy("")},
  };
}

std::vector<PlanRow> DueRows() {
  using K = DecisionKind;
  return {
      // ---- due or not ----
      {"NotDueSaysWhenItBecomesDue", [](PlanInput&) {},
       {K::kNotDue, Hold::kNone, "renews from", UntilIs::kSet, {}, false, "not-due"},
       [](const Decision& d) {
         ASSERT_TRUE(d.until.has_value());
         EXPECT_GT(*d.until, kNow + 25 * kDay);
         EXPECT_LE(*d.until, kNow + 30 * kDay);
       }},
      {"DueByRenewalWindow", Due,
       WouldRenew("renew window opened"),
       [](const Decision& d) {
         ASSERT_TRUE(d.budget.has_value());
         EXPECT_EQ(d.budget->account_url, kAccount);
         EXPECT_EQ(d.budget->names_key, NamesKey({"web.example.com"}));
         EXPECT_EQ(d.budget->registered_domains, std::set<std::string>{"example.com"});
         EXPECT_TRUE(d.budget->renews_names);
         EXPECT_FALSE(d.writes.schedule || d.writes.ca_limit);
       }},
      {"DueByAriWindow",
       [](PlanInput& in) {
         Cert(in).ari = AriSchedule{{kNow - hours(1), kNow + kDay}, kNow - minutes(5)};
       },
       WouldRenew("renewal information window")},
      {"NotDueByAriWindowInTheFuture",
       [](PlanInput& in) {
         Due(in);
         Cert(in).ari = AriSchedule{{kNow + kDay, kNow + 2 * kDay}, kNow + 30 * hours(1)};
       },
       {K::kNotDue, Hold::kNone, "renewal information window", UntilIs::kAt, hours(30), false,
        "not-due"}},
      {"NeverIssuedIsDue",
       [](PlanInput& in) {
         Cert(in).live.reset();
         Cert(in).latest.reset();
       },
       WouldRenew("not yet issued"),
       [](const Decision& d) { EXPECT_FALSE(d.budget->renews_names); }},
      {"RevokedLatestIsDue",
       [](PlanInput& in) {
         Cert(in).live.reset();
         Cert(in).latest = MakeVersion(1, store::VersionState::kRevoked, 60 * kDay, 90 * kDay);
       },
       WouldRenew("revoked")},
      {"DomainsChangedIsDue",
       [](PlanInput& in) { Cert(in).spec.domains.push_back("www.example.com"); },
       WouldRenew("domains changed"),
       [](const Decision& d) { EXPECT_FALSE(d.budget->renews_names); }},
      {"ForcedWhenNotDue", [](PlanInput& in) { in.force = true; },
       WouldRenew("forced: valid for"),
       [](const Decision& d) { EXPECT_FALSE(d.budget.has_value()); }},
      {"ForcedWhenDueKeepsItsReason",
       [](PlanInput& in) {
         Due(in);
         in.force = true;
       },
       WouldRenew("expires in"),
       [](const Decision& d) { EXPECT_EQ(d.reason.rfind("forced", 0), std::string::npos); }},
      {"NotDueUnaffectedByUnreadableCaFacts",
       [](PlanInput& in) {
         in.cas[0].limits_error = in.cas[0].account_error = in.cas[0].requests_error = ReadError();
       },
       {K::kNotDue, Hold::kNone, "", UntilIs::kSet, {}, false, "not-due"}},
  };
}

std::vector<PlanRow> CaRetryAfterRows() {
  using K = DecisionKind;
  return {
      // ---- the CA's waits ----
      {"CaRetryAfterInScheduleDefers",
       [](PlanInput& in) {
         Due(in);
         Cert(in).schedule.ca_retry_after = kNow + hours(2);
       },
       Deferred(Hold::kCaRetryAfter, "CA asked to retry after", hours(2)),
       [](const Decision& d) { EXPECT_FALSE(d.writes.schedule.has_value()); }},
      {"CaRetryAfterBindsForce",
       [](PlanInput& in) {
         Cert(in).schedule.ca_retry_after = kNow + hours(2);
         in.force = true;
       },
       Deferred(Hold::kCaRetryAfter, "CA asked to retry after", hours(2))},
      {"CaRetryAfterThatEndedIsIgnored",
       [](PlanInput& in) {
         Due(in);
         Cert(in).schedule.ca_retry_after = kNow - minutes(1);
       },
       kDueNow},
      {"CaRetryAfterBeyondTheBoundIsCutAndStored",
       [](PlanInput& in) {
         Due(in);
         Cert(in).schedule.ca_retry_after = kNow + 365 * kDay;
         Cert(in).schedule.consecutive_failures = 2;
       },
       Deferred(Hold::kCaRetryAfter, "CA asked to retry after", 7 * kDay),
       [](const Decision& d) {
         ASSERT_TRUE(d.writes.schedule.has_value());
         EXPECT_EQ(d.writes.schedule->ca_retry_after, kNow + 7 * kDay);
         EXPECT_EQ(d.writes.schedule->consecutive_failures, 2);
       }},
      {"CaRetryAfterIntoExpiryIsBlocked",
       [](PlanInput& in) {
         NearExpiry(in);
         Cert(in).schedule.ca_retry_after = kNow + hours(2);
       },
       {K::kBlocked, Hold::kCaRetryAfter, "asked to wait until", UntilIs::kAt, hours(2), false,
        "failed"},
       [](const Decision& d) { EXPECT_EQ(d.error.code(), ErrorCode::kRateLimited); }},
  };
}

std::vector<PlanRow> CaLimitRows() {
  using K = DecisionKind;
  return {
      {"CertificateScopeLimitDefers",
       [](PlanInput& in) {
         Due(in);
         Limit(in, store::CertificateScope("web"), hours(3));
       },
       Deferred(Hold::kCaLimitCertificate, "(too many orders)", hours(3)),
       [](const Decision& d) { EXPECT_EQ(d.limit_detail, "too many orders"); }},
      {"AccountScopeLimitDefersAlsoForced",
       [](PlanInput& in) {
         Limit(in, store::AccountScope(kAccount), hours(3));
         in.force = true;
       },
       Deferred(Hold::kCaLimitAccount, "CA asked to retry after", hours(3))},
      {"AnotherAccountsLimitDoesNotApply",
       [](PlanInput& in) {
         Due(in);
         Limit(in, store::AccountScope("https://ca.test/acct/2"), hours(3));
       },
       kDueNow},
      {"AnotherServersLimitDoesNotApply",
       [](PlanInput& in) {
         Due(in);
         in.cas[0].limits.push_back(
             {"https://other.test/dir", store::CertificateScope("web"), kNow + hours(3), "x"});
       },
       kDueNow},
      {"StoredLimitBeyondTheBoundIsCutAndStored",
       [](PlanInput& in) {
         Due(in);
         Limit(in, store::AccountScope(kAccount), 365 * kDay);
       },
       Deferred(Hold::kCaLimitAccount, "CA asked to retry after", 7 * kDay),
       [](const Decision& d) {
         ASSERT_TRUE(d.writes.ca_limit.has_value());
         EXPECT_EQ(d.writes.ca_limit->until, kNow + 7 * kDay);
         EXPECT_EQ(d.writes.ca_limit->scope, store::AccountScope(kAccount));
       }},
      {"AccountLimitIntoExpiryIsBlocked",
       [](PlanInput& in) {
         NearExpiry(in);
         Limit(in, store::AccountScope(kAccount), hours(3));
       },
       {K::kBlocked, Hold::kCaLimitAccount, "too many orders", UntilIs::kAt, hours(3), false,
        "failed"},
       [](const Decision& d) { EXPECT_EQ(d.error.code(), ErrorCode::kRateLimited); }},
      {"ScheduleWaitDecidesBeforeUnreadableLimits",
       [](PlanInput& in) {
         Due(in);
         Cert(in).schedule.ca_retry_after = kNow + hours(2);
         in.cas[0].limits_error = ReadError();
       },
       Deferred(Hold::kCaRetryAfter, "", hours(2))},
  };
}

std::vector<PlanRow> BackoffRows() {
  return {
      // ---- our backoff ----
      {"BackoffDefersWithItsReason",
       [](PlanInput& in) {
         Due(in);
         Cert(in).schedule.next_attempt_at = kNow + hours(4);
         Cert(in).schedule.deferred_reason = "backoff after 2 failures";
       },
       Deferred(Hold::kBackoff, "backoff after 2 failures (next attempt", hours(4))},
      {"BackoffWithoutReasonSaysBackoff",
       [](PlanInput& in) {
         Due(in);
         Cert(in).schedule.next_attempt_at = kNow + hours(4);
       },
       Deferred(Hold::kBackoff, "backoff (next attempt", hours(4))},
      {"ForceIgnoresBackoff",
       [](PlanInput& in) {
         Due(in);
         Cert(in).schedule.next_attempt_at = kNow + hours(4);
         in.force = true;
       },
       kDueNow},
      {"BackoffDecidesBeforeUnreadableRequestLog",
       [](PlanInput& in) {
         Due(in);
         Cert(in).schedule.next_attempt_at = kNow + hours(4);
         in.cas[0].requests_error = ReadError();
       },
       Deferred(Hold::kBackoff, "", hours(4))},
  };
}

std::vector<PlanRow> OrderBudgetRows() {
  using store::RequestKind;
  return {
      // ---- budgets ----
      {"BudgetNewOrdersPerAccount",
       [](PlanInput& in) {
         Due(in);
         Request(in, RequestKind::kNewOrder, kAccount, "", hours(2));
         Request(in, RequestKind::kNewOrder, kAccount, "", hours(1));
       },
       // The oldest order leaves the 3-hour window in an hour.
       Deferred(Hold::kBudget, "budget: ", hours(1), kPersist),
       [](const Decision& d) {
         EXPECT_EQ(d.limit_detail, "new orders per account");
         ASSERT_TRUE(d.writes.schedule.has_value());
         EXPECT_EQ(d.writes.schedule->next_attempt_at, kNow + hours(1));
         EXPECT_EQ(d.writes.schedule->deferred_reason, d.reason);
       }},
      {"BudgetCountsOnlyThisAccountsOrders",
       [](PlanInput& in) {
         Due(in);
         Request(in, RequestKind::kNewOrder, "https://ca.test/acct/2", "", hours(2));
         Request(in, RequestKind::kNewOrder, "https://ca.test/acct/2", "", hours(1));
       },
       kDueNow},
      {"BudgetOrdersOutsideTheWindowDoNotCount",
       [](PlanInput& in) {
         Due(in);
         Request(in, RequestKind::kNewOrder, kAccount, "", hours(4));
         Request(in, RequestKind::kNewOrder, kAccount, "", hours(1));
       },
       kDueNow},
      {"BudgetFailedValidationsPerIdentifier",
       [](PlanInput& in) {
         Due(in);
         Request(in, RequestKind::kFailedValidation, kAccount, "web.example.com", minutes(20));
       },
       Deferred(Hold::kBudget, "failed validations", minutes(40), kPersist),
       [](const Decision& d) { EXPECT_EQ(d.limit_detail, "failed validations per identifier"); }},
      {"BudgetFailedValidationsOfAnotherName",
       [](PlanInput& in) {
         Due(in);
         Request(in, RequestKind::kFailedValidation, kAccount, "api.example.com", minutes(20));
       },
       kDueNow},
  };
}

std::vector<PlanRow> CertificateBudgetRows() {
  using store::RequestKind;
  return {
      {"BudgetCertificatesPerRegisteredDomain",
       [](PlanInput& in) {
         Due(in);
         Cert(in).spec.domains = {"new.example.com"};  // not a renewal
         Request(in, RequestKind::kCertificate, "https://ca.test/acct/2", "example.com", kDay);
       },
       Deferred(Hold::kBudget, "certificates per registered domain", 6 * kDay, kPersist)},
      {"BudgetRenewalIsExemptFromTheRegisteredDomainLimit",
       [](PlanInput& in) {
         Due(in);
         Request(in, RequestKind::kCertificate, kAccount, "example.com", kDay);
       },
       kDueNow},
      {"BudgetDuplicateCertificates",
       [](PlanInput& in) {
         Due(in);
         Request(in, RequestKind::kCertificate, kAccount, NamesKey({"web.example.com"}), 2 * kDay);
       },
       Deferred(Hold::kBudget, "duplicate certificates", 5 * kDay, kPersist),
       [](const Decision& d) { EXPECT_EQ(d.limit_detail, "duplicate certificates"); }},
      {"BudgetEveryExhaustedLimitIsNamed",
       [](PlanInput& in) {
         Due(in);
         Request(in, RequestKind::kNewOrder, kAccount, "", hours(2));
         Request(in, RequestKind::kNewOrder, kAccount, "", hours(1));
         Request(in, RequestKind::kCertificate, kAccount, NamesKey({"web.example.com"}), 2 * kDay);
       },
       Deferred(Hold::kBudget, "", 5 * kDay, kPersist),
       [](const Decision& d) {
         EXPECT_EQ(d.limit_detail, "new orders per account; duplicate certificates");
       }},
      {"ForceSkipsBudgets",
       [](PlanInput& in) {
         Due(in);
         Request(in, RequestKind::kNewOrder, kAccount, "", hours(2));
         Request(in, RequestKind::kNewOrder, kAccount, "", hours(1));
         in.force = true;
       },
       kDueNow},
      {"DisabledBudgetsNeedNoRequestLog",
       [](PlanInput& in) {
         Due(in);
         in.cas[0].budgets = {0, 0, 0, 0};
         in.cas[0].requests_error = ReadError();
       },
       kDueNow},
  };
}

std::vector<PlanRow> UnreadableRows() {
  return {
      // ---- facts that could not be read: fail closed toward the CA ----
      {"UnreadableCertificateIsBlocked",
       [](PlanInput& in) {
         Cert(in).live.reset();
         Cert(in).latest.reset();
         Cert(in).read_error = ReadError();
       },
       Unreadable("cannot read the inventory record"),
       [](const Decision& d) { EXPECT_EQ(d.error.code(), ErrorCode::kIo); }},
      {"UnreadableCaLimitsBlockADueCertificate",
       [](PlanInput& in) {
         Due(in);
         in.cas[0].limits_error = ReadError();
       },
       Unreadable("cannot read the CA limits"),
       [](const Decision& d) {
         EXPECT_EQ(d.error.code(), ErrorCode::kIo);
         EXPECT_NE(d.error.message().find("database is locked"), std::string::npos);
       }},
      {"UnreadableCaLimitsBlockAlsoForced",
       [](PlanInput& in) {
         in.force = true;
         in.cas[0].limits_error = ReadError();
       },
       Unreadable("CA limits")},
      {"UnreadableAccountBlocksADueCertificate",
       [](PlanInput& in) {
         Due(in);
         in.cas[0].account_error = ReadError();
       },
       Unreadable("cannot read the account")},
      {"CertificateLimitDecidesBeforeUnreadableAccount",
       [](PlanInput& in) {
         Due(in);
         Limit(in, store::CertificateScope("web"), hours(3));
         in.cas[0].account_error = ReadError();
       },
       Deferred(Hold::kCaLimitCertificate, "", hours(3))},
      {"UnreadableRequestLogBlocksADueCertificate",
       [](PlanInput& in) {
         Due(in);
         in.cas[0].requests_error = ReadError();
       },
       Unreadable("cannot read the request log")},
      {"UnreadableRequestLogDoesNotMatterForced",
       [](PlanInput& in) {
         Due(in);
         in.force = true;
         in.cas[0].requests_error = ReadError();
       },
       kDueNow},
  };
}

std::vector<PlanRow> Rows() {
  std::vector<PlanRow> rows;
  for (auto group : {DeployRows, DueRows, CaRetryAfterRows, CaLimitRows, BackoffRows,
                     OrderBudgetRows, CertificateBudgetRows, UnreadableRows}) {
    for (PlanRow& row : group()) rows.push_back(std::move(row));
  }
  return rows;
}

class PlanTableTest : public ::testing::TestWithParam<PlanRow> {};

TEST_P(PlanTableTest, DecidesAsTheRowSays) {
  const PlanRow& row = GetParam();
  PlanInput in = BaseInput();
  row.setup(in);
  std::vector<Decision> plan = Plan(in);
  ASSERT_EQ(plan.size(), 1u);
  const Decision& d = plan.front();
  const Expected& want = row.want;
  EXPECT_EQ(d.name, "web");
  EXPECT_EQ(DecisionKindName(d.kind), DecisionKindName(want.kind)) << d.reason;
  EXPECT_EQ(HoldName(d.hold), HoldName(want.hold)) << d.reason;
  EXPECT_NE(d.reason.find(want.reason_has), std::string::npos) << d.reason;
  switch (want.until_is) {
    case UntilIs::kUnset: EXPECT_FALSE(d.until.has_value()) << FormatRfc3339(*d.until); break;
    case UntilIs::kSet: EXPECT_TRUE(d.until.has_value()); break;
    case UntilIs::kAt:
      ASSERT_TRUE(d.until.has_value());
      EXPECT_EQ(FormatRfc3339(*d.until), FormatRfc3339(kNow + want.until));
      break;
  }
  EXPECT_EQ(d.persist, want.persist);
  EXPECT_EQ(d.error.ok(), d.kind != DecisionKind::kBlocked) << d.error.ToString();
  EXPECT_EQ(PlannedOutcome(d, /*dry_run=*/true).outcome, want.dry_outcome);
  if (row.check) row.check(d);
}

INSTANTIATE_TEST_SUITE_P(Branches, PlanTableTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<PlanRow>& info) { return info.param.name; });

TEST(PlanTest, OneDecisionPerCertificateInOrder) {
  PlanInput in = BaseInput();
  CertificateFacts due = Cert(in);
  due.spec.name = "api";
  due.live = MakeVersion(1, store::VersionState::kDeployed, 20 * kDay, 90 * kDay);
  CertificateFacts unread = Cert(in);
  unread.spec.name = "old";
  unread.read_error = ReadError();
  in.certificates.push_back(due);
  in.certificates.push_back(unread);
  std::vector<Decision> plan = Plan(in);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].name, "web");
  EXPECT_EQ(plan[0].kind, DecisionKind::kNotDue);
  EXPECT_EQ(plan[1].name, "api");
  EXPECT_EQ(plan[1].kind, DecisionKind::kDue);
  EXPECT_EQ(plan[2].name, "old");
  EXPECT_EQ(plan[2].kind, DecisionKind::kBlocked);
}

TEST(PlanTest, RenewalInfoIsRefreshedOnlyWhereItDecides) {
  PlanInput in = BaseInput();
  EXPECT_TRUE(UsesRenewalInfo(Cert(in), kNow));
  Undeployed(in);
  EXPECT_FALSE(UsesRenewalInfo(Cert(in), kNow));
  Cert(in).live.reset();
  Cert(in).latest.reset();
  EXPECT_FALSE(UsesRenewalInfo(Cert(in), kNow));
}

TEST(PlanTest, BudgetLookbackIsTheLongestEnabledWindow) {
  EXPECT_EQ(BudgetLookback({2, 1, 1, 1}), std::optional<Duration>(7 * kDay));
  EXPECT_EQ(BudgetLookback({2, 1, 0, 0}), std::optional<Duration>(hours(3)));
  EXPECT_EQ(BudgetLookback({0, 1, 0, 0}), std::optional<Duration>(hours(1)));
  EXPECT_FALSE(BudgetLookback({0, 0, 0, 0}).has_value());
}

// ---- BeforeOrder: what earlier certificates of the same run changed ----

struct OrderRow {
  const char* name;
  std::function<void(PlanInput&, RunSoFar&)> setup;
  DecisionKind kind;
  Hold hold;
};

void PrintTo(const OrderRow& row, std::ostream* os) { *os << row.name; }

class BeforeOrderTest : public ::testing::TestWithParam<OrderRow> {};

TEST_P(BeforeOrderTest, DecidesAsTheRowSays) {
  const OrderRow& row = GetParam();
  PlanInput in = BaseInput();
  Due(in);
  RunSoFar run;
  run.now = kNow;
  row.setup(in, run);
  std::vector<Decision> plan = Plan(in);
  ASSERT_EQ(plan.front().kind, DecisionKind::kDue) << plan.front().reason;
  Decision d = BeforeOrder(plan.front(), Cert(in), in.cas[0], run);
  EXPECT_EQ(DecisionKindName(d.kind), DecisionKindName(row.kind)) << d.reason;
  EXPECT_EQ(HoldName(d.hold), HoldName(row.hold)) << d.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Run, BeforeOrderTest,
    ::testing::Values(
        OrderRow{"NothingChangedStaysDue", [](PlanInput&, RunSoFar&) {}, DecisionKind::kDue,
                 Hold::kNone},
        OrderRow{"TwoUnavailableInARowStillOrders",
                 [](PlanInput&, RunSoFar& run) { run.ca_unavailable_streak = 2; },
                 DecisionKind::kDue, Hold::kNone},
        OrderRow{"CaDownAfterThreeUnavailableInARow",
                 [](PlanInput&, RunSoFar& run) { run.ca_unavailable_streak = kCaDownThreshold; },
                 DecisionKind::kDeferred, Hold::kCaDown},
        OrderRow{"OrdersOfThisRunExhaustTheBudget",
                 [](PlanInput&, RunSoFar& run) {
                   run.requests = std::vector<store::RequestRecord>{
                       {kServer, kAccount, store::RequestKind::kNewOrder, "", kNow - minutes(2)},
                       {kServer, kAccount, store::RequestKind::kNewOrder, "", kNow - minutes(1)}};
                 },
                 DecisionKind::kDeferred, Hold::kBudget},
        OrderRow{"RequestLogUnreadableAgainBlocks",
                 [](PlanInput&, RunSoFar& run) { run.requests_error = ReadError(); },
                 DecisionKind::kBlocked, Hold::kUnreadable},
        OrderRow{"ForcedOrderCountsNoBudget",
                 [](PlanInput& in, RunSoFar& run) {
                   in.force = true;
                   run.requests_error = ReadError();
                 },
                 DecisionKind::kDue, Hold::kNone}),
    [](const ::testing::TestParamInfo<OrderRow>& info) { return info.param.name; });

TEST(BeforeOrderTest, BudgetDeferralOfTheRunIsPersisted) {
  PlanInput in = BaseInput();
  Due(in);
  RunSoFar run;
  run.now = kNow;
  run.requests = std::vector<store::RequestRecord>{
      {kServer, kAccount, store::RequestKind::kCertificate, NamesKey({"web.example.com"}),
       kNow - minutes(1)}};
  Decision d = BeforeOrder(Plan(in).front(), Cert(in), in.cas[0], run);
  ASSERT_EQ(d.kind, DecisionKind::kDeferred) << d.reason;
  EXPECT_TRUE(d.persist);
  ASSERT_TRUE(d.writes.schedule.has_value());
  EXPECT_EQ(d.writes.schedule->next_attempt_at, d.until);
}

// ---- several CAs: each is checked on its own ----

constexpr const char* kSecondServer = "https://ca2.test/dir";
constexpr const char* kSecondAccount = "https://ca2.test/acct/1";

// BaseInput with a second CA; the certificate lists both, the first first.
PlanInput TwoCaInput() {
  PlanInput in = BaseInput();
  CaFacts second;
  second.server = kSecondServer;
  second.account_url = kSecondAccount;
  second.budgets = {2, 1, 1, 1};
  in.cas.push_back(second);
  Cert(in).cas = {0, 1};
  Due(in);
  return in;
}

TEST(SeveralCasPlanTest, BothFreeAreTriedInOrder) {
  PlanInput in = TwoCaInput();
  Decision d = Plan(in).front();
  ASSERT_EQ(d.kind, DecisionKind::kDue) << d.reason;
  EXPECT_EQ(d.cas, (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(d.skipped.empty());
}

TEST(SeveralCasPlanTest, ACaLimitOfTheFirstSkipsOnlyTheFirst) {
  PlanInput in = TwoCaInput();
  Limit(in, store::CertificateScope("web"), hours(1));
  Decision d = Plan(in).front();
  ASSERT_EQ(d.kind, DecisionKind::kDue) << d.reason;
  EXPECT_EQ(d.cas, std::vector<size_t>{1});
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_EQ(d.skipped[0].ca, 0u);
  EXPECT_EQ(d.skipped[0].hold, Hold::kCaLimitCertificate);
  EXPECT_EQ(d.skipped[0].until, kNow + hours(1));
}

TEST(SeveralCasPlanTest, ALimitOfAnotherServerHoldsNothing) {
  PlanInput in = TwoCaInput();
  in.cas[1].limits.push_back(
      {kServer, store::CertificateScope("web"), kNow + hours(1), "the first CA's"});
  Decision d = Plan(in).front();
  ASSERT_EQ(d.kind, DecisionKind::kDue) << d.reason;
  EXPECT_EQ(d.cas, (std::vector<size_t>{0, 1}));
}

TEST(SeveralCasPlanTest, ABudgetOfTheFirstSkipsOnlyTheFirst) {
  PlanInput in = TwoCaInput();
  Request(in, store::RequestKind::kNewOrder, kAccount, "", minutes(2));
  Request(in, store::RequestKind::kNewOrder, kAccount, "", minutes(1));
  Decision d = Plan(in).front();
  ASSERT_EQ(d.kind, DecisionKind::kDue) << d.reason;
  EXPECT_EQ(d.cas, std::vector<size_t>{1});
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_EQ(d.skipped[0].hold, Hold::kBudget);
  ASSERT_TRUE(d.budget.has_value());
  EXPECT_EQ(d.budget->account_url, kSecondAccount) << "the budget counted is the CA tried";
}

TEST(SeveralCasPlanTest, EveryCaHeldDefersUntilTheFirstHoldEnds) {
  PlanInput in = TwoCaInput();
  Limit(in, store::CertificateScope("web"), hours(5));
  in.cas[1].limits.push_back(
      {kSecondServer, store::AccountScope(kSecondAccount), kNow + hours(2), "busy"});
  Decision d = Plan(in).front();
  ASSERT_EQ(d.kind, DecisionKind::kDeferred) << d.reason;
  EXPECT_EQ(d.hold, Hold::kCaLimitAccount);
  EXPECT_EQ(d.until, kNow + hours(2));
}

TEST(SeveralCasPlanTest, BeforeOrderCountsTheBudgetOfTheCaAsked) {
  PlanInput in = TwoCaInput();
  Decision planned = Plan(in).front();
  ASSERT_EQ(planned.kind, DecisionKind::kDue);
  RunSoFar run;
  run.now = kNow;
  // The second CA's account ordered twice in this run: its budget is spent,
  // the first CA's is not.
  run.requests = std::vector<store::RequestRecord>{
      {kSecondServer, kSecondAccount, store::RequestKind::kNewOrder, "", kNow - minutes(2)},
      {kSecondServer, kSecondAccount, store::RequestKind::kNewOrder, "", kNow - minutes(1)}};
  EXPECT_EQ(BeforeOrder(planned, Cert(in), in.cas[1], run).hold, Hold::kBudget);
  run.requests->clear();
  EXPECT_EQ(BeforeOrder(planned, Cert(in), in.cas[0], run).kind, DecisionKind::kDue);
}

// ---- the outcome a dry run reports is the plan ----

TEST(PlannedOutcomeTest, CarriesTheDecisionKindReasonTimeAndLimit) {
  for (const PlanRow& row : Rows()) {
    PlanInput in = BaseInput();
    row.setup(in);
    const Decision d = Plan(in).front();
    CertificateOutcome out = PlannedOutcome(d, /*dry_run=*/true);
    EXPECT_EQ(out.name, d.name) << row.name;
    EXPECT_EQ(out.decision, DecisionKindName(d.kind)) << row.name;
    EXPECT_EQ(out.reason, d.reason) << row.name;
    EXPECT_EQ(out.until, d.until) << row.name;
    std::string limit(HoldName(d.hold));
    if (d.hold == Hold::kBudget || d.hold == Hold::kUnreadable) limit += ": " + d.limit_detail;
    EXPECT_EQ(out.limit, limit) << row.name;
    EXPECT_EQ(out.error.ok(), d.kind != DecisionKind::kBlocked) << row.name;
  }
}

}  // namespace
}  // namespace certkeeper::lifecycle
