#include "lifecycle/ari_window.h"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kAriNow = FromUnixSeconds(1795000000);

UniformRandom FixedAriRandom(double u) {
  return [u]() { return u; };
}

struct ChooseCase {
  const char* name;
  Duration start_in;  // window relative to now
  Duration end_in;
  double random;
  Duration expected_in;  // chosen time relative to now
};

void PrintTo(const ChooseCase& c, std::ostream* os) { *os << c.name; }

class ChooseTest : public testing::TestWithParam<ChooseCase> {};

TEST_P(ChooseTest, PicksInsideTheWindow) {
  const ChooseCase& c = GetParam();
  const AriWindow window{kAriNow + c.start_in, kAriNow + c.end_in};
  const TimePoint chosen = ChooseRenewalTime(window, kAriNow, FixedAriRandom(c.random));
  EXPECT_EQ(chosen - kAriNow, c.expected_in) << FormatRfc3339(chosen);
}

INSTANTIATE_TEST_SUITE_P(
    Windows, ChooseTest,
    testing::Values(
        ChooseCase{"FutureWindowRandomZeroIsStart", hours(24), hours(48), 0.0, hours(24)},
        ChooseCase{"FutureWindowRandomHalfIsMiddle", hours(24), hours(48), 0.5, hours(36)},
        ChooseCase{"FutureWindowQuarter", hours(24), hours(48), 0.25, hours(30)},
        ChooseCase{"OpenWindowMayChooseThePast", -hours(10), hours(10), 0.25, -hours(5)},
        ChooseCase{"PastWindowMeansNow", -hours(48), -hours(24), 0.5, Duration::zero()},
        ChooseCase{"WindowEndingNowMeansNow", -hours(2), Duration::zero(), 0.5, Duration::zero()},
        ChooseCase{"NegativeRandomClampedToStart", hours(1), hours(2), -0.5, hours(1)},
        ChooseCase{"EmptyWindowGivesStart", hours(5), hours(5), 0.5, hours(5)},
        ChooseCase{"InvertedWindowGivesStart", hours(5), hours(3), 0.5, hours(5)}),
    [](const testing::TestParamInfo<ChooseCase>& info) { return info.param.name; });

TEST(ChooseTest, NeverReachesTheEnd) {
  const AriWindow window{kAriNow + hours(1), kAriNow + hours(1) + seconds(3)};
  for (double u : {0.999999999999, 1.0, 2.0}) {
    const TimePoint chosen = ChooseRenewalTime(window, kAriNow, FixedAriRandom(u));
    EXPECT_LT(chosen, window.end) << u;
    EXPECT_GE(chosen, window.start) << u;
  }
}

TEST(ChooseTest, SpreadsAcrossTheWindow) {
  // With the real source, 400 draws over a two-day window land in all four
  // quarters: a constant or broken source would not.
  const AriWindow window{kAriNow + hours(24), kAriNow + hours(72)};
  UniformRandom random = SystemUniformRandom();
  bool seen[4] = {false, false, false, false};
  for (int i = 0; i < 400; ++i) {
    const TimePoint chosen = ChooseRenewalTime(window, kAriNow, random);
    ASSERT_GE(chosen, window.start);
    ASSERT_LT(chosen, window.end);
    seen[(chosen - window.start) / hours(12)] = true;
  }
  for (int q = 0; q < 4; ++q) EXPECT_TRUE(seen[q]) << "quarter " << q;
}

TEST(ValidateAriWindowTest, RejectsEmptyWindow) {
  EXPECT_TRUE(ValidateAriWindow({kAriNow, kAriNow + hours(1)}, "https://ca/renewal-info/x").ok());
  Status s = ValidateAriWindow({kAriNow, kAriNow}, "https://ca/renewal-info/x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kProtocol);
  EXPECT_EQ(s.where(), "https://ca/renewal-info/x");
  EXPECT_FALSE(ValidateAriWindow({kAriNow + hours(1), kAriNow}, "u").ok());
}

struct FetchCase {
  const char* name;
  std::optional<Duration> retry_after_in;
  Duration expected_in;
};

void PrintTo(const FetchCase& c, std::ostream* os) { *os << c.name; }

class NextFetchTest : public testing::TestWithParam<FetchCase> {};

TEST_P(NextFetchTest, HonoursRetryAfterWithinBounds) {
  const FetchCase& c = GetParam();
  std::optional<TimePoint> retry_after;
  if (c.retry_after_in) retry_after = kAriNow + *c.retry_after_in;
  EXPECT_EQ(NextAriFetch(kAriNow, retry_after) - kAriNow, c.expected_in);
}

INSTANTIATE_TEST_SUITE_P(
    RetryAfter, NextFetchTest,
    testing::Values(FetchCase{"NoRetryAfterUsesSixHours", std::nullopt, hours(6)},
                    FetchCase{"RetryAfterTwoHoursHonoured", hours(2), hours(2)},
                    FetchCase{"RetryAfterTwelveHoursHonoured", hours(12), hours(12)},
                    FetchCase{"RetryAfterThreeDaysCappedAtOneDay", hours(72), hours(24)},
                    FetchCase{"RetryAfterZeroRaisedToOneMinute", Duration::zero(), minutes(1)},
                    FetchCase{"RetryAfterInThePastRaisedToOneMinute", -hours(1), minutes(1)}),
    [](const testing::TestParamInfo<FetchCase>& info) { return info.param.name; });

TEST(NextFetchTest, CustomPolicy) {
  AriRefetchPolicy policy;
  policy.default_interval = hours(1);
  policy.max_interval = hours(2);
  EXPECT_EQ(NextAriFetch(kAriNow, std::nullopt, policy), kAriNow + hours(1));
  EXPECT_EQ(NextAriFetch(kAriNow, kAriNow + hours(5), policy), kAriNow + hours(2));
}

}  // namespace
}  // namespace certkeeper::lifecycle
