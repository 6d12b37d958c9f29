#include "lifecycle/due.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr Duration Days(double d) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(d * 86400));
}

const TimePoint kIssued = FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

LiveVersionFacts Live(Duration lifetime) {
  LiveVersionFacts live;
  live.not_before = kIssued;
  live.not_after = kIssued + lifetime;
  live.domains = {"example.com", "www.example.com"};
  live.key_type = KeyType::kEc256;
  return live;
}

DueInput InputAt(Duration lifetime, Duration since_issue) {
  DueInput in;
  in.now = kIssued + since_issue;
  in.domains = {"example.com", "www.example.com"};
  in.key_type = KeyType::kEc256;
  in.live = Live(lifetime);
  return in;
}

void ExpectInvariant(const DueInput& in, const DueDecision& d) {
  EXPECT_EQ(d.due, d.renew_at <= in.now) << d.reason;
}

// ---- Lifetimes and the local renewal window --------------------------------

struct WindowCase {
  const char* name;
  double lifetime_days;
  double at_day;
  std::optional<Duration> renew_before;
  bool due;
  DueReason why;
  double renew_at_day;
  const char* reason;  // exact expected text
};

void PrintTo(const WindowCase& c, std::ostream* os) { *os << c.name; }

class WindowTest : public testing::TestWithParam<WindowCase> {};

TEST_P(WindowTest, Decides) {
  const WindowCase& c = GetParam();
  DueInput in = InputAt(Days(c.lifetime_days), Days(c.at_day));
  in.renew_before = c.renew_before;
  DueDecision d = ComputeDue(in);
  EXPECT_EQ(d.due, c.due);
  EXPECT_EQ(d.why, c.why) << DueReasonName(d.why);
  EXPECT_EQ(d.renew_at, kIssued + Days(c.renew_at_day));
  EXPECT_EQ(d.reason, c.reason);
  ExpectInvariant(in, d);
}

INSTANTIATE_TEST_SUITE_P(
    Lifetimes, WindowTest,
    testing::Values(
        WindowCase{"NinetyDayAtDay10NotDue", 90, 10, std::nullopt, false, DueReason::kNotDue, 60,
                   "valid for 80d more; renews from 2026-03-02T00:00:00Z"},
        WindowCase{"NinetyDayAtDay61Due", 90, 61, std::nullopt, true, DueReason::kRenewalWindow, 60,
                   "expires in 29d (renew window opened 1d ago)"},
        WindowCase{"NinetyDayExactlyAtTwoThirdsDue", 90, 60, std::nullopt, true,
                   DueReason::kRenewalWindow, 60, "expires in 30d (renew window opened 0s ago)"},
        WindowCase{"FortyFiveDayAtDay29NotDue", 45, 29, std::nullopt, false, DueReason::kNotDue, 30,
                   "valid for 16d more; renews from 2026-01-31T00:00:00Z"},
        WindowCase{"FortyFiveDayAtDay31Due", 45, 31, std::nullopt, true, DueReason::kRenewalWindow,
                   30, "expires in 14d (renew window opened 1d ago)"},
        // Under 10 days of lifetime: renew at half of it.
        WindowCase{"SixDayAtDay2NotDue", 6, 2, std::nullopt, false, DueReason::kNotDue, 3,
                   "valid for 4d more; renews from 2026-01-04T00:00:00Z"},
        WindowCase{"SixDayAtDay4AndAHalfDue", 6, 4.5, std::nullopt, true, DueReason::kRenewalWindow,
                   3, "expires in 1d 12h (renew window opened 1d 12h ago)"},
        WindowCase{"NineDayRenewsAtHalf", 9, 4, std::nullopt, false, DueReason::kNotDue, 4.5,
                   "valid for 5d more; renews from 2026-01-05T12:00:00Z"},
        WindowCase{"TenDayIsNotShortLivedUsesLastThird", 10, 4, std::nullopt, false,
                   DueReason::kNotDue, 10 - 10.0 / 3,
                   "valid for 6d more; renews from 2026-01-07T16:00:00Z"},
        WindowCase{"ExplicitRenewBefore10dNotDueAtDay61", 90, 61, Days(10), false,
                   DueReason::kNotDue, 80, "valid for 29d more; renews from 2026-03-22T00:00:00Z"},
        WindowCase{"ExplicitRenewBefore10dDueAtDay81", 90, 81, Days(10), true,
                   DueReason::kRenewalWindow, 80, "expires in 9d (renew window opened 1d ago)"},
        WindowCase{"RenewBeforeLongerThanLifetimeUsesLastThird", 12, 3, Days(30), false,
                   DueReason::kNotDue, 8,
                   "valid for 9d more; renews from 2026-01-09T00:00:00Z (renew_before 30d "
                   "does not fit the 12d lifetime; using the last third)"},
        WindowCase{"ExpiredYesterday", 90, 91, std::nullopt, true, DueReason::kExpired, 90,
                   "expired 1d ago"},
        WindowCase{"ExpiredExactlyNow", 90, 90, std::nullopt, true, DueReason::kExpired, 90,
                   "expired 0s ago"}),
    [](const testing::TestParamInfo<WindowCase>& info) { return info.param.name; });

// ---- Short-lived certificates (hours) ---------------------------------------

struct ShortLivedCase {
  const char* name;
  Duration lifetime;
  Duration since_issue;
  std::optional<Duration> renew_before;
  bool due;
  Duration renew_at;  // after not_before
  const char* reason;
};

void PrintTo(const ShortLivedCase& c, std::ostream* os) { *os << c.name; }

class ShortLivedTest : public testing::TestWithParam<ShortLivedCase> {};

TEST_P(ShortLivedTest, RenewsAtHalfTheLifetime) {
  const ShortLivedCase& c = GetParam();
  DueInput in = InputAt(c.lifetime, c.since_issue);
  in.renew_before = c.renew_before;
  DueDecision d = ComputeDue(in);
  EXPECT_EQ(d.due, c.due) << d.reason;
  EXPECT_EQ(d.why, c.due ? DueReason::kRenewalWindow : DueReason::kNotDue);
  EXPECT_EQ(d.renew_at, kIssued + c.renew_at) << FormatRfc3339(d.renew_at);
  EXPECT_EQ(d.reason, c.reason);
  ExpectInvariant(in, d);
}

INSTANTIATE_TEST_SUITE_P(
    Hours, ShortLivedTest,
    testing::Values(
        ShortLivedCase{"TwelveHourFreshIsNotDue", hours(12), minutes(1), std::nullopt, false,
                       hours(6), "valid for 11h 59m more; renews from 2026-01-01T06:00:00Z"},
        ShortLivedCase{"TwelveHourDueAtHalf", hours(12), hours(6), std::nullopt, true, hours(6),
                       "expires in 6h 0m (renew window opened 0s ago)"},
        ShortLivedCase{"SixHourAtTwoHoursNotDue", hours(6), hours(2), std::nullopt, false,
                       hours(3), "valid for 4h 0m more; renews from 2026-01-01T03:00:00Z"},
        ShortLivedCase{"SixHourAtFourHoursDue", hours(6), hours(4), std::nullopt, true, hours(3),
                       "expires in 2h 0m (renew window opened 1h 0m ago)"},
        ShortLivedCase{"EarlierRenewBeforeApplies", hours(12), hours(5), hours(8), true,
                       hours(4), "expires in 7h 0m (renew window opened 1h 0m ago)"},
        ShortLivedCase{"LaterRenewBeforeDoesNotDelay", hours(12), hours(5), hours(1), false,
                       hours(6), "valid for 7h 0m more; renews from 2026-01-01T06:00:00Z"},
        ShortLivedCase{"RenewBeforeLongerThanLifetimeUsesHalf", hours(12), hours(1),
                       Days(30), false, hours(6),
                       "valid for 11h 0m more; renews from 2026-01-01T06:00:00Z"}),
    [](const testing::TestParamInfo<ShortLivedCase>& info) { return info.param.name; });

// ---- Changes of the definition and the version's state ---------------------

struct StateCase {
  const char* name;
  bool has_version;
  bool revoked;
  std::vector<std::string> wanted_domains;
  KeyType wanted_key;
  bool due;
  DueReason why;
  const char* reason;
};

void PrintTo(const StateCase& c, std::ostream* os) { *os << c.name; }

class StateTest : public testing::TestWithParam<StateCase> {};

TEST_P(StateTest, Decides) {
  const StateCase& c = GetParam();
  DueInput in = InputAt(Days(90), Days(10));
  if (!c.has_version) in.live.reset();
  if (in.live) in.live->revoked = c.revoked;
  in.domains = c.wanted_domains;
  in.key_type = c.wanted_key;
  DueDecision d = ComputeDue(in);
  EXPECT_EQ(d.due, c.due);
  EXPECT_EQ(d.why, c.why) << DueReasonName(d.why);
  if (c.due) {
    EXPECT_EQ(d.reason, c.reason);
    EXPECT_EQ(d.renew_at, in.now);
  } else {
    EXPECT_EQ(d.reason.rfind(c.reason, 0), 0u) << d.reason;
  }
  ExpectInvariant(in, d);
}

const std::vector<std::string> kSame = {"example.com", "www.example.com"};

INSTANTIATE_TEST_SUITE_P(
    Definition, StateTest,
    testing::Values(StateCase{"NoVersionIsDue", false, false, kSame, KeyType::kEc256, true,
                              DueReason::kNotIssued, "not yet issued"},
                    StateCase{"RevokedIsDue", true, true, kSame, KeyType::kEc256, true,
                              DueReason::kRevoked, "revoked"},
                    StateCase{"DomainAdded",
                              true,
                              false,
                              {"example.com", "www.example.com", "api.example.com"},
                              KeyType::kEc256,
                              true,
                              DueReason::kDomainsChanged,
                              "domains changed: +api.example.com"},
                    StateCase{"DomainRemoved",
                              true,
                              false,
                              {"example.com"},
                              KeyType::kEc256,
                              true,
                              DueReason::kDomainsChanged,
                              "domains changed: -www.example.com"},
                    StateCase{"DomainReplaced",
                              true,
                              false,
                              {"example.com", "mail.example.com"},
                              KeyType::kEc256,
                              true,
                              DueReason::kDomainsChanged,
                              "domains changed: +mail.example.com -www.example.com"},
                    StateCase{"SameDomainsOtherOrderAndCaseNotDue",
                              true,
                              false,
                              {"WWW.example.com.", "Example.COM"},
                              KeyType::kEc256,
                              false,
                              DueReason::kNotDue,
                              "valid for 80d more"},
                    StateCase{"KeyTypeChanged", true, false, kSame, KeyType::kRsa2048, true,
                              DueReason::kKeyTypeChanged, "key type changed ec256 -> rsa2048"},
                    StateCase{"NothingChangedNotDue", true, false, kSame, KeyType::kEc256, false,
                              DueReason::kNotDue, "valid for 80d more; renews from "}),
    [](const testing::TestParamInfo<StateCase>& info) { return info.param.name; });

// After `revoke`, the store no longer counts the revoked version as live: the
// certificate has no live version (or an older one), and must be due because
// it was revoked, not "not yet issued".
TEST(DueTest, NewestDeployedRevokedWithoutLiveVersionIsDueRevoked) {
  DueInput in = InputAt(Days(90), Days(10));
  in.live.reset();
  in.newest_deployed_revoked = true;
  DueDecision d = ComputeDue(in);
  EXPECT_TRUE(d.due);
  EXPECT_EQ(d.why, DueReason::kRevoked);
  EXPECT_EQ(d.reason, "revoked");
  EXPECT_EQ(d.renew_at, in.now);
}

TEST(DueTest, NewestDeployedRevokedOverAnOlderLiveVersionIsDueRevoked) {
  DueInput in = InputAt(Days(90), Days(10));  // the older live version is not due
  in.newest_deployed_revoked = true;
  DueDecision d = ComputeDue(in);
  EXPECT_TRUE(d.due);
  EXPECT_EQ(d.why, DueReason::kRevoked);
  ExpectInvariant(in, d);
}

TEST(DueTest, InvalidValidityPeriodIsDue) {
  DueInput in = InputAt(Days(90), Days(10));
  in.live->not_after = in.live->not_before;
  DueDecision d = ComputeDue(in);
  EXPECT_TRUE(d.due);
  EXPECT_EQ(d.why, DueReason::kInvalidValidity);
  ExpectInvariant(in, d);
}

// ---- Jitter -----------------------------------------------------------------

TEST(DueJitterTest, MaxJitterIsBoundedByFractionAndCap) {
  EXPECT_EQ(MaxJitter(Days(90)), hours(4));                    // 2% would be 43h12m
  EXPECT_EQ(MaxJitter(Days(6)), std::chrono::seconds(10368));  // 2% of 6d = 2h52m48s
  EXPECT_EQ(MaxJitter(Duration::zero()), Duration::zero());
}

TEST(DueJitterTest, NeverLaterAndNeverMoreThanMaxEarlier) {
  const double fractions[] = {
      0.0,         1e-9, 0.25, 0.5,  0.75,
      0.999999999, 1.0,  7.5,  -3.0, std::numeric_limits<double>::quiet_NaN()};
  for (double lifetime_days : {90.0, 45.0, 6.0}) {
    const Duration lifetime = Days(lifetime_days);
    const TimePoint unjittered =
        kIssued + lifetime - (lifetime < kShortLivedLifetime ? lifetime / 2 : lifetime / 3);
    for (double f : fractions) {
      DueInput in = InputAt(lifetime, Days(1));
      in.jitter_fraction = f;
      DueDecision d = ComputeDue(in);
      EXPECT_FALSE(d.due);
      EXPECT_LE(d.renew_at, unjittered) << lifetime_days << "d, fraction " << f;
      EXPECT_GE(d.renew_at, unjittered - MaxJitter(lifetime)) << lifetime_days << "d, " << f;
    }
  }
}

TEST(DueJitterTest, HalfFractionMovesHalfTheMaximumEarlier) {
  DueInput in = InputAt(Days(6), Days(1));
  in.jitter_fraction = 0.5;
  EXPECT_EQ(ComputeDue(in).renew_at, kIssued + Days(3) - std::chrono::seconds(5184));
}

TEST(DueJitterTest, JitterCanMakeACertificateDueEarlier) {
  // One hour before the un-jittered time: due only with enough jitter.
  DueInput in = InputAt(Days(90), Days(60) - hours(1));
  in.jitter_fraction = 0.0;
  EXPECT_FALSE(ComputeDue(in).due);
  in.jitter_fraction = 0.5;  // two hours earlier
  EXPECT_TRUE(ComputeDue(in).due);
}

TEST(DueJitterTest, StableFractionIsInRangeAndDeterministic) {
  for (const char* name : {"", "web", "api", "a-very-long-certificate-name.example"}) {
    double f = StableJitterFraction(name);
    EXPECT_GE(f, 0.0) << name;
    EXPECT_LT(f, 1.0) << name;
    EXPECT_EQ(f, StableJitterFraction(name)) << name;
  }
  EXPECT_NE(StableJitterFraction("web"), StableJitterFraction("api"));
}

// ---- Renewal information (RFC 9773) ----------------------------------------

struct AriCase {
  const char* name;
  double at_day;     // on a 90-day certificate
  double start_day;  // window, days after issue
  double end_day;
  double chosen_day;
  bool due;
  DueReason why;
  double renew_at_day;
  const char* reason_prefix;
};

void PrintTo(const AriCase& c, std::ostream* os) { *os << c.name; }

class AriDueTest : public testing::TestWithParam<AriCase> {};

TEST_P(AriDueTest, Decides) {
  const AriCase& c = GetParam();
  DueInput in = InputAt(Days(90), Days(c.at_day));
  in.ari = AriSchedule{{kIssued + Days(c.start_day), kIssued + Days(c.end_day)},
                       kIssued + Days(c.chosen_day)};
  DueDecision d = ComputeDue(in);
  EXPECT_EQ(d.due, c.due) << d.reason;
  EXPECT_EQ(d.why, c.why) << DueReasonName(d.why);
  EXPECT_EQ(d.renew_at, kIssued + Days(c.renew_at_day));
  EXPECT_EQ(d.reason.rfind(c.reason_prefix, 0), 0u) << d.reason;
  ExpectInvariant(in, d);
}

INSTANTIATE_TEST_SUITE_P(
    Windows, AriDueTest,
    testing::Values(
        AriCase{"FutureWindowNotDue", 10, 58, 60, 59, false, DueReason::kNotDue, 59,
                "valid for 80d more; renews from 2026-03-01T00:00:00Z (renewal information "
                "window: 2026-02-28T00:00:00Z to 2026-03-02T00:00:00Z)"},
        AriCase{"OpenWindowChosenTimeReachedDue", 59.5, 58, 60, 59, true, DueReason::kAriWindow, 59,
                "renewal information window: 2026-02-28T00:00:00Z to 2026-03-02T00:00:00Z "
                "(chosen time 2026-03-01T00:00:00Z reached)"},
        AriCase{"OpenWindowChosenTimeAheadNotDue", 58.5, 58, 60, 59, false, DueReason::kNotDue, 59,
                "valid for 31d 12h more; renews from 2026-03-01T00:00:00Z"},
        AriCase{"PastWindowDueNow", 20, 10, 12, 11, true, DueReason::kAriWindow, 11,
                "renewal information window: 2026-01-11T00:00:00Z to 2026-01-13T00:00:00Z "
                "has passed"},
        AriCase{"EarlyWindowOverridesLocalSchedule", 10, 9, 11, 9.5, true, DueReason::kAriWindow,
                9.5, "renewal information window"},
        AriCase{"LateWindowOverridesLocalSchedule", 62, 65, 67, 66, false, DueReason::kNotDue, 66,
                "valid for 28d more; renews from 2026-03-08T00:00:00Z"},
        AriCase{"ChosenOutsideWindowIsClampedToStart", 10, 58, 60, 20, false, DueReason::kNotDue,
                58, "valid for 80d more; renews from 2026-02-28T00:00:00Z"},
        AriCase{"WindowAfterExpiryIgnored", 61, 95, 97, 96, true, DueReason::kRenewalWindow, 60,
                "expires in 29d (renew window opened 1d ago) (renewal information ignored"},
        AriCase{"EmptyWindowIgnored", 10, 59, 59, 59, false, DueReason::kNotDue, 60,
                "valid for 80d more; renews from 2026-03-02T00:00:00Z (renewal information "
                "ignored: its window is empty)"}),
    [](const testing::TestParamInfo<AriCase>& info) { return info.param.name; });

TEST(AriDueTest, DefinitionChangesStillWinOverAWindow) {
  DueInput in = InputAt(Days(90), Days(10));
  in.ari = AriSchedule{{kIssued + Days(58), kIssued + Days(60)}, kIssued + Days(59)};
  in.key_type = KeyType::kEc384;
  DueDecision d = ComputeDue(in);
  EXPECT_TRUE(d.due);
  EXPECT_EQ(d.why, DueReason::kKeyTypeChanged);
}

// ---- Expiry health (`check`) -------------------------------------------------

struct HealthCase {
  const char* name;
  Duration lifetime;
  Duration since_issue;
  std::optional<Duration> next_attempt_in;  // from now
  std::optional<Duration> run_interval;
  ExpiryHealth health;
  const char* message_prefix;
};

void PrintTo(const HealthCase& c, std::ostream* os) { *os << c.name; }

class ExpiryHealthTest : public testing::TestWithParam<HealthCase> {};

// renew_at comes from ComputeDue, as `check` computes it.
TEST_P(ExpiryHealthTest, Judges) {
  const HealthCase& c = GetParam();
  DueInput due = InputAt(c.lifetime, c.since_issue);
  ExpiryHealthInput in;
  in.now = due.now;
  in.not_before = due.live->not_before;
  in.not_after = due.live->not_after;
  in.renew_at = ComputeDue(due).renew_at;
  if (c.next_attempt_in) in.next_attempt = due.now + *c.next_attempt_in;
  in.run_interval = c.run_interval;
  ExpiryVerdict v = AssessExpiry(in);
  EXPECT_EQ(v.health, c.health) << v.message;
  EXPECT_EQ(v.message.rfind(c.message_prefix, 0), 0u) << v.message;
  if (c.health == ExpiryHealth::kHealthy) {
    EXPECT_EQ(v.message, "");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Lifetimes, ExpiryHealthTest,
    testing::Values(
        // A fresh 12-hour certificate is healthy, not "expires in 11h 59m".
        HealthCase{"FreshTwelveHourHealthy", hours(12), minutes(1), std::nullopt, std::nullopt,
                   ExpiryHealth::kHealthy, ""},
        HealthCase{"TwelveHourJustDueHealthy", hours(12), hours(7), std::nullopt, std::nullopt,
                   ExpiryHealth::kHealthy, ""},
        // Due at 6h; the margin is 1h 12m (a tenth of 12h).
        HealthCase{"TwelveHourLateWarns", hours(12), hours(7) + minutes(13), std::nullopt,
                   std::nullopt, ExpiryHealth::kWarning,
                   "expires in 4h 47m and is not renewed: due since 2026-01-01T06:00:00Z"},
        HealthCase{"TwelveHourBackoffPastExpiryIsError", hours(12), hours(7), hours(6),
                   std::nullopt, ExpiryHealth::kError,
                   "expires in 5h 0m (2026-01-01T12:00:00Z), before it can be renewed"},
        HealthCase{"TwelveHourBackoffBeforeExpiryHealthy", hours(12), hours(6) + minutes(5),
                   minutes(30), std::nullopt, ExpiryHealth::kHealthy, ""},
        // The next run after the renewal time comes too late.
        HealthCase{"SixHourWithTwelveHourTimerIsError", hours(6), minutes(10), std::nullopt,
                   hours(12), ExpiryHealth::kError, "expires in 5h 50m"},
        HealthCase{"SixHourWithHourlyTimerHealthy", hours(6), minutes(10), std::nullopt,
                   hours(1), ExpiryHealth::kHealthy, ""},
        HealthCase{"SixHourDueWithHourlyTimerHealthy", hours(6), hours(3) + minutes(10),
                   std::nullopt, hours(1), ExpiryHealth::kHealthy, ""},
        // 90 days: renews at 30 days left, warns 9 days later (21 days left),
        // where a fixed "14 days left" rule was silent.
        HealthCase{"NinetyDayTwentyFiveDaysLeftHealthy", Days(90), Days(65), std::nullopt,
                   std::nullopt, ExpiryHealth::kHealthy, ""},
        HealthCase{"NinetyDayTwentyDaysLeftWarns", Days(90), Days(70), std::nullopt,
                   std::nullopt, ExpiryHealth::kWarning, "expires in 20d and is not renewed"},
        HealthCase{"NinetyDayFreshHealthy", Days(90), Days(1), std::nullopt, hours(12),
                   ExpiryHealth::kHealthy, ""},
        HealthCase{"ExpiredIsError", hours(12), hours(13), std::nullopt, std::nullopt,
                   ExpiryHealth::kError, "expired at 2026-01-01T12:00:00Z"}),
    [](const testing::TestParamInfo<HealthCase>& info) { return info.param.name; });

TEST(ExpiryHealthTest, LateMarginIsATenthOfTheLifetimeAtMostHalfTheRest) {
  EXPECT_EQ(LateRenewalMargin(Days(90), Days(30)), Days(9));
  EXPECT_EQ(LateRenewalMargin(hours(12), hours(6)), minutes(72));
  // renew_before 7 days on a 90-day certificate: warn at 3.5 days left.
  EXPECT_EQ(LateRenewalMargin(Days(90), Days(7)), Days(3.5));
  EXPECT_EQ(LateRenewalMargin(Duration::zero(), hours(1)), Duration::zero());
}

TEST(DueReasonTest, NamesAreStable) {
  EXPECT_EQ(DueReasonName(DueReason::kNotIssued), "not_issued");
  EXPECT_EQ(DueReasonName(DueReason::kAriWindow), "ari_window");
  EXPECT_EQ(DueReasonName(DueReason::kNotDue), "not_due");
}

}  // namespace
}  // namespace certkeeper::lifecycle
