// CAA lookup and policy against the real pebble-challtestsrv of the test
// environment: records are published through its management API (/add-caa,
// /clear-caa) and read back over UDP with certkeeper's own DNS client, as the
// CA choice before ordering does.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "challenges/caa.h"
#include "tests/support/testenv.h"

namespace certkeeper::challenges {
namespace {

using std::chrono::seconds;

class CaaLookupE2eTest : public ::testing::Test {
 protected:
  // One environment for the suite; the TestEnv destructor stops it by PID,
  // also after failures.
  static void SetUpTestSuite() { env_ = testing::TestEnv::Start(); }
  static void TearDownTestSuite() { env_.reset(); }
  void SetUp() override { ASSERT_NE(env_, nullptr); }

  // Publishes one CAA record (flags 0: challtestsrv sets no others) at host.
  void AddCaa(const std::string& host, const std::string& tag, const std::string& value) {
    env_->ChalltestsrvPost("/add-caa", R"({"host":")" + host +
                                           R"(","policies":[{"tag":")" + tag +
                                           R"(","value":")" + value + R"("}]})");
  }
  void ClearCaa(const std::string& host) {
    env_->ChalltestsrvPost("/clear-caa", R"({"host":")" + host + R"("})");
  }
  Result<CaaSet> Lookup(const std::string& name) {
    return LookupCaa(name, env_->Get("CHALLTESTSRV_DNS"), seconds(10));
  }

  static std::unique_ptr<testing::TestEnv> env_;
};
std::unique_ptr<testing::TestEnv> CaaLookupE2eTest::env_;

TEST_F(CaaLookupE2eTest, RecordOnTheParentAppliesToAChildName) {
  AddCaa("parent.caa.test", "issue", "ca.example");
  Result<CaaSet> set = Lookup("www.parent.caa.test");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->owner, "parent.caa.test");
  ASSERT_EQ(set->records.size(), 1u);
  EXPECT_EQ(set->records[0].tag, "issue");
  EXPECT_EQ(set->records[0].value, "ca.example");
  EXPECT_TRUE(EvaluateCaa(*set, false, {"ca.example"}, "").allowed);
  CaaVerdict other = EvaluateCaa(*set, false, {"other.example"}, "");
  EXPECT_FALSE(other.allowed);
  EXPECT_EQ(other.reason, "CAA at parent.caa.test allows only ca.example (issue)");
}

TEST_F(CaaLookupE2eTest, ClimbStopsAtTheFirstNonEmptySet) {
  AddCaa("near.stop.test", "issue", "near.example");
  AddCaa("stop.test", "issue", "far.example");
  Result<CaaSet> set = Lookup("a.near.stop.test");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->owner, "near.stop.test");
  ASSERT_EQ(set->records.size(), 1u);
  EXPECT_EQ(set->records[0].value, "near.example");
}

TEST_F(CaaLookupE2eTest, NoRecordAnywhereIsAnEmptySet) {
  Result<CaaSet> set = Lookup("www.nothing.test");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE(set->records.empty());
  EXPECT_TRUE(EvaluateCaa(*set, false, {"ca.example"}, "").allowed);
}

TEST_F(CaaLookupE2eTest, ClearedRecordsNoLongerApply) {
  AddCaa("cleared.test", "issue", ";");
  Result<CaaSet> before = Lookup("cleared.test");
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_FALSE(EvaluateCaa(*before, false, {"ca.example"}, "").allowed);
  ClearCaa("cleared.test");
  Result<CaaSet> after = Lookup("cleared.test");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_TRUE(after->records.empty());
}

TEST_F(CaaLookupE2eTest, IssuewildGovernsTheWildcardOnly) {
  AddCaa("wild.test", "issue", "ca.example");
  AddCaa("wild.test", "issuewild", "other.example");
  Result<CaaSet> set = Lookup("*.wild.test");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->owner, "wild.test");
  EXPECT_EQ(set->records.size(), 2u);
  EXPECT_FALSE(EvaluateCaa(*set, true, {"ca.example"}, "").allowed);
  EXPECT_TRUE(EvaluateCaa(*set, true, {"other.example"}, "").allowed);
  EXPECT_TRUE(EvaluateCaa(*set, false, {"ca.example"}, "").allowed);
}

TEST_F(CaaLookupE2eTest, ParametersArriveIntactAndAreApplied) {
  const std::string account = "https://ca.example/acme/acct/1";
  AddCaa("params.test", "issue",
         "ca.example; accounturi=" + account + "; validationmethods=http-01,tls-alpn-01");
  Result<CaaSet> set = Lookup("params.test");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  CaaVerdict mine = EvaluateCaa(*set, false, {"ca.example"}, account);
  EXPECT_TRUE(mine.allowed) << mine.reason;
  EXPECT_EQ(mine.challenge_types, (std::vector<std::string>{"http-01", "tls-alpn-01"}));
  EXPECT_FALSE(EvaluateCaa(*set, false, {"ca.example"}, "https://ca.example/acme/acct/2").allowed);
}

TEST_F(CaaLookupE2eTest, NoServerAtTheResolverAddressIsAnErrorNamingIt) {
  int port = testing::PickFreeDnsPort();
  std::string resolver = "127.0.0.1:" + std::to_string(port);
  Result<CaaSet> set = LookupCaa("www.example.test", resolver, std::chrono::milliseconds(500));
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().ToString().find(resolver), std::string::npos)
      << set.status().ToString();
}

}  // namespace
}  // namespace certkeeper::challenges
