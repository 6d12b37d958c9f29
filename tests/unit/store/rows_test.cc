// How list columns are stored and read back: every list round-trips, and a
// damaged column is an error, never a silently different list.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/internal/rows.h"

namespace certkeeper::store::internal {
namespace {

TEST(StoredListTest, EveryListRoundTrips) {
  const std::vector<std::vector<std::string>> lists = {
      {},
      {"example.com"},
      {"example.com", "www.example.com", "*.example.com", "192.0.2.1"},
      {"quote\"inside", "back\\slash", "tab\there", "line\nbreak"},
      {"b\xc3\xbc" "cher.example", "\xe2\x82\xac"},
      {""},
      {",", "[", "]", "\",\""},
  };
  for (const auto& list : lists) {
    std::string encoded = EncodeList(list);
    auto decoded = DecodeList(encoded, "test");
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, list) << encoded;
  }
}

TEST(StoredListTest, DamagedColumnsAreErrors) {
  for (const char* text : {"", "[", "]", "[\"a\"", "[\"a\",]", "[\"a\",,\"b\"]", "[\"a\"\"b\"]",
                           "[1]", "{\"a\":1}", "[\"a\" , 2]", "[\"a\x01\"]", "[\"\xff\"]",
                           "[\"unterminated]"}) {
    auto decoded = DecodeList(text, "versions.domains");
    EXPECT_FALSE(decoded.ok()) << text;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), ErrorCode::kProtocol) << text;
      EXPECT_NE(decoded.status().message().find("versions.domains"), std::string::npos);
    }
  }
}

TEST(StoredListTest, WhitespaceTheParserAcceptsStillDecodes) {
  auto decoded = DecodeList("[ \"a\" , \"b\" ]", "test");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace certkeeper::store::internal
