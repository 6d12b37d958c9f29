// Challenge failover through the CLI against Pebble (ARCHITECTURE.md
// "Principles"): a route that fails its own check costs nothing at the CA; a
// route the CA rejects is retried on a new order with the next type; when every
// route fails, the previous certificate stays live. Pebble reuses no
// authorization here (PEBBLE_AUTHZREUSE=0), so each order is validated afresh.
#include <dirent.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/failover_session.h"

namespace certkeeper::failover {
namespace {

using std::chrono::steady_clock;

class FailoverRoutesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.env = {{"PEBBLE_AUTHZREUSE", "0"}};
    env_ = TestEnv::Start(options).release();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(env_, nullptr); }

  int HttpPort() const { return std::stoi(env_->Get("PEBBLE_HTTP_PORT")); }
  int TlsPort() const { return std::stoi(env_->Get("PEBBLE_TLS_PORT")); }
  std::string Dns() const { return ChalltestsrvDns(*env_, env_->Get("CHALLTESTSRV_URL")); }
  // A challtestsrv URL on a port where nothing listens.
  static std::string DeadDns() {
    return ChalltestsrvDns(*env_, "http://127.0.0.1:" + std::to_string(testing::PickFreePort()));
  }

  // Points host's A record at 127.0.0.3, where nothing listens, for Pebble.
  static void Unreachable(const std::string& host) {
    env_->ChalltestsrvPost("/add-a", json{{"host", host}, {"addresses", {"127.0.0.3"}}}.dump());
  }
  static void Reachable(const std::string& host) {
    env_->ChalltestsrvPost("/clear-a", json{{"host", host}}.dump());
  }

  static TestEnv* env_;
};
TestEnv* FailoverRoutesTest::env_ = nullptr;

TEST_F(FailoverRoutesTest, Http01PortTakenFallsOverToDns01WithoutAFailedValidation) {
  const std::string domain = "taken.routes.example.com";
  PortBlocker blocker(HttpPort());
  ASSERT_TRUE(blocker.bound());
  Session session(env_);
  session.WriteConfig(HttpStandalone(*env_) + Dns());
  CommandResult r = session.Issue("taken", {domain}, "http-01,dns-01");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  session.ExpectValidLive("taken", {domain});

  json attempt = session.LastAttempt("taken");
  std::vector<json> self_check = Steps(attempt, "self-check", "http-01", domain, "failed");
  ASSERT_EQ(self_check.size(), 1u) << attempt.dump(2);
  EXPECT_NE(self_check[0]["error"].get<std::string>().find("in use"), std::string::npos)
      << self_check[0].dump();
  EXPECT_EQ(Steps(attempt, "validation", "dns-01", domain, "ok").size(), 1u) << attempt.dump(2);
  // The broken route never reached the CA: one order, no rejected validation.
  EXPECT_TRUE(Steps(attempt, "validation", "", "", "failed").empty()) << attempt.dump(2);
  EXPECT_TRUE(Steps(attempt, "validation", "http-01", "", "").empty()) << attempt.dump(2);
  EXPECT_EQ(Steps(attempt, "order", "", "", "ok").size(), 1u) << attempt.dump(2);
  EXPECT_EQ(session.Json({"list"})[0]["last_attempt"]["challenge"], "dns-01");
  EXPECT_TRUE(ChalltestsrvTxt(*env_, domain).empty());
}

TEST_F(FailoverRoutesTest, Http01RejectedByTheCaIsRetriedWithDns01OnANewOrder) {
  const std::string domain = "rejected.routes.example.com";
  Unreachable(domain);
  Session session(env_);
  session.WriteConfig(HttpStandalone(*env_) + Dns());
  CommandResult r = session.Issue("rejected", {domain}, "http-01,dns-01");
  Reachable(domain);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  session.ExpectValidLive("rejected", {domain});

  json attempt = session.LastAttempt("rejected");
  std::vector<json> failed = Steps(attempt, "validation", "http-01", domain, "failed");
  ASSERT_EQ(failed.size(), 1u) << attempt.dump(2);
  EXPECT_NE(failed[0]["error"].get<std::string>().find("127.0.0.3"), std::string::npos)
      << failed[0].dump();
  EXPECT_EQ(Steps(attempt, "validation", "dns-01", domain, "ok").size(), 1u) << attempt.dump(2);
  EXPECT_EQ(Steps(attempt, "order", "", "", "ok").size(), 2u) << attempt.dump(2);
  EXPECT_EQ(attempt["outcome"], "success");
  EXPECT_TRUE(PortIsFree(HttpPort()));
  EXPECT_TRUE(ChalltestsrvTxt(*env_, domain).empty());
}

TEST_F(FailoverRoutesTest, DnsProviderDownFallsOverToTlsAlpn01) {
  const std::string domain = "dnsdown.routes.example.com";
  Session session(env_);
  session.WriteConfig(DeadDns() + TlsAlpn(*env_));
  CommandResult r = session.Issue("dnsdown", {domain}, "dns-01,tls-alpn-01");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  session.ExpectValidLive("dnsdown", {domain});
  json attempt = session.LastAttempt("dnsdown");
  EXPECT_EQ(Steps(attempt, "", "dns-01", domain, "failed").size(), 1u) << attempt.dump(2);
  EXPECT_EQ(Steps(attempt, "validation", "tls-alpn-01", domain, "ok").size(), 1u)
      << attempt.dump(2);
  EXPECT_TRUE(Steps(attempt, "validation", "", "", "failed").empty()) << attempt.dump(2);
  EXPECT_TRUE(PortIsFree(TlsPort()));
}

TEST_F(FailoverRoutesTest, EveryRouteBrokenFailsWithExit2AndKeepsTheLiveVersion) {
  const std::string domain = "broken.routes.example.com";
  Session session(env_);
  session.WriteConfig(HttpStandalone(*env_));
  ASSERT_EQ(session.Issue("broken", {domain}, "http-01").exit_code, 0);
  auto cert_before = fs::ReadFile(session.Live("broken", "cert.pem"));
  auto key_before = fs::ReadFile(session.Live("broken", "privkey.pem"));
  ASSERT_TRUE(cert_before.ok() && key_before.ok());
  std::vector<std::string> live_files = FilesUnder(session.state() + "/live/broken");

  session.WriteConfig(HttpStandalone(*env_) + DeadDns() + TlsAlpn(*env_));
  // A name the CA holds no valid authorization for: an order for the first
  // name may come back ready (a reused authorization), and no route is tried.
  const std::string renamed = "broken2.routes.example.com";
  CommandResult r;
  {
    PortBlocker http(HttpPort());
    PortBlocker tls(TlsPort());
    ASSERT_TRUE(http.bound() && tls.bound());
    r = session.Issue("broken", {renamed}, "http-01,dns-01,tls-alpn-01");
  }
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  // The error names each route and why it failed.
  const std::string output = r.out + r.err;
  EXPECT_NE(output.find("every challenge route failed for " + renamed), std::string::npos)
      << output;
  const std::vector<std::string> reasons = {
      "via http-01: self-check failed: http-01: cannot listen on 127.0.0.1:" +
          std::to_string(HttpPort()) + ": address in use",
      "via dns-01: self-check failed: dns-01 self-check: provider challtestsrv",
      "via tls-alpn-01: self-check failed: tls-alpn-01: cannot listen on 127.0.0.1:" +
          std::to_string(TlsPort()) + ": address in use"};
  for (const std::string& why : reasons) {
    EXPECT_NE(output.find(renamed + " " + why), std::string::npos) << why << "\nin: " << output;
  }
  EXPECT_EQ(*fs::ReadFile(session.Live("broken", "cert.pem")), *cert_before);
  EXPECT_EQ(*fs::ReadFile(session.Live("broken", "privkey.pem")), *key_before);
  EXPECT_EQ(FilesUnder(session.state() + "/live/broken"), live_files);
  EXPECT_FALSE(fs::Exists(session.state() + "/archive/broken/2"));
  session.ExpectValidLive("broken", {domain});

  json history = session.Json({"history", "broken"});
  ASSERT_EQ(history.size(), 2u) << history.dump(2);
  EXPECT_EQ(history[0]["outcome"], "failed");
  EXPECT_EQ(history[1]["outcome"], "success");
  for (const char* type : {"http-01", "dns-01", "tls-alpn-01"}) {
    EXPECT_FALSE(Steps(history[0], "", type, renamed, "failed").empty()) << type;
  }
  // Nothing reached the CA's validation, and the order's authorization does not
  // linger there (RFC 8555 §7.5.2).
  EXPECT_TRUE(Steps(history[0], "validation", "", "", "").empty()) << history[0].dump(2);
  EXPECT_EQ(Steps(history[0], "deactivate", "", renamed, "ok").size(), 1u) << history[0].dump(2);
  json list = session.Json({"list"});
  EXPECT_EQ(list[0]["last_attempt"]["outcome"], "failed");
  EXPECT_TRUE(PortIsFree(HttpPort()));
  EXPECT_TRUE(PortIsFree(TlsPort()));
}

// One name can only pass dns-01 (its A record leads nowhere), the other only
// http-01 (the DNS hook refuses its zone). Both orders of preference must end
// in one certificate for both names.
TEST_F(FailoverRoutesTest, MultiDomainOrderUsesADifferentRoutePerName) {
  Session session(env_);
  std::string hook = session.dir() + "/dns-hook";
  WriteScript(hook, ChalltestsrvHookScript(env_->Get("CHALLTESTSRV_URL"),
                                           "_acme-challenge.httponly*"));
  session.WriteConfig(HttpStandalone(*env_) + ExecDns(*env_, hook));
  for (const std::string preference : {"http-01,dns-01", "dns-01,http-01"}) {
    SCOPED_TRACE(preference);
    std::string tag = preference.substr(0, 3);
    const std::string dns_only = "dnsonly-" + tag + ".multi.example.com";
    const std::string http_only = "httponly-" + tag + ".multi.example.com";
    Unreachable(dns_only);
    CommandResult r = session.Issue("multi-" + tag, {dns_only, http_only}, preference);
    Reachable(dns_only);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    session.ExpectValidLive("multi-" + tag, {dns_only, http_only});
    json attempt = session.LastAttempt("multi-" + tag);
    EXPECT_EQ(Steps(attempt, "validation", "dns-01", dns_only, "ok").size(), 1u)
        << attempt.dump(2);
    // With http-01 first, http_only validates in both orders.
    EXPECT_GE(Steps(attempt, "validation", "http-01", http_only, "ok").size(), 1u)
        << attempt.dump(2);
    EXPECT_TRUE(Steps(attempt, "validation", "dns-01", http_only, "").empty())
        << attempt.dump(2);
    if (preference == "dns-01,http-01") {
      // The hook refused http_only's record; dns_only kept dns-01, at no cost
      // at the CA.
      EXPECT_FALSE(Steps(attempt, "present", "dns-01", http_only, "failed").empty())
          << attempt.dump(2);
      EXPECT_TRUE(Steps(attempt, "validation", "", "", "failed").empty()) << attempt.dump(2);
      EXPECT_EQ(Steps(attempt, "order", "", "", "ok").size(), 1u) << attempt.dump(2);
    } else {
      EXPECT_EQ(Steps(attempt, "validation", "http-01", dns_only, "failed").size(), 1u)
          << attempt.dump(2);
    }
    EXPECT_TRUE(ChalltestsrvTxt(*env_, dns_only).empty());
  }
  EXPECT_TRUE(PortIsFree(HttpPort()));
}

// Counts live processes running exactly `sleep <seconds>` (zombies excluded).
int SleepersOf(const std::string& seconds) {
  int count = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  const std::string wanted = std::string("sleep") + '\0' + seconds + '\0';
  while (dirent* e = readdir(proc)) {
    std::string pid = e->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline("/proc/" + pid + "/cmdline");
    std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (text != wanted) continue;
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string stat_text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t paren = stat_text.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat_text.size() &&
        stat_text[paren + 2] == 'Z') {
      continue;
    }
    ++count;
  }
  closedir(proc);
  return count;
}

TEST_F(FailoverRoutesTest, HangingDnsHookIsKilledAtItsTimeoutAndFailoverContinues) {
  const std::string domain = "hang.routes.example.com";
  Session session(env_);
  std::string hook = session.dir() + "/dns-hook";
  // The hook hangs in a child process ("sleep 117"), so only killing its whole
  // process group ends it.
  std::string script = ChalltestsrvHookScript(env_->Get("CHALLTESTSRV_URL"), "", "*");
  size_t at = script.find("sleep 120");
  ASSERT_NE(at, std::string::npos);
  script.replace(at, 9, "sleep 117");
  WriteScript(hook, script);
  session.WriteConfig(ExecDns(*env_, hook, "2s") + HttpStandalone(*env_));
  auto start = steady_clock::now();
  CommandResult r = session.Issue("hang", {domain}, "dns-01,http-01");
  auto took = steady_clock::now() - start;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(took, std::chrono::seconds(40));
  session.ExpectValidLive("hang", {domain});
  json attempt = session.LastAttempt("hang");
  std::vector<json> present = Steps(attempt, "present", "dns-01", domain, "failed");
  ASSERT_EQ(present.size(), 1u) << attempt.dump(2);
  EXPECT_NE(present[0]["error"].get<std::string>().find("timed out"), std::string::npos)
      << present[0].dump();
  EXPECT_EQ(Steps(attempt, "validation", "http-01", domain, "ok").size(), 1u)
      << attempt.dump(2);
  // The killed group's sleep is gone (reaped by init shortly after SIGKILL).
  auto deadline = steady_clock::now() + std::chrono::seconds(5);
  while (SleepersOf("117") != 0 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(SleepersOf("117"), 0);
}

}  // namespace
}  // namespace certkeeper::failover
