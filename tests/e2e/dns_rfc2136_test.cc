// DNS-01 providers against the real DNS servers of the test environment:
//  - RFC 2136 against Knot: TXT records written with TSIG-signed UPDATEs, read
//    back with certkeeper's own DNS client, a wrong TSIG secret reported as such;
//  - pebble-challtestsrv (Pebble's DNS in the default environment) through the
//    built-in provider and through the example plugin.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "base/clock.h"
#include "base/fs.h"
#include "challenges/dns01_solver.h"
#include "challenges/dns_lookup.h"
#include "tests/support/testenv.h"

namespace certkeeper::challenges {
namespace {

using std::chrono::milliseconds;

class DnsRfc2136Test : public ::testing::Test {
 protected:
  // One Knot for the suite; the TestEnv destructor stops it, also after failures.
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.knot = true;
    env_ = testing::TestEnv::Start(options);
  }
  static void TearDownTestSuite() { env_.reset(); }
  void SetUp() override { ASSERT_NE(env_, nullptr); }

  Dns01Config Config(const std::string& secret_file) {
    Dns01Config c;
    c.provider = "rfc2136";
    c.resolver = env_->Get("KNOT_SERVER");
    c.propagation_timeout = std::chrono::seconds(20);
    c.options = {{"nameserver", env_->Get("KNOT_SERVER")},
                 {"tsig_key_name", env_->Get("KNOT_TSIG_NAME")},
                 {"tsig_algorithm", env_->Get("KNOT_TSIG_ALGORITHM")},
                 {"tsig_secret_file", secret_file}};
    return c;
  }

  std::set<std::string> TxtAtKnot(const std::string& name) {
    dns::DnsLookup lookup(&client_, milliseconds(3000));
    Result<dns::ServerAddress> server = dns::ParseServerAddress(env_->Get("KNOT_SERVER"));
    EXPECT_TRUE(server.ok());
    Result<std::vector<std::string>> values = lookup.TxtValues(*server, name, false);
    EXPECT_TRUE(values.ok()) << values.status().ToString();
    if (!values.ok()) return {};
    return {values->begin(), values->end()};
  }

  static std::unique_ptr<testing::TestEnv> env_;
  dns::NetDnsClient client_;
};
std::unique_ptr<testing::TestEnv> DnsRfc2136Test::env_;

TEST_F(DnsRfc2136Test, ProviderAddsAndRemovesExactlyOneValue) {
  auto provider = MakeDnsProvider(Config(env_->Get("KNOT_TSIG_SECRET_FILE")), &client_,
                                  RealClock(), nullptr);
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  ASSERT_TRUE((*provider)->Check().ok());
  const std::string name = "_acme-challenge.www." + env_->Get("KNOT_ZONE");
  Status s = (*provider)->Present(name, "value-one");
  ASSERT_TRUE(s.ok()) << s.ToUserString();
  ASSERT_TRUE((*provider)->Present(name, "value-two").ok());
  EXPECT_EQ(TxtAtKnot(name), (std::set<std::string>{"value-one", "value-two"}));
  ASSERT_TRUE((*provider)->CleanUp(name, "value-one").ok());
  EXPECT_EQ(TxtAtKnot(name), (std::set<std::string>{"value-two"}));
  ASSERT_TRUE((*provider)->CleanUp(name, "value-two").ok());
  ASSERT_TRUE((*provider)->CleanUp(name, "value-two").ok()) << "removing a missing value is fine";
  EXPECT_TRUE(TxtAtKnot(name).empty());
  std::vector<std::string> notes = (*provider)->TakeNotes();
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes[0].find("TSIG verified"), std::string::npos) << notes[0];
}

TEST_F(DnsRfc2136Test, SolverPresentsWildcardAndBaseAndSeesThemPropagated) {
  Result<std::unique_ptr<Solver>> solver = MakeDns01Solver(Config(env_->Get("KNOT_TSIG_SECRET_FILE")));
  ASSERT_TRUE(solver.ok()) << solver.status().ToString();
  std::string domain = "site." + env_->Get("KNOT_ZONE");
  domain.pop_back();
  std::vector<ChallengeTask> tasks = {{domain, false, "t1", "t1.thumb"},
                                      {domain, true, "t2", "t2.thumb"}};
  ASSERT_TRUE((*solver)->SelfCheck(tasks).ok());
  Status s = (*solver)->Present(tasks);
  ASSERT_TRUE(s.ok()) << s.ToUserString();
  const std::string name = "_acme-challenge." + domain + ".";
  EXPECT_EQ(TxtAtKnot(name),
            (std::set<std::string>{Dns01TxtValue("t1.thumb"), Dns01TxtValue("t2.thumb")}));
  ASSERT_TRUE((*solver)->CleanUp(tasks).ok());
  EXPECT_TRUE(TxtAtKnot(name).empty());
}

TEST_F(DnsRfc2136Test, WrongTsigSecretIsReportedClearly) {
  fs::TempDir dir;
  std::string bad_secret = dir.path() + "/wrong.secret";
  ASSERT_TRUE(fs::WritePrivateFile(bad_secret, "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==\n").ok());
  auto provider = MakeDnsProvider(Config(bad_secret), &client_, RealClock(), nullptr);
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  const std::string name = "_acme-challenge.bad." + env_->Get("KNOT_ZONE");
  Status s = (*provider)->Present(name, "never");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(s.message().find("NOTAUTH"), std::string::npos) << s.ToUserString();
  EXPECT_NE(s.message().find("BADSIG"), std::string::npos) << s.ToUserString();
  EXPECT_NE(s.hint().find("tsig_secret_file"), std::string::npos) << s.hint();
  EXPECT_TRUE(TxtAtKnot(name).empty());
}

TEST_F(DnsRfc2136Test, CheckRefusesAZoneTheServerDoesNotServe) {
  Dns01Config c = Config(env_->Get("KNOT_TSIG_SECRET_FILE"));
  c.options["zone"] = "not-served.example.";
  auto provider = MakeDnsProvider(c, &client_, RealClock(), nullptr);
  ASSERT_TRUE(provider.ok());
  Status s = (*provider)->Check();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not-served.example."), std::string::npos) << s.message();
}

TEST_F(DnsRfc2136Test, LargeAnswersFallBackToTcp) {
  auto provider = MakeDnsProvider(Config(env_->Get("KNOT_TSIG_SECRET_FILE")), &client_,
                                  RealClock(), nullptr);
  ASSERT_TRUE(provider.ok());
  const std::string name = "_acme-challenge.big." + env_->Get("KNOT_ZONE");
  std::set<std::string> values;
  for (int i = 0; i < 20; ++i) {
    std::string v = Dns01TxtValue("key-authorization-" + std::to_string(i));
    values.insert(v);
    ASSERT_TRUE((*provider)->Present(name, v).ok());
  }
  // 20 x 43-octet strings do not fit the 512 octets of a UDP answer without
  // EDNS: knot sets TC and the client must retry over TCP to see them all.
  EXPECT_EQ(TxtAtKnot(name), values);
  for (const std::string& v : values) EXPECT_TRUE((*provider)->CleanUp(name, v).ok());
  EXPECT_TRUE(TxtAtKnot(name).empty());
}

// The default environment: challtestsrv answers Pebble's DNS queries.
class DnsChalltestsrvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { env_ = testing::TestEnv::Start(); }
  static void TearDownTestSuite() { env_.reset(); }
  void SetUp() override { ASSERT_NE(env_, nullptr); }

  // The whole solver: present for a name and its wildcard, checked at
  // challtestsrv's DNS port, then cleaned up.
  void PresentCheckAndCleanUp(const Dns01Config& config, const std::string& domain) {
    Result<std::unique_ptr<Solver>> solver = MakeDns01Solver(config);
    ASSERT_TRUE(solver.ok()) << solver.status().ToString();
    std::vector<ChallengeTask> tasks = {{domain, false, "t1", domain + ".thumb1"},
                                        {domain, true, "t2", domain + ".thumb2"}};
    ASSERT_TRUE((*solver)->SelfCheck(tasks).ok());
    Status s = (*solver)->Present(tasks);
    ASSERT_TRUE(s.ok()) << s.ToUserString();
    const std::string name = "_acme-challenge." + domain + ".";
    EXPECT_EQ(Txt(name), (std::set<std::string>{Dns01TxtValue(domain + ".thumb1"),
                                                Dns01TxtValue(domain + ".thumb2")}));
    ASSERT_TRUE((*solver)->CleanUp(tasks).ok());
    EXPECT_TRUE(Txt(name).empty());
  }

  std::set<std::string> Txt(const std::string& name) {
    dns::NetDnsClient client;
    dns::DnsLookup lookup(&client, milliseconds(3000));
    Result<std::vector<std::string>> values =
        lookup.TxtValues(*dns::ParseServerAddress(env_->Get("CHALLTESTSRV_DNS")), name, true);
    EXPECT_TRUE(values.ok()) << values.status().ToString();
    if (!values.ok()) return {};
    return {values->begin(), values->end()};
  }

  static std::unique_ptr<testing::TestEnv> env_;
};
std::unique_ptr<testing::TestEnv> DnsChalltestsrvTest::env_;

TEST_F(DnsChalltestsrvTest, BuiltInProvider) {
  Dns01Config c;
  c.provider = "challtestsrv";
  c.resolver = env_->Get("CHALLTESTSRV_DNS");
  c.propagation_timeout = std::chrono::seconds(10);
  c.options = {{"url", env_->Get("CHALLTESTSRV_URL")}};
  PresentCheckAndCleanUp(c, "builtin.example.com");
}

TEST_F(DnsChalltestsrvTest, ExamplePlugin) {
  Dns01Config c;
  c.provider = "plugin";
  c.resolver = env_->Get("CHALLTESTSRV_DNS");
  c.propagation_timeout = std::chrono::seconds(10);
  c.options = {{"library", CERTKEEPER_EXAMPLE_DNS_PLUGIN},
               {"url", env_->Get("CHALLTESTSRV_URL")}};
  PresentCheckAndCleanUp(c, "plugin.example.com");
}

}  // namespace
}  // namespace certkeeper::challenges
