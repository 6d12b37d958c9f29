#include "lifecycle/ca_wait.h"

#include <gtest/gtest.h>

#include "acme/problem.h"

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr Duration kWaitDay = hours(24);
const TimePoint kWaitNow = FromUnixSeconds(1'800'000'000);

TEST(ExpiryMarginTest, TenPercentOrADayBoundedByAThirdOfTheLifetime) {
  struct Case {
    const char* meaning;
    Duration lifetime;
    Duration margin;
  };
  const Case cases[] = {
      {"90 days: 10%", 90 * kWaitDay, 9 * kWaitDay},
      {"1 year: 10%", 365 * kWaitDay, hours(876)},
      {"6 days: one day", 6 * kWaitDay, kWaitDay},
      {"24 hours: a third", kWaitDay, hours(8)},
      {"zero lifetime", Duration::zero(), Duration::zero()},
      {"inverted", -kWaitDay, Duration::zero()},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ExpiryMargin(kWaitNow, kWaitNow + c.lifetime), c.margin) << c.meaning;
    if (c.lifetime > Duration::zero()) {
      EXPECT_EQ(LatestRenewalStart(kWaitNow, kWaitNow + c.lifetime), kWaitNow + c.lifetime - c.margin)
          << c.meaning;
    }
  }
}

TEST(BoundCaWaitTest, AWaitThatRunsIntoExpiryIsFlagged) {
  struct Case {
    const char* meaning;
    Duration wait;                       // from now
    std::optional<Duration> lived;       // since not_before; nullopt: no live version
    std::optional<Duration> left;        // until not_after
    Duration bounded_wait;               // the decision's until - now
    bool runs_into_expiry;
  };
  const Case cases[] = {
      {"no live version: only the week bound", 365 * kWaitDay, std::nullopt, std::nullopt,
       7 * kWaitDay, false},
      {"an hour, 60 of 90 days left", hours(1), 30 * kWaitDay, 60 * kWaitDay, hours(1), false},
      {"a week, 25 of 90 days left", 7 * kWaitDay, 65 * kWaitDay, 25 * kWaitDay, 7 * kWaitDay, false},
      {"a year, 10 of 90 days left", 365 * kWaitDay, 80 * kWaitDay, 10 * kWaitDay, 7 * kWaitDay, true},
      {"ends exactly at the margin", 3 * kWaitDay, 78 * kWaitDay, 12 * kWaitDay, 3 * kWaitDay, false},
      {"ends a second after the margin", 3 * kWaitDay + std::chrono::seconds(1), 78 * kWaitDay,
       12 * kWaitDay, 3 * kWaitDay + std::chrono::seconds(1), true},
      {"already inside the margin", minutes(1), 85 * kWaitDay, 5 * kWaitDay, minutes(1), true},
      {"expired", minutes(1), 91 * kWaitDay, -kWaitDay, minutes(1), true},
      {"6-day certificate, 3 days left, a day's wait", kWaitDay, 3 * kWaitDay, 3 * kWaitDay, kWaitDay, false},
      {"6-day certificate, 3 days left, 3 days' wait", 3 * kWaitDay, 3 * kWaitDay, 3 * kWaitDay, 3 * kWaitDay,
       true},
  };
  for (const Case& c : cases) {
    CaWaitInput in;
    in.now = kWaitNow;
    in.until = kWaitNow + c.wait;
    if (c.lived) in.not_before = kWaitNow - *c.lived;
    if (c.left) in.not_after = kWaitNow + *c.left;
    CaWaitDecision d = BoundCaWait(in);
    EXPECT_EQ(d.until, kWaitNow + c.bounded_wait) << c.meaning;
    EXPECT_EQ(d.runs_into_expiry, c.runs_into_expiry) << c.meaning;
    EXPECT_EQ(d.latest_start.has_value(), c.left.has_value()) << c.meaning;
    if (d.runs_into_expiry) {
      Status s = CaWaitRunsIntoExpiry(d, *in.not_after, "newOrder: rateLimited");
      EXPECT_EQ(s.code(), ErrorCode::kRateLimited) << c.meaning;
      EXPECT_NE(s.message().find("newOrder: rateLimited"), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("asked to wait until " + FormatRfc3339(d.until)),
                std::string::npos)
          << s.message();
      EXPECT_NE(s.message().find(FormatRfc3339(*in.not_after)), std::string::npos)
          << s.message();
      EXPECT_NE(s.hint().find("another CA"), std::string::npos) << s.hint();
      ASSERT_TRUE(s.retry_after().has_value());
      EXPECT_EQ(*s.retry_after(), d.until);
    }
  }
}

TEST(BoundCaWaitTest, NoOverflowForExtremeTimes) {
  CaWaitInput in;
  in.now = kWaitNow;
  in.until = TimePoint::max();
  in.not_before = TimePoint(TimePoint::min().time_since_epoch() / 2);
  in.not_after = TimePoint(TimePoint::max().time_since_epoch() / 2);
  CaWaitDecision d = BoundCaWait(in);
  EXPECT_EQ(d.until, kWaitNow + acme::kMaxRetryAfter);
}

TEST(ClassifyRetryAfterTest, OnlyRateLimitedProblemsAreCaLimits) {
  auto with = [](ErrorCode code, const char* type, std::optional<Duration> after) {
    Status s(code, "x");
    if (type) {
      Problem p;
      p.type = std::string("urn:ietf:params:acme:error:") + type;
      s.WithProblem(p);
    }
    if (after) s.WithRetryAfter(kWaitNow + *after);
    return s;
  };
  struct Case {
    const char* meaning;
    Status error;
    std::optional<Duration> ca_limit;
    std::optional<Duration> floor;
  };
  const Case cases[] = {
      {"rateLimited, an hour", with(ErrorCode::kRateLimited, "rateLimited", hours(1)), hours(1),
       hours(1)},
      {"rateLimited, a year (older parser)", with(ErrorCode::kRateLimited, "rateLimited",
                                                  365 * kWaitDay),
       7 * kWaitDay, 7 * kWaitDay},
      {"503 serverInternal, a day", with(ErrorCode::kUnavailable, "serverInternal", kWaitDay),
       std::nullopt, hours(1)},
      {"503 without a problem, 10 minutes", with(ErrorCode::kUnavailable, nullptr, minutes(10)),
       std::nullopt, minutes(10)},
      {"429 without a problem, a day", with(ErrorCode::kRateLimited, nullptr, kWaitDay),
       std::nullopt, hours(1)},
      {"rateLimited without Retry-After", with(ErrorCode::kRateLimited, "rateLimited",
                                               std::nullopt),
       std::nullopt, std::nullopt},
      {"Retry-After in the past", with(ErrorCode::kRateLimited, "rateLimited", -hours(1)),
       std::nullopt, std::nullopt},
  };
  for (const Case& c : cases) {
    FailureRetryAfter r = ClassifyRetryAfter(c.error, kWaitNow);
    EXPECT_EQ(r.ca_limit_until.has_value(), c.ca_limit.has_value()) << c.meaning;
    if (c.ca_limit && r.ca_limit_until) {
      EXPECT_EQ(*r.ca_limit_until, kWaitNow + *c.ca_limit) << c.meaning;
    }
    EXPECT_EQ(r.backoff_floor.has_value(), c.floor.has_value()) << c.meaning;
    if (c.floor && r.backoff_floor) {
      EXPECT_EQ(*r.backoff_floor, kWaitNow + *c.floor) << c.meaning;
    }
  }
}

}  // namespace
}  // namespace certkeeper::lifecycle
