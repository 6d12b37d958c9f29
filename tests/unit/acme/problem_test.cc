#include "acme/problem.h"

#include <gtest/gtest.h>

#include "acme/resources.h"

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

INSTANTIATE_TEST_SUITE_P(
    Forms, RetryAfterTest,
    ::testing::Values(
        RetryAfterCase{"DeltaSeconds", "120", 1'000'000'120},
        RetryAfterCase{"DeltaWithSpaces", " 5 ", 1'000'000'005},
        RetryAfterCase{"Zero", "0", 1'000'000'000},
        RetryAfterCase{"ImfFixdate", "Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
        RetryAfterCase{"Rfc850", "Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
        RetryAfterCase{"Asctime", "Sun Nov  6 08:49:37 1994", 784111777},
        RetryAfterCase{"HugeDeltaIsClamped", "99999999999", 1'000'000'000 + 366 * 86400},
        RetryAfterCase{"Negative", "-5", std::nullopt},
        RetryAfterCase{"Fraction", "1.5", std::nullopt},
        RetryAfterCase{"Garbage", "soon", std::nullopt},
        RetryAfterCase{"NotGmt", "Sun, 06 Nov 1994 08:49:37 PST", std::nullopt},
        RetryAfterCase{"BadMonth", "Sun, 06 Foo 1994 08:49:37 GMT", std::nullopt},
        // A TimePoint ends in 2262; converting a later date used to overflow.
        // (found by http_headers_fuzz)
        RetryAfterCase{"DateAfter2261", "Sun, 06 Nov 9914 08:49:37 GMT", std::nullopt},
        RetryAfterCase{"AsctimeAfter2261", "Sun Nov  6 08:49:37 2263", std::nullopt},
        RetryAfterCase{"Empty", "", std::nullopt}),
    [](const ::testing::TestParamInfo<RetryAfterCase>& info) { return info.param.name; });

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
