// Every challenge solver on its own issues a certificate through the CLI against
// Pebble (with challtestsrv as Pebble's DNS): HTTP-01 standalone, TLS-ALPN-01
// (RFC 8737), DNS-01 through the challtestsrv provider, an exec hook, the example
// plugin, and a wildcard with its base name. After each, nothing is left behind:
// no TXT record, no listener on the challenge port.
#include <gtest/gtest.h>

#include "tests/e2e/failover_session.h"

namespace certkeeper::failover {
namespace {

class FailoverSolversTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { env_ = TestEnv::Start().release(); }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(env_, nullptr); }

  // Issues `name` for domains with only `type` configured and checks that the
  // attempt succeeded through that type for every identifier.
  void IssueWithOnly(const std::string& solvers, const std::string& type,
                     const std::string& name, const std::vector<std::string>& domains) {
    Session session(env_);
    session.WriteConfig(solvers);
    CommandResult r = session.Issue(name, domains, type);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    session.ExpectValidLive(name, domains);
    json attempt = session.LastAttempt(name);
    EXPECT_EQ(attempt["outcome"], "success") << attempt.dump(2);
    for (const std::string& d : domains) {
      EXPECT_EQ(Steps(attempt, "validation", type, d, "ok").size(), 1u)
          << d << " " << attempt.dump(2);
    }
    EXPECT_TRUE(Steps(attempt, "", "", "", "failed").empty()) << attempt.dump(2);
    json list = session.Json({"list"});
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["last_attempt"]["challenge"], type);
  }

  static TestEnv* env_;
};
TestEnv* FailoverSolversTest::env_ = nullptr;

TEST_F(FailoverSolversTest, Http01StandaloneAloneIssuesAndReleasesThePort) {
  IssueWithOnly(HttpStandalone(*env_), "http-01", "http", {"http.solo.example.com"});
  EXPECT_TRUE(PortIsFree(std::stoi(env_->Get("PEBBLE_HTTP_PORT"))));
}

TEST_F(FailoverSolversTest, TlsAlpn01AloneIssuesAndReleasesThePort) {
  IssueWithOnly(TlsAlpn(*env_), "tls-alpn-01", "alpn",
                {"alpn.solo.example.com", "www.alpn.solo.example.com"});
  EXPECT_TRUE(PortIsFree(std::stoi(env_->Get("PEBBLE_TLS_PORT"))));
}

TEST_F(FailoverSolversTest, Dns01ChalltestsrvProviderAloneIssuesAndCleansUp) {
  IssueWithOnly(ChalltestsrvDns(*env_, env_->Get("CHALLTESTSRV_URL")), "dns-01", "dnsbuiltin",
                {"builtin.solo.example.com"});
  EXPECT_TRUE(ChalltestsrvTxt(*env_, "builtin.solo.example.com").empty());
}

TEST_F(FailoverSolversTest, Dns01ExecHookAloneIssuesAndCleansUp) {
  Session scripts(env_);
  std::string hook = scripts.dir() + "/dns-hook";
  WriteScript(hook, ChalltestsrvHookScript(env_->Get("CHALLTESTSRV_URL")));
  IssueWithOnly(ExecDns(*env_, hook), "dns-01", "dnsexec", {"exec.solo.example.com"});
  EXPECT_TRUE(ChalltestsrvTxt(*env_, "exec.solo.example.com").empty());
}

TEST_F(FailoverSolversTest, Dns01ExamplePluginAloneIssuesAndCleansUp) {
  std::string solvers = "[solvers.dns-01]\nprovider = \"plugin\"\nlibrary = " +
                        Quoted(CERTKEEPER_EXAMPLE_DNS_PLUGIN) + "\nurl = " +
                        Quoted(env_->Get("CHALLTESTSRV_URL")) + "\nresolver = " +
                        Quoted(env_->Get("CHALLTESTSRV_DNS")) +
                        "\npropagation_timeout = \"10s\"\n";
  IssueWithOnly(solvers, "dns-01", "dnsplugin", {"plugin.solo.example.com"});
  EXPECT_TRUE(ChalltestsrvTxt(*env_, "plugin.solo.example.com").empty());
}

// RFC 8555 §7.1.3: the wildcard's authorization names the base domain with
// "wildcard": true; both TXT values live at one name at the same time.
TEST_F(FailoverSolversTest, WildcardAndBaseNameThroughDns01) {
  const std::string base = "wild.solo.example.com";
  Session session(env_);
  // http-01 is configured too, but the certificate asks for dns-01 only.
  session.WriteConfig(HttpStandalone(*env_) +
                      ChalltestsrvDns(*env_, env_->Get("CHALLTESTSRV_URL")));
  CommandResult r = session.Issue("wild", {"*." + base, base}, "dns-01");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  session.ExpectValidLive("wild", {"*." + base, base});
  json attempt = session.LastAttempt("wild");
  EXPECT_EQ(Steps(attempt, "validation", "dns-01", "*." + base, "ok").size(), 1u)
      << attempt.dump(2);
  EXPECT_EQ(Steps(attempt, "validation", "dns-01", base, "ok").size(), 1u) << attempt.dump(2);
  EXPECT_TRUE(ChalltestsrvTxt(*env_, base).empty());
}

TEST_F(FailoverSolversTest, WildcardWithoutDns01IsRefusedBeforeAnyOrder) {
  Session session(env_);
  session.WriteConfig(HttpStandalone(*env_));
  CommandResult r = session.Issue("wildhttp", {"*.nodns.example.com"}, "http-01");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("dns-01"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::Exists(session.state() + "/live/wildhttp"));
}

}  // namespace
}  // namespace certkeeper::failover
