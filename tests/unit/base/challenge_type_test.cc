#include "base/challenge_type.h"

#include <gtest/gtest.h>

namespace certkeeper {
namespace {

TEST(ChallengeType, NamesAreTheWireNames) {
  EXPECT_EQ(ChallengeTypeName(ChallengeType::kHttp01), "http-01");
  EXPECT_EQ(ChallengeTypeName(ChallengeType::kDns01), "dns-01");
  EXPECT_EQ(ChallengeTypeName(ChallengeType::kTlsAlpn01), "tls-alpn-01");
}

TEST(ChallengeType, EveryTypeParsesBackFromItsName) {
  for (ChallengeType type : kChallengeTypes) {
    auto parsed = ParseChallengeType(ChallengeTypeName(type));
    ASSERT_TRUE(parsed.has_value()) << ChallengeTypeName(type);
    EXPECT_EQ(*parsed, type);
  }
}

TEST(ChallengeType, DefaultOrderIsHttpDnsTlsAlpn) {
  ASSERT_EQ(kChallengeTypes.size(), 3u);
  EXPECT_EQ(kChallengeTypes[0], ChallengeType::kHttp01);
  EXPECT_EQ(kChallengeTypes[1], ChallengeType::kDns01);
  EXPECT_EQ(kChallengeTypes[2], ChallengeType::kTlsAlpn01);
  EXPECT_EQ(ChallengeTypeList(), "http-01, dns-01 and tls-alpn-01");
}

struct NotAType {
  const char* meaning;
  std::string_view text;
};

TEST(ChallengeType, OnlyTheExactNamesParse) {
  const NotAType cases[] = {
      {"empty", ""},
      {"upper case", "HTTP-01"},
      {"mixed case", "Dns-01"},
      {"leading space", " http-01"},
      {"trailing space", "dns-01 "},
      {"a prefix of a name", "tls-alpn"},
      {"a name with a suffix", "http-01x"},
      {"an unsupported type", "tls-sni-01"},
      {"an embedded NUL", std::string_view("dns-01\0", 7)},
  };
  for (const NotAType& c : cases) {
    EXPECT_FALSE(ParseChallengeType(c.text).has_value()) << c.meaning;
  }
}

}  // namespace
}  // namespace certkeeper
