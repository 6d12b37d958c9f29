#include "base/clock.h"

#include <ctime>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace certkeeper {
namespace {

TEST(Rfc3339, FormatsUtcWithZ) {
  EXPECT_EQ(FormatRfc3339(FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(FromUnixSeconds(1795512818)), "2026-11-24T09:33:38Z");
}

// The formatting without strftime gives strftime's text, across leap years,
// month ends, the epoch, times before it and the last second of a day.
TEST(Rfc3339, FormatsAsStrftimeDoes) {
  std::vector<int64_t> secs = {0, -1, -86400, -86401, 951782399, 951782400, 951868800,
                               4107542399, 1795512818};
  for (int64_t s = -2'000'000'000; s < 7'000'000'000; s += 86'399 * 37 + 12'345) secs.push_back(s);
  for (int64_t s : secs) {
    time_t t = static_cast<time_t>(s);
    struct tm tm_utc;
    ASSERT_NE(gmtime_r(&t, &tm_utc), nullptr);
    char buf[40];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
    EXPECT_EQ(FormatRfc3339(FromUnixSeconds(s)), buf) << s;
  }
  // Sub-second parts are cut as the general path cuts them.
  EXPECT_EQ(FormatRfc3339(FromUnixSeconds(59) + std::chrono::milliseconds(999)),
            "1970-01-01T00:00:59Z");
}

// Text built in place (a due reason, a table cell) keeps what came before,
// on both the fast path and strftime's.
TEST(Rfc3339, AppendsAfterTheTextBefore) {
  std::string out = "renews from ";
  AppendRfc3339(out, FromUnixSeconds(1795512818));
  EXPECT_EQ(out, "renews from 2026-11-24T09:33:38Z");
  out += ", then ";
  AppendRfc3339(out, FromUnixSeconds(-1));
  EXPECT_EQ(out, "renews from 2026-11-24T09:33:38Z, then 1969-12-31T23:59:59Z");
  std::string alone;
  AppendRfc3339(alone, FromUnixSeconds(0));
  EXPECT_EQ(alone, FormatRfc3339(FromUnixSeconds(0)));
  EXPECT_EQ(alone.size(), 20u);
}

TEST(Rfc3339, ParsesForms) {
  struct Case {
    const char* text;
    int64_t unix_seconds;
  } cases[] = {
      {"2026-11-24T09:33:38Z", 1795512818},
      {"2026-11-24T09:33:38.123456789Z", 1795512818},
      {"2026-11-24T10:33:38+01:00", 1795512818},
      {"2026-11-24T08:33:38-01:00", 1795512818},
      {"2026-11-24t09:33:38z", 1795512818},
  };
  for (const auto& c : cases) {
    auto t = ParseRfc3339(c.text);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status().ToString();
    EXPECT_EQ(ToUnixSeconds(*t), c.unix_seconds) << c.text;
  }
}

TEST(Rfc3339, RejectsGarbage) {
  for (const char* text : {"", "2026-11-24", "2026-13-24T00:00:00Z", "2026-11-24T09:33:38",
                           "2026-11-24T09:33:38Zjunk", "yesterday", "2026-11-24T09:33:38."}) {
    EXPECT_FALSE(ParseRfc3339(text).ok()) << text;
  }
}

// TimePoint ends in 2262: a later year (an ACME "expires" of 9999, say) used to
// overflow the conversion to nanoseconds instead of being rejected.
TEST(Rfc3339, RejectsYearsATimePointCannotHold) {
  for (const char* text : {"9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z", "3026-11-24T09:33:38Z",
                           "1677-01-01T00:00:00Z", "0000-01-01T00:00:00+01:00",
                           // found by order_fuzz and renewal_info_fuzz
                           "1013-12-02T10:02:21Z", "1013-12-20T10:02:21.5+02:00"}) {
    auto t = ParseRfc3339(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_NE(t.status().message().find("outside the years"), std::string::npos) << text;
  }
  auto last = ParseRfc3339("2261-12-31T23:59:59Z");
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(FormatRfc3339(*last), "2261-12-31T23:59:59Z");
}

// 1e9 days used to overflow Duration (nanoseconds in 64 bits).
TEST(Duration, RejectsDurationsADurationCannotHold) {
  for (const char* text : {"1000000000d", "100000000d", "1000000000h", "36600d",
                           // found by config_fuzz (propagation_timeout)
                           "00000000000000000000000000000000798735813m"}) {
    auto d = ParseDuration(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_NE(d.status().message().find("longer than 100 years"), std::string::npos) << text;
  }
  EXPECT_EQ(*ParseDuration("36500d"), std::chrono::duration_cast<Duration>(kMaxDuration));
  EXPECT_TRUE(ParseDuration("1000000000s").ok());
}

TEST(Duration, ParsesUnits) {
  using namespace std::chrono;
  EXPECT_EQ(*ParseDuration("120s"), duration_cast<Duration>(seconds(120)));
  EXPECT_EQ(*ParseDuration("2m"), duration_cast<Duration>(seconds(120)));
  EXPECT_EQ(*ParseDuration("3h"), duration_cast<Duration>(hours(3)));
  EXPECT_EQ(*ParseDuration("30d"), duration_cast<Duration>(hours(720)));
  EXPECT_EQ(*ParseDuration("45"), duration_cast<Duration>(seconds(45)));
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("2 weeks").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
}

TEST(FakeClock, AdvancesOnlyWhenTold) {
  FakeClock clock(FromUnixSeconds(1000));
  EXPECT_EQ(ToUnixSeconds(clock.Now()), 1000);
  clock.SleepFor(std::chrono::seconds(5));
  EXPECT_EQ(ToUnixSeconds(clock.Now()), 1005);
}

TEST(FormatDurationHuman, Readable) {
  using namespace std::chrono;
  EXPECT_EQ(FormatDurationHuman(hours(24 * 3 + 4)), "3d 4h");
  EXPECT_EQ(FormatDurationHuman(minutes(12)), "12m");
  EXPECT_EQ(FormatDurationHuman(seconds(8)), "8s");
  EXPECT_EQ(FormatDurationHuman(hours(24 * 59)), "59d");
  EXPECT_EQ(FormatDurationHuman(hours(2) + minutes(5) + seconds(9)), "2h 5m");
  EXPECT_EQ(FormatDurationHuman(hours(1)), "1h 0m");
  EXPECT_EQ(FormatDurationHuman(seconds(0)), "0s");
  EXPECT_EQ(FormatDurationHuman(-hours(50)), "-2d 2h");
  EXPECT_EQ(FormatDurationHuman(-seconds(59)), "-59s");
}

TEST(FormatDurationHuman, AppendsAfterTheTextBefore) {
  using namespace std::chrono;
  std::string out = "valid for ";
  AppendDurationHuman(out, hours(24 * 88 + 23));
  EXPECT_EQ(out, "valid for 88d 23h");
  out += ", late by ";
  AppendDurationHuman(out, -minutes(7));
  EXPECT_EQ(out, "valid for 88d 23h, late by -7m");
}

}  // namespace
}  // namespace certkeeper
