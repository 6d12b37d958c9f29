#include "challenges/http_request_head.h"

#include <string>

#include <gtest/gtest.h>

namespace certkeeper::challenges {
namespace {

struct HeadCase {
  const char* name;
  std::string input;
  HeadState state;
  const char* method;
  const char* target;
};

class ParseRequestHeadTest : public ::testing::TestWithParam<HeadCase> {};

TEST_P(ParseRequestHeadTest, Parses) {
  const HeadCase& c = GetParam();
  ParsedHead parsed = ParseRequestHead(c.input, 64);
  ASSERT_EQ(parsed.state, c.state) << c.input << " " << parsed.problem;
  if (c.state == HeadState::kMalformed) {
    EXPECT_FALSE(parsed.problem.empty());
  }
  if (c.state != HeadState::kComplete) return;
  EXPECT_EQ(parsed.head.method, c.method);
  EXPECT_EQ(parsed.head.target, c.target);
  EXPECT_LE(parsed.head.length, c.input.size());
}

using S = HeadState;
INSTANTIATE_TEST_SUITE_P(
    Table, ParseRequestHeadTest,
    ::testing::Values(
        HeadCase{"Get", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", S::kComplete, "GET", "/a"},
        HeadCase{"NoHeaders", "HEAD /a HTTP/1.0\r\n\r\n", S::kComplete, "HEAD", "/a"},
        HeadCase{"BareLf", "GET /a HTTP/1.1\nHost: x\n\n", S::kComplete, "GET", "/a"},
        HeadCase{"LeadingEmptyLines", "\r\n\r\nGET /a HTTP/1.1\r\n\r\n", S::kComplete, "GET",
                 "/a"},
        HeadCase{"BodyIgnored", "POST /a HTTP/1.1\r\n\r\nbody", S::kComplete, "POST", "/a"},
        HeadCase{"Empty", "", S::kIncomplete, "", ""},
        HeadCase{"RequestLineOnly", "GET /", S::kIncomplete, "", ""},
        HeadCase{"NoFinalEmptyLine", "GET /a HTTP/1.1\r\nHost: x\r\n", S::kIncomplete, "", ""},
        HeadCase{"EndlessLine", "GET /" + std::string(100, 'a'), S::kTooLarge, "", ""},
        HeadCase{"HeadersOverLimit", "GET / HTTP/1.1\r\n" + std::string(10, 'X') + ": " +
                                         std::string(60, 'y') + "\r\n\r\n",
                 S::kTooLarge, "", ""},
        HeadCase{"EndlessEmptyLines", std::string(100, '\n'), S::kTooLarge, "", ""},
        HeadCase{"TwoSpaces", "GET  /a HTTP/1.1\r\n\r\n", S::kMalformed, "", ""},
        HeadCase{"NoVersion", "GET /a\r\n\r\n", S::kMalformed, "", ""},
        HeadCase{"Http2", "GET /a HTTP/2.0\r\n\r\n", S::kMalformed, "", ""},
        HeadCase{"LowerVersion", "GET /a http/1.1\r\n\r\n", S::kMalformed, "", ""},
        HeadCase{"ControlInTarget", std::string("GET /\x01 HTTP/1.1\r\n\r\n"), S::kMalformed,
                 "", ""},
        HeadCase{"NulInTarget", std::string("GET /\0 HTTP/1.1\r\n\r\n", 20), S::kMalformed,
                 "", ""},
        HeadCase{"BadMethod", "G(T /a HTTP/1.1\r\n\r\n", S::kMalformed, "", ""},
        HeadCase{"SpaceBeforeColon", "GET /a HTTP/1.1\r\nHost : x\r\n\r\n", S::kMalformed, "",
                 ""},
        HeadCase{"NoColon", "GET /a HTTP/1.1\r\nHost\r\n\r\n", S::kMalformed, "", ""},
        HeadCase{"Folding", "GET /a HTTP/1.1\r\nA: b\r\n c\r\n\r\n", S::kMalformed, "", ""},
        HeadCase{"BareCr", "GET /a HTTP/1.1\r\nA: b\rc\r\n\r\n", S::kMalformed, "", ""},
        HeadCase{"ControlInValue", std::string("GET /a HTTP/1.1\r\nA: \x7f\r\n\r\n"),
                 S::kMalformed, "", ""},
        HeadCase{"MalformedBeforeLimit", "GET  /" + std::string(100, 'a'), S::kTooLarge, "",
                 ""}),
    [](const ::testing::TestParamInfo<HeadCase>& info) { return info.param.name; });

TEST(ParseRequestHeadTest, HeadWithinLimitIsCompleteWhateverFollows) {
  std::string head = "GET /a HTTP/1.1\r\n\r\n";
  EXPECT_EQ(ParseRequestHead(head + std::string(1000, 'z'), head.size()).state,
            HeadState::kComplete);
  EXPECT_EQ(ParseRequestHead(head, head.size() - 1).state, HeadState::kTooLarge);
}

TEST(ParseRequestHeadTest, FieldsAreKeptInOrderWithoutSurroundingWhitespace) {
  ParsedHead p = ParseRequestHead(
      "GET /a HTTP/1.1\r\nHost: x\r\nAuthorization:  Bearer t \t\r\nX-Empty:\r\n"
      "authorization: second\r\n\r\n");
  ASSERT_EQ(p.state, HeadState::kComplete);
  ASSERT_EQ(p.head.fields.size(), 4u);
  EXPECT_EQ(p.head.fields[1].first, "Authorization");
  EXPECT_EQ(p.head.fields[1].second, "Bearer t");
  EXPECT_EQ(p.head.fields[2].second, "");
  const std::string* auth = FindField(p.head, "AUTHORIZATION");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(*auth, "Bearer t") << "the first one";
  EXPECT_EQ(FindField(p.head, "Accept"), nullptr);
  EXPECT_EQ(FindField(p.head, "Authorizatio"), nullptr);
}

TEST(TargetPathTest, OriginAndAbsoluteForms) {
  EXPECT_EQ(TargetPath("/a/b?c"), "/a/b");
  EXPECT_EQ(TargetPath("/a"), "/a");
  EXPECT_EQ(TargetPath("http://example.com/a?b"), "/a");
  EXPECT_EQ(TargetPath("HTTP://example.com:80/a"), "/a");
  EXPECT_EQ(TargetPath("http://example.com"), "/");
  EXPECT_EQ(TargetPath("http://example.com?x"), "/");
  EXPECT_EQ(TargetPath("*"), "");
  EXPECT_EQ(TargetPath("example.com:80"), "");
  EXPECT_EQ(TargetPath("ftp://example.com/a"), "");
}

}  // namespace
}  // namespace certkeeper::challenges
