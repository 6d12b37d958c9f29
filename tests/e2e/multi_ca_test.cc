// Several CAs per certificate against two real Pebbles: a preferred CA that
// refuses connections, hangs, rate-limits or is excluded by the names' CAA
// records is skipped (and recorded as skipped, with the reason) and the next CA
// issues; once the preferred CA is back the next renewal returns to it. The
// features of today's CAs (EAB, IP identifiers, chains, profiles, short-lived
// certificates) are in multi_ca_features.cc, in the same binary and the same
// environment.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/crypto.h"
#include "tests/e2e/failover_session.h"
#include "tests/e2e/multi_ca_support.h"

namespace certkeeper::multi_ca {

TestEnv* shared_env = nullptr;

void SharedEnvironment::SetUp() {
  testing::TestEnvOptions options;
  options.pebble2 = true;
  // Requests are counted at the proxies: no nonce may be rejected at random,
  // or a retried POST would count twice.
  options.env = {{"PEBBLE_WFE_NONCEREJECT", "0"},
                 {"PEBBLE_ALTERNATE_ROOTS", "1"},
                 {"PEBBLE2_CERT_VALIDITY_PERIOD", std::to_string(kShortLifetimeSeconds)}};
  shared_env = TestEnv::Start(options).release();
}

void SharedEnvironment::TearDown() {
  delete shared_env;  // runs pebble-testenv/down
  shared_env = nullptr;
}

TestEnv* SharedEnvironment::Get() { return shared_env; }

namespace {

[[maybe_unused]] ::testing::Environment* const kSharedEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedEnvironment());

::testing::AssertionResult Contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << needle << "' not in: " << haystack;
}

// The one step of kind "ca" for `ca_name`, or null.
json StepFor(const std::vector<json>& steps, const std::string& ca_name) {
  for (const auto& s : steps) {
    if (s.value("identifier", "") == ca_name) return s;
  }
  return nullptr;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class MultiCaFailoverTest : public MultiCaTest {
 protected:
  CertBlock Web(const std::string& domain) {
    return {.name = "web", .domains = {domain}, .cas = {"primary", "backup"}};
  }
};

TEST_F(MultiCaFailoverTest, PreferredCaDownThenBackupIssuesAndTheNextRenewalReturns) {
  CertBlock web = Web("down.example.com");
  Configure({Primary(), Backup()}, {web}, "[renewal]\nreturn_to_preferred = true\n");
  primary_proxy_->Stop();  // its port now refuses connections

  CommandResult issued = Issue(web);
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  EXPECT_EQ(LiveCa("web"), "backup");
  EXPECT_EQ(ListedCa("web"), "backup");
  Status verified = VerifyChain(ReadText(LivePath("web", "cert.pem")),
                                ReadText(LivePath("web", "chain.pem")), env_->Pebble2RootPem(),
                                RealClock()->Now());
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  EXPECT_GT(backup_proxy_->Count("POST", "newOrder"), 0);

  // The skip is a step of the attempt, with the connect error.
  std::vector<json> steps = CaSteps("web");
  json primary = StepFor(steps, "primary");
  ASSERT_FALSE(primary.is_null()) << json(steps).dump(2);
  EXPECT_TRUE(primary["result"] == "skipped" || primary["result"] == "failed") << primary.dump();
  ASSERT_TRUE(primary["error"].is_string()) << primary.dump();
  std::string error = Lower(primary["error"]);
  EXPECT_TRUE(error.find("connect") != std::string::npos ||
              error.find("refused") != std::string::npos)
      << primary.dump();
  // Each CA step names the CA's directory as its output.
  EXPECT_EQ(primary.value("output", ""), primary_proxy_->url()) << primary.dump();
  json backup = StepFor(steps, "backup");
  EXPECT_EQ(backup.value("result", ""), "ok") << json(steps).dump(2);
  EXPECT_EQ(backup.value("output", ""), backup_proxy_->url()) << backup.dump();
  json history = RunJson({"history", "web"});
  ASSERT_TRUE(history.is_array() && !history.empty());
  EXPECT_EQ(history[0]["outcome"], "success");

  // The preferred CA is back: the next renewal starts from it again.
  ASSERT_TRUE(primary_proxy_->Start()) << "the primary proxy did not restart";
  backup_proxy_->ResetLog();
  CommandResult renewed = Run({"renew", "--force", "web"});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.out << renewed.err;
  EXPECT_EQ(LiveCa("web"), "primary");
  EXPECT_EQ(ListedCa("web"), "primary");
  EXPECT_GT(primary_proxy_->Count("POST", "newOrder"), 0);
  EXPECT_EQ(backup_proxy_->Count("POST", "newOrder"), 0);
  verified = VerifyChain(ReadText(LivePath("web", "cert.pem")),
                         ReadText(LivePath("web", "chain.pem")),
                         ReadText(env_->Get("PEBBLE_ROOTS_PEM")), RealClock()->Now());
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  EXPECT_EQ(StepFor(CaSteps("web"), "primary").value("result", ""), "ok");
}

TEST_F(MultiCaFailoverTest, WithoutReturnToPreferredTheRenewalStaysWithTheIssuingCa) {
  CertBlock web = Web("stay.example.com");
  Configure({Primary(), Backup()}, {web}, "[renewal]\nreturn_to_preferred = false\n");
  primary_proxy_->Stop();
  ASSERT_EQ(Issue(web).exit_code, 0);
  ASSERT_EQ(LiveCa("web"), "backup");

  ASSERT_TRUE(primary_proxy_->Start());
  CommandResult renewed = Run({"renew", "--force", "web"});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.out << renewed.err;
  EXPECT_EQ(LiveCa("web"), "backup");
  EXPECT_EQ(primary_proxy_->Count("POST", "newOrder"), 0);
}

// A CA that accepts the connection and never answers costs one timeout (the
// [[ca]] block's), then the next CA issues.
TEST_F(MultiCaFailoverTest, PreferredCaThatNeverAnswersCostsItsTimeout) {
  int silent_port = testing::PickFreePort();
  failover::PortBlocker silent(silent_port);  // listens, never accepts
  ASSERT_TRUE(silent.bound());
  CaBlock primary = Primary();
  primary.server = "https://127.0.0.1:" + std::to_string(silent_port) + "/dir";
  primary.timeout = "2s";
  CertBlock web = Web("silent.example.com");
  Configure({primary, Backup()}, {web});

  auto start = std::chrono::steady_clock::now();
  CommandResult issued = Issue(web);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  EXPECT_EQ(LiveCa("web"), "backup");
  json step = StepFor(CaSteps("web"), "primary");
  ASSERT_FALSE(step.is_null());
  ASSERT_TRUE(step["error"].is_string()) << step.dump();
  EXPECT_TRUE(Contains(Lower(step["error"]), "time")) << step.dump();
  std::cout << "[ figure ] issuance with a silent preferred CA (timeout 2s): "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
            << " ms\n";
}

// 429 with Retry-After: the next CA issues, and the rate-limited one is not
// asked again before the time it named, not even by a forced renewal.
TEST_F(MultiCaFailoverTest, RateLimitedPreferredCaIsNotCalledAgainBeforeRetryAfter) {
  CertBlock web = Web("limited.example.com");
  Configure({Primary(), Backup()}, {web});
  primary_proxy_->SetFaults("newOrder 429 3600\n");

  CommandResult issued = Issue(web);
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  EXPECT_EQ(LiveCa("web"), "backup");
  EXPECT_EQ(primary_proxy_->Count("POST", "newOrder"), 1);
  json step = StepFor(CaSteps("web"), "primary");
  ASSERT_FALSE(step.is_null());
  EXPECT_TRUE(step["result"] == "skipped" || step["result"] == "failed") << step.dump();
  ASSERT_TRUE(step["error"].is_string()) << step.dump();
  EXPECT_TRUE(Contains(Lower(step["error"]), "rate")) << step.dump();

  primary_proxy_->ResetLog();
  CommandResult renewed = Run({"renew", "--force", "web"});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.out << renewed.err;
  EXPECT_EQ(LiveCa("web"), "backup");
  EXPECT_EQ(Total(*primary_proxy_), 0) << "the rate-limited CA was called again:\n"
                                       << ReadText(dir_.path() + "/primary/proxy.log");
  json again = StepFor(CaSteps("web"), "primary");
  ASSERT_FALSE(again.is_null());
  EXPECT_EQ(again.value("result", ""), "skipped") << again.dump();
}

// RFC 8659: a CAA record that names only the second CA's identity. The first CA
// is skipped before any order: it never sees a newAccount or a newOrder.
TEST_F(MultiCaFailoverTest, CaaRecordNamingOnlyTheBackupSkipsThePreferredCa) {
  env_->ChalltestsrvPost(
      "/add-caa",
      R"({"host":"caa.example.com.","policies":[{"tag":"issue","value":"backup.pebble.test"}]})");
  CaBlock primary = Primary();
  primary.caa_identities = {"primary.pebble.test"};
  CaBlock backup = Backup();
  backup.caa_identities = {"backup.pebble.test"};
  CertBlock web = Web("caa.example.com");
  Configure({primary, backup}, {web},
            "[caa]\nresolver = " + Quoted(env_->Get("CHALLTESTSRV_DNS")) + "\n");

  CommandResult issued = Issue(web);
  env_->ChalltestsrvPost("/clear-caa", R"({"host":"caa.example.com."})");
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  EXPECT_EQ(LiveCa("web"), "backup");
  EXPECT_EQ(primary_proxy_->Count("POST", "newOrder"), 0);
  EXPECT_EQ(primary_proxy_->Count("POST", "newAccount"), 0);
  std::cout << "[ figure ] requests to the CA that CAA excludes: " << Total(*primary_proxy_)
            << "\n";
  json step = StepFor(CaSteps("web"), "primary");
  ASSERT_FALSE(step.is_null());
  EXPECT_EQ(step.value("result", ""), "skipped") << step.dump();
  ASSERT_TRUE(step["error"].is_string()) << step.dump();
  EXPECT_TRUE(Contains(Lower(step["error"]), "caa")) << step.dump();
}

// A CA that answers 503 to every order, after the bounded retries.
TEST_F(MultiCaFailoverTest, PreferredCaAnswering503FallsBack) {
  CertBlock web = Web("unavailable.example.com");
  Configure({Primary(), Backup()}, {web});
  primary_proxy_->SetFaults("newOrder 503\n");
  CommandResult issued = Issue(web);
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  EXPECT_EQ(LiveCa("web"), "backup");
  EXPECT_GE(primary_proxy_->Count("POST", "newOrder"), 1);
  json step = StepFor(CaSteps("web"), "primary");
  ASSERT_FALSE(step.is_null());
  ASSERT_TRUE(step["error"].is_string()) << step.dump();
}

}  // namespace
}  // namespace certkeeper::multi_ca
