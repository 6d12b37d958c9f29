// The settled record's line and digest (lifecycle/settled_record.h).
#include "lifecycle/settled_record.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace certkeeper::lifecycle {
namespace {

std::map<std::string, store::CurrentVersions> Versions(
    std::initializer_list<std::pair<const char*, int>> live) {
  std::map<std::string, store::CurrentVersions> all;
  for (const auto& [name, n] : live) {
    store::CurrentVersions& c = all[name];
    if (n > 0) {
      store::Version v;
      v.certificate = name;
      v.n = n;
      c.live = v;
      c.latest = v;
    }
  }
  return all;
}

SettledRecord SettledSample() {
  SettledRecord r;
  r.live = {2049, 1234567, 1764662400123456789, 1764662400987654321};
  r.digest = LiveVersionsDigest(Versions({{"web", 3}, {"mail", 1}}));
  return r;
}

TEST(SettledRecordTest, RoundTrips) {
  const SettledRecord r = SettledSample();
  const std::string line = FormatSettledRecord(r);
  EXPECT_EQ(line.back(), '\n');
  std::optional<SettledRecord> parsed = ParseSettledRecord(line);
  ASSERT_TRUE(parsed.has_value()) << line;
  EXPECT_EQ(*parsed, r);
}

TEST(SettledRecordTest, AnythingElseIsNoRecord) {
  const std::string line = FormatSettledRecord(SettledSample());
  EXPECT_FALSE(ParseSettledRecord(""));
  EXPECT_FALSE(ParseSettledRecord(line.substr(0, line.size() - 1)));  // torn: no newline
  EXPECT_FALSE(ParseSettledRecord(line.substr(0, line.size() / 2) + "\n"));
  EXPECT_FALSE(ParseSettledRecord(std::string(line.size(), '\0')));  // zeros after a crash
  EXPECT_FALSE(ParseSettledRecord(line + line));
  std::string other = line;
  other[other.find(" 1 ") + 1] = '2';  // another format version
  EXPECT_FALSE(ParseSettledRecord(other));
  std::string upper = line;
  upper[upper.size() - 2] = 'G';
  EXPECT_FALSE(ParseSettledRecord(upper));
  std::string negative = line;
  negative.insert(negative.find(" 2049") + 1, "-");
  EXPECT_FALSE(ParseSettledRecord(negative));
  std::string spaces = line;
  spaces.insert(spaces.find(" 2049"), " ");
  EXPECT_FALSE(ParseSettledRecord(spaces));
}

TEST(SettledRecordTest, TheDigestFollowsEveryLiveVersion) {
  const std::string base = LiveVersionsDigest(Versions({{"a", 1}, {"b", 2}}));
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(base, LiveVersionsDigest(Versions({{"b", 2}, {"a", 1}})));
  EXPECT_NE(base, LiveVersionsDigest(Versions({{"a", 1}, {"b", 3}})));
  EXPECT_NE(base, LiveVersionsDigest(Versions({{"a", 1}, {"b", 0}})));
  EXPECT_NE(base, LiveVersionsDigest(Versions({{"a", 1}})));
  EXPECT_NE(base, LiveVersionsDigest(Versions({{"a", 1}, {"b", 2}, {"c", 0}})));
  // Names cannot run into the numbers: "a1" live 2 is not "a" live 12.
  EXPECT_NE(LiveVersionsDigest(Versions({{"a1", 2}})), LiveVersionsDigest(Versions({{"a", 12}})));
}

}  // namespace
}  // namespace certkeeper::lifecycle
