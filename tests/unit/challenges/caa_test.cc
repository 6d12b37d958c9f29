#include "challenges/caa.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace certkeeper::challenges {
namespace {

constexpr char kAccount[] = "https://ca.example/acme/acct/42";

struct Row {
  const char* name;
  std::vector<CaaRecord> records;
  bool wildcard;
  std::vector<std::string> identities;
  std::string account;
  bool allowed;
  std::vector<std::string> challenge_types;
  std::string reason_contains;
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

CaaRecord Issue(std::string value) { return {0, "issue", std::move(value)}; }
CaaRecord IssueWild(std::string value) { return {0, "issuewild", std::move(value)}; }

const std::vector<std::string> kCa = {"ca.example"};

std::vector<Row> Rows() {
  std::string long_issuer;
  for (int i = 0; i < 200; ++i) long_issuer += "a.";
  long_issuer += "example";
  return {
      {"EmptySetAllowsAnyCa", {}, false, kCa, kAccount, true, {}, "any CA may issue"},
      {"IssueNamingTheCaAllows", {Issue("ca.example")}, false, kCa, kAccount, true, {},
       "allows ca.example"},
      {"IssueNamingAnotherCaForbids", {Issue("other.example")}, false, kCa, kAccount, false, {},
       "allows only other.example"},
      {"AnyOfSeveralIssueRecordsSuffices", {Issue("other.example"), Issue("ca.example")}, false,
       kCa, kAccount, true, {}, "allows ca.example"},
      {"AnyOfTheCaIdentitiesSuffices", {Issue("second.example")}, false,
       {"first.example", "second.example"}, kAccount, true, {}, "second.example"},
      {"IssuerComparedCaseInsensitively", {Issue("CA.Example")}, false, {"ca.EXAMPLE."},
       kAccount, true, {}, ""},
      {"TagComparedCaseInsensitively", {{0, "IsSuE", "other.example"}}, false, kCa, kAccount,
       false, {}, "other.example"},
      {"WhitespaceAroundIssuerAllowed", {Issue(" \tca.example \t")}, false, kCa, kAccount, true,
       {}, ""},
      {"SemicolonAloneForbidsEveryCa", {Issue(";")}, false, kCa, kAccount, false, {},
       "forbids every CA"},
      {"EmptyValueForbidsEveryCa", {Issue("")}, false, kCa, kAccount, false, {},
       "forbids every CA"},
      {"SemicolonBesideAnAuthorizingRecordDoesNotForbid", {Issue(";"), Issue("ca.example")},
       false, kCa, kAccount, true, {}, ""},
      {"OnlyIodefMeansUnrestricted", {{0, "iodef", "mailto:a@b.example"}}, false, kCa, kAccount,
       true, {}, "no issue record"},
      {"UnknownNonCriticalTagIgnored", {{0, "futuretag", "x"}, Issue("ca.example")}, false, kCa,
       kAccount, true, {}, ""},
      {"UnknownCriticalTagForbids", {{kCaaCritical, "futuretag", "x"}, Issue("ca.example")},
       false, kCa, kAccount, false, {}, "critical"},
      {"CriticalIssueIsUnderstood", {{kCaaCritical, "issue", "ca.example"}}, false, kCa,
       kAccount, true, {}, ""},
      {"ReservedFlagBitsWithoutCriticalIgnored", {{0x7F, "futuretag", "x"}}, false, kCa,
       kAccount, true, {}, ""},
      {"IssuewildWinsForWildcard", {Issue("ca.example"), IssueWild("other.example")}, true, kCa,
       kAccount, false, {}, "(issuewild)"},
      {"IssuewildAllowsWildcardWhereIssueForbids", {Issue(";"), IssueWild("ca.example")}, true,
       kCa, kAccount, true, {}, ""},
      {"IssuewildIgnoredForNonWildcard", {Issue("ca.example"), IssueWild(";")}, false, kCa,
       kAccount, true, {}, ""},
      {"IssueAppliesToWildcardWithoutIssuewild", {Issue("other.example")}, true, kCa, kAccount,
       false, {}, "(issue)"},
      {"IssuewildSemicolonForbidsWildcard", {Issue("ca.example"), IssueWild(";")}, true, kCa,
       kAccount, false, {}, "forbids every CA"},
      {"MalformedIssuerAuthorizesNobody", {Issue("ca.example!")}, false, {"ca.example!"},
       kAccount, false, {}, ""},
      {"IssuerWithTrailingDotIsMalformed", {Issue("ca.example.")}, false, kCa, kAccount, false,
       {}, ""},
      {"MalformedRecordBesideGoodOneDoesNotForbid", {Issue("ca .example"), Issue("ca.example")},
       false, kCa, kAccount, true, {}, ""},
      {"ParametersParsed", {Issue("ca.example; foo=bar; baz = qux")}, false, kCa, kAccount, true,
       {}, ""},
      {"ParameterWithoutEqualsIsMalformed", {Issue("ca.example; foo")}, false, kCa, kAccount,
       false, {}, ""},
      {"TrailingSemicolonAfterParametersIsMalformed", {Issue("ca.example; foo=bar;")}, false,
       kCa, kAccount, false, {}, ""},
      {"SemicolonWithoutParametersAllowed", {Issue("ca.example;")}, false, kCa, kAccount, true,
       {}, ""},
      {"AccounturiMatching", {Issue(std::string("ca.example; accounturi=") + kAccount)}, false,
       kCa, kAccount, true, {}, ""},
      {"AccounturiMismatch", {Issue("ca.example; accounturi=https://ca.example/acme/acct/7")},
       false, kCa, kAccount, false, {}, "only for account"},
      {"AccounturiWithoutAccountYet", {Issue(std::string("ca.example; accounturi=") + kAccount)},
       false, kCa, "", false, {}, "no account at this CA yet"},
      {"AccounturiComparedExactly",
       {Issue("ca.example; accounturi=HTTPS://ca.example/acme/acct/42")}, false, kCa, kAccount,
       false, {}, ""},
      {"RepeatedAccounturiAuthorizesNobody",
       {Issue(std::string("ca.example; accounturi=") + kAccount + "; accounturi=" + kAccount)},
       false, kCa, kAccount, false, {}, "repeated accounturi"},
      {"AccounturiMismatchBesideUnboundRecord",
       {Issue("ca.example; accounturi=https://x.example/1"), Issue("ca.example")}, false, kCa,
       kAccount, true, {}, ""},
      {"ValidationmethodsListed", {Issue("ca.example; validationmethods=dns-01,HTTP-01")}, false,
       kCa, kAccount, true, {"dns-01", "http-01"}, "with dns-01, http-01 only"},
      {"ValidationmethodsUnionOverRecords",
       {Issue("ca.example; validationmethods=dns-01"),
        Issue("ca.example; validationmethods=tls-alpn-01,dns-01")},
       false, kCa, kAccount, true, {"dns-01", "tls-alpn-01"}, ""},
      {"UnrestrictedRecordLiftsValidationmethods",
       {Issue("ca.example; validationmethods=dns-01"), Issue("ca.example")}, false, kCa,
       kAccount, true, {}, ""},
      {"ValidationmethodsOfOtherCaIgnored",
       {Issue("other.example; validationmethods=dns-01"), Issue("ca.example")}, false, kCa,
       kAccount, true, {}, ""},
      {"EmptyValidationmethodsAllowsNoMethod", {Issue("ca.example; validationmethods=")}, false,
       kCa, kAccount, false, {}, "no validation method"},
      {"MalformedValidationmethodsAuthorizesNobody",
       {Issue("ca.example; validationmethods=dns-01,,http-01")}, false, kCa, kAccount, false, {},
       "malformed validationmethods"},
      {"ValidationmethodsWithAccounturi",
       {Issue(std::string("ca.example; accounturi=") + kAccount + "; validationmethods=http-01")},
       false, kCa, kAccount, true, {"http-01"}, ""},
      {"ControlCharactersInValueAuthorizeNobody", {Issue("ca.example\n\x1b[31m")}, false, kCa,
       kAccount, false, {}, ""},
      {"NulInValueAuthorizesNobody", {Issue(std::string("ca.example\0", 11))}, false, kCa,
       kAccount, false, {}, ""},
      {"VeryLongIssuerIsCutInReason", {Issue(long_issuer)}, false, kCa, kAccount, false, {},
       "..."},
      {"NoIdentitiesMeansNotAuthorized", {Issue("ca.example")}, false, {}, kAccount, false, {},
       ""},
  };
}

class CaaEvaluateTest : public ::testing::TestWithParam<Row> {};

TEST_P(CaaEvaluateTest, Verdict) {
  const Row& row = GetParam();
  CaaSet set{row.records.empty() ? "" : "example.com", row.records};
  CaaVerdict v = EvaluateCaa(set, row.wildcard, row.identities, row.account);
  EXPECT_EQ(v.allowed, row.allowed) << v.reason;
  EXPECT_EQ(v.challenge_types, row.challenge_types) << v.reason;
  EXPECT_NE(v.reason.find(row.reason_contains), std::string::npos) << v.reason;
  EXPECT_FALSE(v.reason.empty());
  for (char c : v.reason) {
    // No control characters (the reason's own text may hold UTF-8, like "§").
    EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F)
        << "control character in reason: " << v.reason;
  }
  EXPECT_LT(v.reason.size(), 400u);
}

INSTANTIATE_TEST_SUITE_P(Rfc8659And8657, CaaEvaluateTest, ::testing::ValuesIn(Rows()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CaaEvaluateReasonTest, HostileCriticalTagIsEscaped) {
  CaaSet set{"example.com", {{kCaaCritical, "x\x1b\n", "v"}}};
  CaaVerdict v = EvaluateCaa(set, false, kCa, kAccount);
  EXPECT_FALSE(v.allowed);
  EXPECT_NE(v.reason.find("\\x1b\\x0a"), std::string::npos) << v.reason;
}

TEST(CaaPrintableTest, EscapesAndCuts) {
  EXPECT_EQ(PrintableCaaValue("ab\x7f\"\\"), "\"ab\\x7f\\x22\\x5c\"");
  EXPECT_EQ(PrintableCaaValue(std::string(100, 'a'), 3), "\"aaa...\"");
}

}  // namespace
}  // namespace certkeeper::challenges
