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

// Lists are read from views into a row (Statement::TextView): the view's
// bytes alone count, not what follows them in memory.
TEST(StoredListTest, AViewIsDecodedWithoutTheBytesAfterIt) {
  const std::string row = "[\"a.example\",\"b.example\"],\"c\"]";
  auto decoded = DecodeList(std::string_view(row).substr(0, 25), "test");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, (std::vector<std::string>{"a.example", "b.example"}));
  // Read to its end, `["a]","b"]` is a list; its first four bytes are not.
  EXPECT_FALSE(DecodeList(std::string_view("[\"a]\",\"b\"]").substr(0, 4), "test").ok());
  auto fallback = DecodeList(std::string_view("[\"q\\\"x\"] junk").substr(0, 8), "test");
  ASSERT_TRUE(fallback.ok()) << fallback.status().ToString();
  EXPECT_EQ(*fallback, (std::vector<std::string>{"q\"x"}));
}

// Each item is checked where it is split: a control character, an invalid
// UTF-8 sequence or a stray quote in any item (not only the first) is damage.
TEST(StoredListTest, EveryItemIsChecked) {
  for (const char* text : {"[\"a\",\"b\x01\"]", "[\"a\",\"\xc3\"]", "[\"a\",\"b\"\"c\"]",
                           "[\"a\",\"b\",]"}) {
    EXPECT_FALSE(DecodeList(text, "test").ok()) << text;
  }
  auto mixed = DecodeList("[\"a\",\"b\xc3\xbc\",\"\"]", "test");
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(*mixed, (std::vector<std::string>{"a", "b\xc3\xbc", ""}));
}

TEST(StoredListTest, WhitespaceTheParserAcceptsStillDecodes) {
  auto decoded = DecodeList("[ \"a\" , \"b\" ]", "test");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace certkeeper::store::internal
