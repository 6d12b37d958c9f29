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
        WindowCase{"SixDayAtDay3NotDue", 6, 3, std::nullopt, false, DueReason::kNotDue, 4,
                   "valid for 3d more; renews from 2026-01-05T00:00:00Z"},
        WindowCase{"SixDayAtDay4AndAHalfDue", 6, 4.5, std::nullopt, true, DueReason::kRenewalWindow,
                   4, "expires in 1d 12h (renew window opened 12h 0m ago)"},
        WindowCase{"ExplicitRenewBefore10dNotDueAtDay61", 90, 61, Days(10), false,
                   DueReason::kNotDue, 80, "valid for 29d more; renews from 2026-03-22T00:00:00Z"},
        WindowCase{"ExplicitRenewBefore10dDueAtDay81", 90, 81, Days(10), true,
                   DueReason::kRenewalWindow, 80, "expires in 9d (renew window opened 1d ago)"},
        WindowCase{"RenewBeforeLongerThanLifetimeUsesLastThird", 6, 3, Days(30), false,
                   DueReason::kNotDue, 4,
                   "valid for 3d more; renews from 2026-01-05T00:00:00Z (renew_before 30d "
                   "does not fit the 6d lifetime; using the last third)"},
        WindowCase{"ExpiredYesterday", 90, 91, std::nullopt, true, DueReason::kExpired, 90,
                   "expired 1d ago"},
        WindowCase{"ExpiredExactlyNow", 90, 90, std::nullopt, true, DueReason::kExpired, 90,
                   "expired 0s ago"}),
    [](const testing::TestParamInfo<WindowCase>& info) { return info.param.name; });

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
    const TimePoint unjittered = kIssued + lifetime - lifetime / 3;
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
  EXPECT_EQ(ComputeDue(in).renew_at, kIssued + Days(4) - std::chrono::seconds(5184));
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

TEST(DueReasonTest, NamesAreStable) {
  EXPECT_EQ(DueReasonName(DueReason::kNotIssued), "not_issued");
  EXPECT_EQ(DueReasonName(DueReason::kAriWindow), "ari_window");
  EXPECT_EQ(DueReasonName(DueReason::kNotDue), "not_due");
}

}  // namespace
}  // namespace certkeeper::lifecycle
