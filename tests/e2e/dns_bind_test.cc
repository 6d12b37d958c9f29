// RFC 2136 against a real BIND 9 named (pebble-testenv --with bind), as
// dns_rfc2136_test does against Knot:
//  - a certificate issued through Pebble for a name whose _acme-challenge is a
//    CNAME from a static zone into the TSIG-updatable zone, wildcard and base
//    name in one order (two values at the CNAME target at once);
//  - single values added and removed with TSIG-signed UPDATEs;
//  - a wrong TSIG secret and an update to a zone that takes none, each
//    reported as what it is.
#include <gtest/gtest.h>

#include <set>

#include "challenges/dns_provider_rfc2136.h"
#include "tests/e2e/dns_server_suite.h"

namespace certkeeper::failover {
namespace {

class DnsBindTest : public DnsServerSuite {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.bind = true;
    StartEnv(options, "bind");
  }

  static challenges::Dns01Config Config(const std::string& secret_file) {
    challenges::Dns01Config c;
    c.provider = "rfc2136";
    c.resolver = env_->Get("BIND_SERVER");
    c.propagation_timeout = std::chrono::seconds(20);
    c.options = {{"nameserver", env_->Get("BIND_SERVER")},
                 {"tsig_key_name", env_->Get("BIND_TSIG_NAME")},
                 {"tsig_algorithm", env_->Get("BIND_TSIG_ALGORITHM")},
                 {"tsig_secret_file", secret_file}};
    return c;
  }

  // TXT values at name as named answers them (no recursion asked).
  static std::set<std::string> TxtAtBind(const std::string& name) {
    return TxtAt(env_->Get("BIND_SERVER"), name);
  }

  challenges::dns::NetDnsClient client_;
};

TEST_F(DnsBindTest, IssuesThroughCnameDelegationWildcardAndBase) {
  Session session(env_);
  session.WriteConfig("[solvers.dns-01]\nprovider = \"rfc2136\"\nnameserver = " +
                      Quoted(env_->Get("BIND_SERVER")) + "\ntsig_key_name = " +
                      Quoted(env_->Get("BIND_TSIG_NAME")) + "\ntsig_algorithm = " +
                      Quoted(env_->Get("BIND_TSIG_ALGORITHM")) + "\ntsig_secret_file = " +
                      Quoted(env_->Get("BIND_TSIG_SECRET_FILE")) + "\nresolver = " +
                      Quoted(env_->Get("BIND_SERVER")) + "\npropagation_timeout = \"20s\"\n");
  const std::string base = env_->Get("BIND_CNAME_DOMAIN");  // www.bind.test
  ASSERT_FALSE(base.empty());
  const std::vector<std::string> domains = {base, "*." + base};
  CommandResult r = session.Issue("bind", domains, "dns-01");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json attempt = ExpectIssuedWithDns01(session, "bind", domains);
  // The values went to the CNAME target in the dynamic zone and are gone.
  EXPECT_NE(attempt.dump().find(env_->Get("BIND_CNAME_TARGET")), std::string::npos)
      << "the attempt records where the TXT was written: " << attempt.dump(2);
  EXPECT_TRUE(TxtAtBind(env_->Get("BIND_CNAME_TARGET")).empty());
}

TEST_F(DnsBindTest, ProviderAddsAndRemovesExactlyOneValue) {
  auto provider = challenges::MakeDnsProvider(Config(env_->Get("BIND_TSIG_SECRET_FILE")),
                                              &client_, RealClock(), nullptr);
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  Status checked = (*provider)->Check();
  ASSERT_TRUE(checked.ok()) << checked.ToUserString();
  const std::string name = "_acme-challenge.one." + env_->Get("BIND_ZONE");
  Status s = (*provider)->Present(name, "value-one");
  ASSERT_TRUE(s.ok()) << s.ToUserString();
  ASSERT_TRUE((*provider)->Present(name, "value-two").ok());
  EXPECT_EQ(TxtAtBind(name), (std::set<std::string>{"value-one", "value-two"}));
  ASSERT_TRUE((*provider)->CleanUp(name, "value-one").ok());
  EXPECT_EQ(TxtAtBind(name), (std::set<std::string>{"value-two"}));
  ASSERT_TRUE((*provider)->CleanUp(name, "value-two").ok());
  ASSERT_TRUE((*provider)->CleanUp(name, "value-two").ok()) << "removing a missing value is fine";
  EXPECT_TRUE(TxtAtBind(name).empty());
  std::vector<std::string> notes = (*provider)->TakeNotes();
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes[0].find("TSIG verified"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("in zone " + env_->Get("BIND_ZONE")), std::string::npos) << notes[0];
}

TEST_F(DnsBindTest, WrongTsigSecretIsReportedClearly) {
  fs::TempDir dir;
  std::string bad_secret = dir.path() + "/wrong.secret";
  ASSERT_TRUE(fs::WritePrivateFile(bad_secret, "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==\n").ok());
  auto provider = challenges::MakeDnsProvider(Config(bad_secret), &client_, RealClock(), nullptr);
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  const std::string name = "_acme-challenge.bad." + env_->Get("BIND_ZONE");
  Status s = (*provider)->Present(name, "never");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(s.message().find("NOTAUTH"), std::string::npos) << s.ToUserString();
  EXPECT_NE(s.hint().find("tsig_secret_file"), std::string::npos) << s.ToUserString();
  EXPECT_TRUE(TxtAtBind(name).empty());
}

TEST_F(DnsBindTest, StaticZoneRefusesTheUpdate) {
  // Written at the name itself, not at its CNAME target: bind.test. takes no updates.
  auto provider = challenges::MakeDnsProvider(Config(env_->Get("BIND_TSIG_SECRET_FILE")),
                                              &client_, RealClock(), nullptr);
  ASSERT_TRUE(provider.ok());
  Status s = (*provider)->Present("_acme-challenge.static." + env_->Get("BIND_STATIC_ZONE"), "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(s.message().find("REFUSED"), std::string::npos) << s.ToUserString();
  EXPECT_NE(s.message().find("zone " + env_->Get("BIND_STATIC_ZONE")), std::string::npos)
      << s.ToUserString();
}

}  // namespace
}  // namespace certkeeper::failover
