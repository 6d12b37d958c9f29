#include "acme/problem.h"

#include <gtest/gtest.h>

#include "acme/internal/json_fields.h"
#include "acme/resources.h"
#include "base/text.h"

namespace certkeeper::acme {
namespace {

using nlohmann::json;
using std::chrono::seconds;

TEST(ParseProblemTest, ReadsTypeDetailStatusAndSubproblems) {
  json doc = json::parse(R"({
    "type": "urn:ietf:params:acme:error:malformed",
    "detail": "Some of the identifiers requested were rejected",
    "status": 400,
    "subproblems": [
      {"type": "urn:ietf:params:acme:error:malformed",
       "detail": "Invalid underscore in DNS name \"_example.org\"",
       "identifier": {"type": "dns", "value": "_example.org"}},
      {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
       "detail": "This CA will not issue for \"example.net\"",
       "identifier": {"type": "dns", "value": "example.net"}, "status": 403}
    ]})");
  auto p = ParseProblem(doc, 499);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->ShortType(), "malformed");
  EXPECT_EQ(p->status, 400);
  EXPECT_EQ(p->detail, "Some of the identifiers requested were rejected");
  ASSERT_EQ(p->subproblems.size(), 2u);
  EXPECT_EQ(p->subproblems[0].identifier, "_example.org");
  EXPECT_EQ(p->subproblems[0].status, 400);  // inherited
  EXPECT_TRUE(p->subproblems[1].Is("rejectedIdentifier"));
  EXPECT_EQ(p->subproblems[1].identifier, "example.net");
  EXPECT_EQ(p->subproblems[1].status, 403);
}

TEST(ParseProblemTest, StatusFallsBackToHttpStatus) {
  auto p = ParseProblem(json{{"type", "urn:ietf:params:acme:error:badNonce"}}, 400);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->status, 400);
  EXPECT_TRUE(p->Is("badNonce"));
}

TEST(ParseProblemTest, RejectsWrongTypes) {
  EXPECT_FALSE(ParseProblem(json::array(), 400).ok());
  EXPECT_FALSE(ParseProblem(json{{"type", 5}}, 400).ok());
  EXPECT_FALSE(ParseProblem(json{{"status", "400"}}, 400).ok());
  EXPECT_FALSE(ParseProblem(json{{"subproblems", json::object()}}, 400).ok());
}

struct RetryAfterCase {
  const char* name;
  const char* value;
  std::optional<int64_t> expected_unix;  // nullopt: rejected
};

class RetryAfterTest : public ::testing::TestWithParam<RetryAfterCase> {};

TEST_P(RetryAfterTest, Parses) {
  const TimePoint now = FromUnixSeconds(1'000'000'000);
  auto t = ParseRetryAfter(GetParam().value, now);
  if (!GetParam().expected_unix) {
    EXPECT_FALSE(t.has_value());
    return;
  }
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(ToUnixSeconds(*t), *GetParam().expected_unix);
}

// now = 2001-09-09T01:46:40Z; kWeek = the protocol-layer bound.
constexpr int64_t kNowUnix = 1'000'000'000;
constexpr int64_t kWeek = 7 * 86400;

INSTANTIATE_TEST_SUITE_P(
    Forms, RetryAfterTest,
    ::testing::Values(
        RetryAfterCase{"DeltaSeconds", "120", kNowUnix + 120},
        RetryAfterCase{"DeltaWithSpaces", " 5 ", kNowUnix + 5},
        RetryAfterCase{"Zero", "0", kNowUnix},
        RetryAfterCase{"DeltaJustUnderAWeek", "604799", kNowUnix + kWeek - 1},
        RetryAfterCase{"DeltaOfAYearIsAWeek", "31536000", kNowUnix + kWeek},
        RetryAfterCase{"HugeDeltaIsAWeek", "99999999999", kNowUnix + kWeek},
        RetryAfterCase{"FortyDigitsIsAWeek", "9999999999999999999999999999999999999999",
                       kNowUnix + kWeek},
        RetryAfterCase{"ImfFixdate", "Mon, 10 Sep 2001 01:46:40 GMT", kNowUnix + 86400},
        RetryAfterCase{"Rfc850", "Monday, 10-Sep-01 01:46:40 GMT", kNowUnix + 86400},
        RetryAfterCase{"Asctime", "Mon Sep 10 01:46:40 2001", kNowUnix + 86400},
        RetryAfterCase{"AsctimeOneDigitDay", "Sun Sep  9 02:46:40 2001", kNowUnix + 3600},
        RetryAfterCase{"LeapDay", "Tue, 29 Feb 2000 00:00:00 GMT", kNowUnix},
        RetryAfterCase{"PastDateIsNow", "Sun, 06 Nov 1994 08:49:37 GMT", kNowUnix},
        RetryAfterCase{"PastRfc850IsNow", "Sunday, 06-Nov-94 08:49:37 GMT", kNowUnix},
        RetryAfterCase{"PastAsctimeIsNow", "Sun Nov  6 08:49:37 1994", kNowUnix},
        RetryAfterCase{"Year2100IsAWeek", "Fri, 01 Jan 2100 00:00:00 GMT", kNowUnix + kWeek},
        RetryAfterCase{"After2262IsAWeek", "Sat, 01 Jan 2263 00:00:00 GMT", kNowUnix + kWeek},
        RetryAfterCase{"Year9999IsAWeek", "Fri, 31 Dec 9999 23:59:59 GMT", kNowUnix + kWeek},
        RetryAfterCase{"Year10000", "Sat, 01 Jan 10000 00:00:00 GMT", std::nullopt},
        RetryAfterCase{"Year1899", "Sun, 31 Dec 1899 00:00:00 GMT", std::nullopt},
        RetryAfterCase{"NoLeapDay", "Wed, 29 Feb 2001 00:00:00 GMT", std::nullopt},
        RetryAfterCase{"Day31OfApril", "Tue, 31 Apr 2001 00:00:00 GMT", std::nullopt},
        RetryAfterCase{"Hour24", "Mon, 10 Sep 2001 24:00:00 GMT", std::nullopt},
        RetryAfterCase{"NegativeDay", "Mon, -1 Sep 2001 00:00:00 GMT", std::nullopt},
        RetryAfterCase{"TrailingText", "Mon, 10 Sep 2001 01:46:40 GMT x", std::nullopt},
        RetryAfterCase{"Negative", "-5", std::nullopt},
        RetryAfterCase{"Fraction", "1.5", std::nullopt},
        RetryAfterCase{"DigitsThenText", "120s", std::nullopt},
        RetryAfterCase{"Garbage", "soon", std::nullopt},
        RetryAfterCase{"NotGmt", "Sun, 06 Nov 1994 08:49:37 PST", std::nullopt},
        RetryAfterCase{"BadMonth", "Sun, 06 Foo 1994 08:49:37 GMT", std::nullopt},
        // A TimePoint ends in 2262; converting a later date used to overflow.
        // (found by http_headers_fuzz)
        RetryAfterCase{"DateAfter2261", "Sun, 06 Nov 9914 08:49:37 GMT", kNowUnix + kWeek},
        RetryAfterCase{"AsctimeAfter2261", "Sun Nov  6 08:49:37 2263", kNowUnix + kWeek},
        RetryAfterCase{"Empty", "", std::nullopt}),
    [](const ::testing::TestParamInfo<RetryAfterCase>& info) { return info.param.name; });

// Whatever the CA sends, the wait lies in [now, now + kMaxRetryAfter], also
// with "now" late in the representable range.
TEST(RetryAfterBoundTest, NeverBeyondAWeekNorBeforeNow) {
  const char* values[] = {"0", "604800", "18446744073709551616", "99999999999999999999",
                          "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
                          "Sat, 01 Jan 2263 00:00:00 GMT"};
  for (TimePoint now : {FromUnixSeconds(1'000'000'000), FromUnixSeconds(9'000'000'000)}) {
    for (const char* v : values) {
      auto t = ParseRetryAfter(v, now);
      ASSERT_TRUE(t.has_value()) << v;
      EXPECT_GE(*t, now) << v;
      EXPECT_LE(*t, now + kMaxRetryAfter) << v;
    }
  }
}

// A document of `levels` nested subproblems, as text.
std::string NestedProblem(int levels) {
  std::string open = R"({"type":"urn:ietf:params:acme:error:malformed","subproblems":[)";
  std::string text;
  text.reserve(static_cast<size_t>(levels) * (open.size() + 2) + 64);
  for (int i = 0; i < levels; ++i) text += open;
  text += R"({"type":"urn:ietf:params:acme:error:malformed"})";
  for (int i = 0; i < levels; ++i) text += "]}";
  return text;
}

TEST(ParseProblemTest, DeeplyNestedSubproblemsAreRefusedNotACrash) {
  const std::string text = NestedProblem(25'000);
  EXPECT_GT(text.size(), 1'000'000u);
  // nlohmann's parser is iterative; the walk over the parsed value is not.
  json doc = json::parse(text, nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  auto p = ParseProblem(doc, 400);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(p.status().message().find("nested deeper"), std::string::npos)
      << p.status().message();

  // A body from the CA is refused before it is parsed.
  HttpResponse r;
  r.status = 400;
  r.headers.Add("Content-Type", "application/problem+json");
  r.body = text;
  Status s = ErrorResponseStatus("POST newOrder", "https://ca.test/new-order", r,
                                 FromUnixSeconds(2'000'000'000));
  EXPECT_EQ(s.code(), ErrorCode::kProtocol);
  EXPECT_NE(s.message().find("nested deeper"), std::string::npos) << s.message();
  EXPECT_EQ(s.problem(), nullptr);
  auto body = internal::ParseJsonText(text);
  EXPECT_FALSE(body.ok());
}

TEST(ParseProblemTest, SubproblemsUpToTheBoundsAreRead) {
  auto shallow = ParseProblem(json::parse(NestedProblem(kMaxSubproblemDepth)), 400);
  ASSERT_TRUE(shallow.ok()) << shallow.status().ToString();
  EXPECT_FALSE(ParseProblem(json::parse(NestedProblem(kMaxSubproblemDepth + 1)), 400).ok());

  json flat = {{"type", "urn:ietf:params:acme:error:rejectedIdentifier"},
               {"subproblems", json::array()}};
  for (size_t i = 0; i < kMaxSubproblems; ++i) {
    flat["subproblems"].push_back(
        {{"type", "urn:ietf:params:acme:error:rejectedIdentifier"},
         {"identifier", {{"type", "dns"}, {"value", "n" + std::to_string(i) + ".example"}}}});
  }
  auto at_bound = ParseProblem(flat, 400);
  ASSERT_TRUE(at_bound.ok()) << at_bound.status().ToString();
  EXPECT_EQ(at_bound->subproblems.size(), kMaxSubproblems);
}

TEST(ParseProblemTest, TenThousandSubproblemsAreRefused) {
  std::string text = R"({"type":"urn:ietf:params:acme:error:malformed","subproblems":[)";
  for (int i = 0; i < 10'000; ++i) {
    text += (i ? "," : "");
    text += R"({"type":"urn:ietf:params:acme:error:malformed","detail":"x"})";
  }
  text += "]}";
  auto p = ParseProblem(json::parse(text), 400);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(p.status().message().find("subproblems"), std::string::npos)
      << p.status().message();
}

TEST(ParseJsonTextTest, NestingIsBoundedOutsideStringsOnly) {
  std::string deep(internal::kMaxJsonDepth, '[');
  deep += std::string(internal::kMaxJsonDepth, ']');
  EXPECT_TRUE(internal::ParseJsonText(deep).ok());
  EXPECT_FALSE(internal::ParseJsonText("[" + deep + "]").ok());
  // Brackets (and escaped quotes) inside strings are text.
  std::string in_string = R"({"detail":"\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})";
  EXPECT_TRUE(internal::ParseJsonText(in_string).ok());
  EXPECT_FALSE(internal::ParseJsonText("{\"a\":").ok());
}

HttpResponse MakeResponse(int status, std::string content_type, std::string body,
                          std::string retry_after = "") {
  HttpResponse r;
  r.status = status;
  if (!content_type.empty()) r.headers.Add("Content-Type", content_type);
  if (!retry_after.empty()) r.headers.Add("Retry-After", retry_after);
  r.body = std::move(body);
  return r;
}

TEST(ErrorResponseStatusTest, RateLimitedByTypeOrStatus) {
  const TimePoint now = FromUnixSeconds(2'000'000'000);
  Status s = ErrorResponseStatus(
      "POST newOrder", "https://ca.test/new-order",
      MakeResponse(429, "application/problem+json",
                   R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"slow down"})",
                   "3600"),
      now);
  EXPECT_EQ(s.code(), ErrorCode::kRateLimited);
  ASSERT_TRUE(s.retry_after().has_value());
  EXPECT_EQ(ToUnixSeconds(*s.retry_after()), 2'000'003'600);
  ASSERT_NE(s.problem(), nullptr);
  EXPECT_EQ(s.problem()->detail, "slow down");
  ASSERT_TRUE(s.problem()->retry_after.has_value());
  EXPECT_EQ(s.where(), "https://ca.test/new-order");

  Status type_only = ErrorResponseStatus(
      "x", "u",
      MakeResponse(403, "application/problem+json",
                   R"({"type":"urn:ietf:params:acme:error:rateLimited"})"),
      now);
  EXPECT_EQ(type_only.code(), ErrorCode::kRateLimited);
  EXPECT_FALSE(type_only.retry_after().has_value());

  Status status_only = ErrorResponseStatus("x", "u", MakeResponse(429, "text/html", "<b>"),
                                           now);
  EXPECT_EQ(status_only.code(), ErrorCode::kRateLimited);
}

TEST(ErrorResponseStatusTest, ServerErrorsAreUnavailableOthersAcmeOrProtocol) {
  const TimePoint now = FromUnixSeconds(2'000'000'000);
  Status unavailable = ErrorResponseStatus(
      "x", "u",
      MakeResponse(503, "text/plain", "maintenance", "Sun, 06 Nov 2033 08:49:37 GMT"), now);
  EXPECT_EQ(unavailable.code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(unavailable.retry_after().has_value());

  Status acme = ErrorResponseStatus(
      "x", "u",
      MakeResponse(403, "application/problem+json",
                   R"({"type":"urn:ietf:params:acme:error:unauthorized","detail":"no"})"),
      now);
  EXPECT_EQ(acme.code(), ErrorCode::kAcme);
  EXPECT_TRUE(acme.problem()->Is("unauthorized"));
  EXPECT_NE(acme.message().find("unauthorized"), std::string::npos);

  Status protocol = ErrorResponseStatus("x", "u", MakeResponse(404, "text/html", "nope"),
                                        now);
  EXPECT_EQ(protocol.code(), ErrorCode::kProtocol);
  EXPECT_NE(protocol.message().find("text/html"), std::string::npos);
}

// A header from the CA (or a proxy in front of it) ends up in a one-line
// error message and in the inventory: a CR LF must not start a new line there,
// nor a stray byte make the stored text invalid UTF-8.
TEST(ErrorResponseStatusTest, ContentTypeIsQuotedOnOneLineAsBoundedUtf8) {
  const TimePoint now = FromUnixSeconds(2'000'000'000);
  Status s = ErrorResponseStatus(
      "POST newOrder", "https://ca.test/new-order",
      MakeResponse(500, "text/html\r\nX: \xff" + std::string(100'000, 'a'), "<html>"), now);
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  const std::string& m = s.message();
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_EQ(m.find('\r'), std::string::npos) << m;
  EXPECT_TRUE(IsValidUtf8(m)) << m;
  EXPECT_LE(m.size(), 200u) << m;
  EXPECT_NE(m.find("\"text/html\\r\\nX: "), std::string::npos) << m;
  EXPECT_NE(m.find("\xe2\x80\xa6\")"), std::string::npos) << m;  // "…" marks the cut

  Result<json> body = internal::ParseJsonBody(MakeResponse(200, "text/html\r\nX: \xff", "{}"),
                                              "https://ca.test/dir");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().message().find('\n'), std::string::npos);
  EXPECT_TRUE(IsValidUtf8(body.status().message())) << body.status().message();
}

TEST(ParseProblemTest, MegabyteTextIsCutOnACharacterBoundary) {
  std::string detail = "head ";
  while (detail.size() < 1024 * 1024) detail += "\xc3\xa9";  // é, two bytes
  std::string long_name(1024 * 1024, 'x');
  json doc{{"type", "urn:ietf:params:acme:error:" + long_name},
           {"detail", detail},
           {"subproblems",
            json::array({json{{"detail", detail},
                              {"identifier", {{"type", "dns"}, {"value", long_name}}}}})}};
  auto p = ParseProblem(doc, 400);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_LE(p->detail.size(), kMaxProblemDetailBytes);
  EXPECT_GT(p->detail.size(), kMaxProblemDetailBytes - 8);
  EXPECT_TRUE(IsValidUtf8(p->detail));
  EXPECT_EQ(p->detail.rfind("head ", 0), 0u);
  EXPECT_EQ(p->detail.substr(p->detail.size() - 3), "\xe2\x80\xa6");
  EXPECT_LE(p->type.size(), kMaxProblemTypeBytes);
  ASSERT_EQ(p->subproblems.size(), 1u);
  EXPECT_LE(p->subproblems[0].detail.size(), kMaxProblemDetailBytes);
  EXPECT_LE(p->subproblems[0].identifier.size(), kMaxProblemIdentifierBytes);

  Status s = ErrorResponseStatus(
      "x", "u", MakeResponse(400, "application/problem+json", doc.dump()),
      FromUnixSeconds(2'000'000'000));
  EXPECT_LT(s.message().size(), kMaxProblemDetailBytes + kMaxProblemTypeBytes + 100);

  // Short text is kept exactly.
  auto short_doc = ParseProblem(json{{"detail", "caf\xc3\xa9"}}, 400);
  ASSERT_TRUE(short_doc.ok());
  EXPECT_EQ(short_doc->detail, "caf\xc3\xa9");
}

}  // namespace
}  // namespace certkeeper::acme

namespace certkeeper::acme {
namespace {

// RFC 9773 §4.2: what a renewalInfo answer must look like before its window is
// believed and its explanationURL stored and shown.
TEST(ParseRenewalInfoTest, AcceptsOnlyWellFormedWindows) {
  struct Case {
    const char* meaning;
    const char* body;
    bool accepted;
  };
  const Case cases[] = {
      {"a window", R"j({"suggestedWindow":{"start":"2030-01-02T00:00:00Z","end":"2030-01-03T00:00:00Z"}})j", true},
      {"with an explanation", R"j({"suggestedWindow":{"start":"2030-01-02T00:00:00Z","end":"2030-01-03T00:00:00Z"},"explanationURL":"https://ca.example/why"})j", true},
      {"not an object", R"j([1,2])j", false},
      {"no window", R"j({})j", false},
      {"window not an object", R"j({"suggestedWindow":"soon"})j", false},
      {"no end", R"j({"suggestedWindow":{"start":"2030-01-02T00:00:00Z"}})j", false},
      {"inverted", R"j({"suggestedWindow":{"start":"2030-01-03T00:00:00Z","end":"2030-01-02T00:00:00Z"}})j", false},
      {"not a time", R"j({"suggestedWindow":{"start":"tomorrow","end":"2030-01-02T00:00:00Z"}})j", false},
      {"explanation not http", R"j({"suggestedWindow":{"start":"2030-01-02T00:00:00Z","end":"2030-01-03T00:00:00Z"},"explanationURL":"javascript:alert(1)"})j", false},
      {"explanation with a newline", R"j({"suggestedWindow":{"start":"2030-01-02T00:00:00Z","end":"2030-01-03T00:00:00Z"},"explanationURL":"https://ca.example/\nforged log line"})j", false},
      {"explanation with an escape", R"j({"suggestedWindow":{"start":"2030-01-02T00:00:00Z","end":"2030-01-03T00:00:00Z"},"explanationURL":"https://ca.example/\u001b[2J"})j", false},
  };
  for (const Case& c : cases) {
    auto doc = nlohmann::json::parse(c.body, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << c.meaning;
    auto info = ParseRenewalInfo(doc);
    EXPECT_EQ(info.ok(), c.accepted) << c.meaning << ": " << info.status().ToString();
    if (!c.accepted) {
      EXPECT_EQ(info.status().code(), ErrorCode::kProtocol) << c.meaning;
    }
  }
}

}  // namespace
}  // namespace certkeeper::acme
