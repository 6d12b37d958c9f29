#include "lifecycle/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>
#include <limits>
#include <optional>
#include <ostream>

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kBackoffNow = FromUnixSeconds(1795000000);

UniformRandom FixedBackoffRandom(double u) {
  return [u]() { return u; };
}

struct BackoffCase {
  const char* name;
  int failures;
  double random;
  std::optional<Duration> expires_in;  // not_after - now; negative: expired
  std::optional<Duration> retry_after_in;
  Duration expected_wait;  // NextAttemptAfterFailure - now
};

void PrintTo(const BackoffCase& c, std::ostream* os) { *os << c.name; }

class BackoffTableTest : public testing::TestWithParam<BackoffCase> {};

TEST_P(BackoffTableTest, NextAttempt) {
  const BackoffCase& c = GetParam();
  BackoffInput in;
  in.consecutive_failures = c.failures;
  in.now = kBackoffNow;
  if (c.expires_in) in.not_after = kBackoffNow + *c.expires_in;
  if (c.retry_after_in) in.retry_after = kBackoffNow + *c.retry_after_in;
  in.random = FixedBackoffRandom(c.random);
  // Jitter is computed in floating point: allow a microsecond of rounding.
  const Duration wait = NextAttemptAfterFailure(in) - kBackoffNow;
  EXPECT_LE(std::chrono::abs(wait - c.expected_wait), std::chrono::microseconds(1))
      << FormatDurationHuman(wait) << " (" << wait.count() << ")";
}

INSTANTIATE_TEST_SUITE_P(
    Policy, BackoffTableTest,
    testing::Values(
        // Growth: base 5m, factor 2, no jitter at u = 0.5.
        BackoffCase{"FirstFailureWaitsBase", 1, 0.5, std::nullopt, std::nullopt, minutes(5)},
        BackoffCase{"SecondFailureDoubles", 2, 0.5, std::nullopt, std::nullopt, minutes(10)},
        BackoffCase{"FifthFailure", 5, 0.5, std::nullopt, std::nullopt, minutes(80)},
        BackoffCase{"ZeroFailuresTreatedAsOne", 0, 0.5, std::nullopt, std::nullopt, minutes(5)},
        // Jitter: +-20%.
        BackoffCase{"JitterLowestIsEightyPercent", 1, 0.0, std::nullopt, std::nullopt, minutes(4)},
        BackoffCase{"JitterUpperQuarterAddsTenPercent", 1, 0.75, std::nullopt, std::nullopt,
                    seconds(330)},
        BackoffCase{"RandomAboveOneIsClamped", 1, 5.0, std::nullopt, std::nullopt, seconds(360)},
        BackoffCase{"RandomNaNIsClampedToZero", 1, std::numeric_limits<double>::quiet_NaN(),
                    std::nullopt, std::nullopt, minutes(4)},
        // Cap: 24h, also after positive jitter and for absurd streaks.
        BackoffCase{"CapReached", 10, 0.5, std::nullopt, std::nullopt, hours(24)},
        BackoffCase{"CapNotExceededByJitter", 10, 0.99, std::nullopt, std::nullopt, hours(24)},
        BackoffCase{"HugeStreakStaysAtCap", 100000, 0.5, std::nullopt, std::nullopt, hours(24)},
        BackoffCase{"NegativeJitterBelowCap", 20, 0.0, std::nullopt, std::nullopt,
                    minutes(24 * 60 * 8 / 10)},
        // Tightening near expiry: at most a tenth of the time left, floor 1m.
        BackoffCase{"FarFromExpiryNotTightened", 3, 0.5, hours(24 * 60), std::nullopt, minutes(20)},
        BackoffCase{"TwoHoursLeftWaitsAtMostTwelveMinutes", 10, 0.5, hours(2), std::nullopt,
                    minutes(12)},
        BackoffCase{"TwoHoursLeftShortDelayUntouched", 1, 0.5, hours(2), std::nullopt, minutes(5)},
        BackoffCase{"OneDayLeftCappedAtTwoHoursTwentyFour", 10, 0.5, hours(24), std::nullopt,
                    minutes(144)},
        BackoffCase{"FiveMinutesLeftUsesFloor", 10, 0.5, minutes(5), std::nullopt, minutes(1)},
        BackoffCase{"ExpiredUsesPlainCap", 10, 0.5, -hours(1), std::nullopt, hours(24)},
        BackoffCase{"ExpiredShortStreak", 2, 0.5, -hours(1), std::nullopt, minutes(10)},
        // Retry-After is a floor, even beyond the cap and near expiry.
        BackoffCase{"RetryAfterLaterWins", 1, 0.5, std::nullopt, hours(1), hours(1)},
        BackoffCase{"RetryAfterEarlierIgnored", 3, 0.5, std::nullopt, minutes(1), minutes(20)},
        BackoffCase{"RetryAfterBeyondCapHonoured", 10, 0.5, std::nullopt, hours(48), hours(48)},
        BackoffCase{"RetryAfterNearExpiryHonoured", 10, 0.5, hours(2), minutes(30), minutes(30)},
        // ...but never past half the time left while the live version is valid.
        BackoffCase{"RetryAfterPastExpiryBoundedByHalfTheTimeLeft", 1, 0.5, hours(2), hours(3),
                    hours(1)},
        BackoffCase{"RetryAfterOnShortLivedBounded", 1, 0.5, hours(6), hours(24), hours(3)},
        BackoffCase{"RetryAfterOnExpiredNotBounded", 1, 0.5, -hours(1), hours(3), hours(3)},
        // The floor yields in the last two minutes: 30 seconds left waits 15.
        BackoffCase{"ThirtySecondsLeftUndercutsTheFloor", 10, 0.5, seconds(30), std::nullopt,
                    seconds(15)},
        BackoffCase{"RetryAfterInThePastIgnored", 1, 0.5, std::nullopt, -minutes(3), minutes(5)}),
    [](const testing::TestParamInfo<BackoffCase>& info) { return info.param.name; });

TEST(BackoffTest, DelayStaysWithinBoundsForAllInputs) {
  const BackoffPolicy policy;
  const std::optional<Duration> expiries[] = {std::nullopt, -hours(5),     minutes(30),
                                              hours(2),     hours(24 * 3), hours(24 * 60)};
  for (int n = 1; n <= 40; ++n) {
    for (double u : {0.0, 0.1, 0.5, 0.9, 0.999999}) {
      for (const auto& expires_in : expiries) {
        BackoffInput in;
        in.consecutive_failures = n;
        in.now = kBackoffNow;
        if (expires_in) in.not_after = kBackoffNow + *expires_in;
        in.random = FixedBackoffRandom(u);
        const Duration d = BackoffDelay(in);
        EXPECT_GE(d, std::min(policy.floor, expires_in && *expires_in > Duration::zero()
                                                ? *expires_in / 2
                                                : policy.floor))
            << n << " " << u;
        EXPECT_LE(d, policy.cap) << n << " " << u;
        if (expires_in && *expires_in > Duration::zero()) {
          EXPECT_LE(d, std::max(policy.floor, *expires_in / 10)) << n << " " << u;
        }
      }
    }
  }
}

TEST(BackoffTest, GrowsMonotonicallyWithTheStreak) {
  Duration previous = Duration::zero();
  for (int n = 1; n <= 30; ++n) {
    BackoffInput in;
    in.consecutive_failures = n;
    in.now = kBackoffNow;
    in.random = FixedBackoffRandom(0.3);
    const Duration d = BackoffDelay(in);
    EXPECT_GE(d, previous) << n;
    previous = d;
  }
}

TEST(BackoffTest, NearerExpiryNeverWaitsLonger) {
  Duration previous = hours(24);
  for (int hours_left = 48; hours_left >= 1; --hours_left) {
    BackoffInput in;
    in.consecutive_failures = 12;
    in.now = kBackoffNow;
    in.not_after = kBackoffNow + hours(hours_left);
    in.random = FixedBackoffRandom(0.9);
    const Duration d = BackoffDelay(in);
    EXPECT_LE(d, previous) << hours_left << "h left";
    previous = d;
  }
}

TEST(BackoffTest, DrawsRandomnessExactlyOnce) {
  int calls = 0;
  BackoffInput in;
  in.consecutive_failures = 3;
  in.now = kBackoffNow;
  in.random = [&calls]() {
    ++calls;
    return 0.5;
  };
  (void)NextAttemptAfterFailure(in);
  EXPECT_EQ(calls, 1);
}

TEST(BackoffTest, MissingRandomMeansNoJitter) {
  BackoffInput in;
  in.consecutive_failures = 2;
  in.now = kBackoffNow;
  EXPECT_EQ(BackoffDelay(in), minutes(10));
}

TEST(BackoffTest, CustomPolicy) {
  BackoffInput in;
  in.consecutive_failures = 3;
  in.now = kBackoffNow;
  in.random = FixedBackoffRandom(0.5);
  in.policy.base = seconds(30);
  in.policy.factor = 3;
  in.policy.cap = hours(1);
  EXPECT_EQ(BackoffDelay(in), seconds(270));
}

TEST(BackoffTest, SystemRandomIsInUnitInterval) {
  UniformRandom random = SystemUniformRandom();
  for (int i = 0; i < 1000; ++i) {
    double u = random();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

// ---- Short-lived certificates: hours, in steps of minutes --------------------

// For every minute of a 12-hour and a 6-hour certificate's life, every streak
// of failures, every jitter and a Retry-After from none to a day: the next
// attempt is at most half the time left away, so never at or past not_after.
TEST(BackoffShortLivedTest, NextAttemptIsAlwaysWellBeforeExpiry) {
  const std::optional<Duration> retry_afters[] = {std::nullopt, seconds(30), minutes(10),
                                                  hours(2), hours(24)};
  for (Duration lifetime : {hours(12), hours(6)}) {
    const TimePoint not_after = kBackoffNow + lifetime;
    for (Duration t = Duration::zero(); t < lifetime; t += minutes(1)) {
      for (int n : {1, 2, 5, 10, 40}) {
        for (double u : {0.0, 0.5, 0.999999}) {
          for (const auto& retry_after : retry_afters) {
            BackoffInput in;
            in.consecutive_failures = n;
            in.now = kBackoffNow + t;
            in.not_after = not_after;
            if (retry_after) in.retry_after = in.now + *retry_after;
            in.random = FixedBackoffRandom(u);
            const TimePoint next = NextAttemptAfterFailure(in);
            const Duration left = not_after - in.now;
            ASSERT_GT(next, in.now) << FormatDurationHuman(lifetime) << " at " << t.count();
            ASSERT_LE(next - in.now, left / 2)
                << FormatDurationHuman(lifetime) << " at +" << FormatDurationHuman(t) << ", "
                << n << " failures, u " << u;
          }
        }
      }
    }
  }
}

// A renewal that fails at every chance, from the half of a 6-hour lifetime
// on, looked at every minute (a timer that runs each minute): attempts keep
// coming until the very end instead of stopping behind one long delay. With
// base 5m doubling, the retries are capped at a tenth of the time left.
TEST(BackoffShortLivedTest, FailingSixHourCertificateIsRetriedUntilItsLastMinutes) {
  const Duration lifetime = hours(6);
  const TimePoint not_after = kBackoffNow + lifetime;
  TimePoint now = kBackoffNow + lifetime / 2;
  TimePoint next = now;
  int failures = 0;
  TimePoint last_attempt = now;
  std::vector<Duration> gaps;
  for (; now < not_after; now += minutes(1)) {
    if (now < next) continue;
    if (failures > 0) gaps.push_back(now - last_attempt);
    last_attempt = now;
    BackoffInput in;
    in.consecutive_failures = ++failures;
    in.now = now;
    in.not_after = not_after;
    in.random = FixedBackoffRandom(0.99);  // the longest jitter
    next = NextAttemptAfterFailure(in);
    ASSERT_LT(next, not_after) << "attempt " << failures;
  }
  EXPECT_GE(not_after - last_attempt, Duration::zero());
  EXPECT_LE(not_after - last_attempt, minutes(2)) << "last attempt too early";
  // No gap longer than a tenth of the 3 hours left at the first failure
  // (plus the minute of the timer's granularity).
  for (Duration gap : gaps) {
    EXPECT_LE(gap, minutes(18) + minutes(1)) << FormatDurationHuman(gap);
  }
  EXPECT_GE(failures, 20);
}

// 12 hours, failing at 6h and retried on a 5-minute timer: an attempt comes
// in each of the last six 30-minute slices of its life.
TEST(BackoffShortLivedTest, FailingTwelveHourCertificateIsRetriedInEveryHalfHour) {
  const Duration lifetime = hours(12);
  const TimePoint not_after = kBackoffNow + lifetime;
  TimePoint next = kBackoffNow + hours(6);
  int failures = 0;
  std::vector<TimePoint> attempts;
  for (TimePoint now = kBackoffNow + hours(6); now < not_after; now += minutes(5)) {
    if (now < next) continue;
    attempts.push_back(now);
    BackoffInput in;
    in.consecutive_failures = ++failures;
    in.now = now;
    in.not_after = not_after;
    in.random = FixedBackoffRandom(0.5);
    next = NextAttemptAfterFailure(in);
    ASSERT_LT(next, not_after);
  }
  for (int slice = 1; slice <= 6; ++slice) {
    const TimePoint from = not_after - slice * minutes(30);
    const bool any = std::any_of(attempts.begin(), attempts.end(), [&](TimePoint a) {
      return a >= from && a < from + minutes(30);
    });
    EXPECT_TRUE(any) << "no attempt in the slice starting " << FormatDurationHuman(not_after - from)
                     << " before expiry";
  }
}

struct PolicyCase {
  const char* name;
  void (*mutate)(BackoffPolicy&);
  const char* field;  // empty: valid
};

void PrintTo(const PolicyCase& c, std::ostream* os) { *os << c.name; }

class BackoffPolicyTest : public testing::TestWithParam<PolicyCase> {};

TEST_P(BackoffPolicyTest, Validates) {
  const PolicyCase& c = GetParam();
  BackoffPolicy p;
  c.mutate(p);
  Status s = ValidateBackoffPolicy(p);
  if (std::string(c.field).empty()) {
    EXPECT_TRUE(s.ok()) << s.ToString();
  } else {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s.message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fields, BackoffPolicyTest,
    testing::Values(
        PolicyCase{"DefaultsValid", [](BackoffPolicy&) {}, ""},
        PolicyCase{"ZeroBase", [](BackoffPolicy& p) { p.base = Duration::zero(); }, "base"},
        PolicyCase{"ZeroFloor", [](BackoffPolicy& p) { p.floor = Duration::zero(); }, "floor"},
        PolicyCase{"ShrinkingFactor", [](BackoffPolicy& p) { p.factor = 0.5; }, "factor"},
        PolicyCase{"NaNFactor",
                   [](BackoffPolicy& p) { p.factor = std::numeric_limits<double>::quiet_NaN(); },
                   "factor"},
        PolicyCase{"CapBelowBase", [](BackoffPolicy& p) { p.cap = std::chrono::minutes(1); },
                   "cap"},
        PolicyCase{"JitterOne", [](BackoffPolicy& p) { p.jitter = 1.0; }, "jitter"},
        PolicyCase{"FractionZero", [](BackoffPolicy& p) { p.max_fraction_of_time_left = 0; },
                   "max_fraction_of_time_left"},
        PolicyCase{"UntilExpiryOne", [](BackoffPolicy& p) { p.max_fraction_until_expiry = 1; },
                   "max_fraction_until_expiry"}),
    [](const testing::TestParamInfo<PolicyCase>& info) { return info.param.name; });

}  // namespace
}  // namespace certkeeper::lifecycle
