// `renew --all` when the CA misbehaves or certkeeper dies: a CA answering
// newOrder with 429 rateLimited + Retry-After gets no further request until that
// time; a CA that refuses connections ends the run quickly with the rest of the
// certificates deferred; a run killed with SIGKILL while its order is being
// finalized or while a deploy target runs is completed by the next run, and the
// inventory matches the files afterwards. Renewal information (RFC 9773), which
// Pebble lacks, is added by the proxy: its window decides when to renew, the CA
// is asked again only after its Retry-After, and a renewal names the
// certificate it replaces.
#include <filesystem>

#include "acme/client.h"
#include "base/crypto.h"
#include "tests/e2e/renew_support.h"

namespace certkeeper::renew_test {
namespace {

class RenewFaultsTest : public RenewSession {
 protected:
  // Every recorded version has its complete files, and live/<name> points at a
  // recorded, deployed version whose files are the live ones.
  void ExpectInventoryMatchesFiles(const std::string& name) {
    CommandResult r = Run({"--json", "show", name});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json show = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(show.is_object()) << r.out;
    for (const json& v : show["versions"]) {
      std::string dir = v["directory"];
      for (const char* f : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}) {
        auto content = fs::ReadFile(dir + "/" + f);
        ASSERT_TRUE(content.ok()) << dir << "/" << f;
        EXPECT_FALSE(content->empty()) << dir << "/" << f;
      }
      auto info = ParseCertificatePem(*fs::ReadFile(dir + "/cert.pem"));
      ASSERT_TRUE(info.ok());
      EXPECT_EQ(info->serial_hex, v["serial"].get<std::string>());
    }
    // The live version: its number and serial at the top level of `show`.
    ASSERT_TRUE(show["version"].is_number()) << r.out;
    bool recorded_deployed = false;
    for (const json& v : show["versions"]) {
      if (v["n"] == show["version"]) recorded_deployed = v["state"] == "deployed";
    }
    EXPECT_TRUE(recorded_deployed) << r.out;
    auto live_cert = fs::ReadFile(state_ + "/live/" + name + "/cert.pem");
    ASSERT_TRUE(live_cert.ok());
    auto info = ParseCertificatePem(*live_cert);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->serial_hex, show["serial"].get<std::string>());
    auto key = PrivateKey::FromPem(*fs::ReadFile(state_ + "/live/" + name + "/privkey.pem"));
    ASSERT_TRUE(key.ok());
    EXPECT_TRUE(KeyMatchesCertificate(*key, *live_cert).ok());
  }
};


TEST_F(RenewFaultsTest, RateLimitedOrderIsDeferredWithoutFurtherRequests) {
  std::vector<Managed> certs = ManyCertificates(3);
  Configure(certs);
  ASSERT_EQ(Run({"renew", "--all"}).exit_code, 0);

  certs[0].domains.push_back("www." + certs[0].domains[0]);
  Configure(certs);
  proxy_->SetFaults("newOrder 429 3600\n");
  proxy_->ResetLog();
  // The run that got the 429 failed to renew: exit 2, the old version stays live.
  CommandResult limited = Run({"--json", "renew", "--all"});
  EXPECT_EQ(limited.exit_code, 2) << limited.out << limited.err;
  EXPECT_EQ(Outcomes(limited.out)["c00"], "failed") << limited.out;
  EXPECT_NE(limited.out.find("rateLimited"), std::string::npos) << limited.out;
  EXPECT_EQ(proxy_->Count("POST", "newOrder"), 1);
  EXPECT_TRUE(fs::Exists(state_ + "/live/c00/cert.pem"));

  // Before the CA's Retry-After, the next run defers without asking: exit 0.
  proxy_->ResetLog();
  CommandResult next = Run({"--json", "renew", "--all"});
  EXPECT_EQ(next.exit_code, 0) << next.out << next.err;
  auto outcomes = Outcomes(next.out);
  EXPECT_EQ(outcomes["c00"], "deferred") << next.out;
  EXPECT_EQ(outcomes["c01"], "not-due") << next.out;
  EXPECT_TRUE(proxy_->Requests().empty()) << proxy_->Requests().size() << " requests";

  json list = json::parse(Run({"--json", "list"}).out, nullptr, false);
  ASSERT_TRUE(list.is_array());
  for (const json& c : list) {
    if (c["name"] != "c00") continue;
    auto next_attempt = ParseRfc3339(c["next_attempt"].get<std::string>());
    ASSERT_TRUE(next_attempt.ok());
    EXPECT_GT(*next_attempt, RealClock()->Now() + std::chrono::minutes(50));
  }
  json history = json::parse(Run({"--json", "history", "c00"}).out, nullptr, false);
  ASSERT_TRUE(history.is_array() && !history.empty());
  EXPECT_EQ(history[0]["outcome"], "failed");
  EXPECT_TRUE(history[0]["retry_after"].is_string()) << history[0].dump();
}

TEST_F(RenewFaultsTest, UnreachableCaEndsTheRunQuicklyWithTheRestDeferred) {
  std::vector<Managed> certs = ManyCertificates(6);
  Configure(certs);
  ASSERT_EQ(Run({"renew", "--all"}).exit_code, 0);
  for (Managed& c : certs) c.domains.push_back("www." + c.domains[0]);
  Configure(certs);

  proxy_->Stop();  // connections to the CA's address are refused now
  auto start = std::chrono::steady_clock::now();
  CommandResult r = Run({"--json", "renew", "--all"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_LT(took, std::chrono::seconds(20));
  int failed = 0, deferred = 0;
  for (const auto& [name, outcome] : Outcomes(r.out)) {
    failed += outcome == "failed";
    deferred += outcome == "deferred";
  }
  EXPECT_EQ(failed, 3) << r.out;
  EXPECT_EQ(deferred, 3) << r.out;
  for (const Managed& c : certs) {
    EXPECT_TRUE(fs::Exists(state_ + "/live/" + c.name + "/cert.pem")) << c.name;
  }
}

TEST_F(RenewFaultsTest, RunKilledDuringFinalizeIsResumedByTheNextRun) {
  std::vector<Managed> certs = ManyCertificates(1);
  Configure(certs);
  ASSERT_EQ(Run({"renew", "--all"}).exit_code, 0);
  certs[0].domains.push_back("www." + certs[0].domains[0]);
  Configure(certs);

  proxy_->SetFaults("finalize stall\n");
  proxy_->ResetLog();
  {
    Child run({CERTKEEPER_BINARY, "-c", config_, "renew", "--all"}, dir_.path() + "/run.out");
    ASSERT_TRUE(WaitFor([&] { return proxy_->Count("POST", "finalize") > 0; }))
        << ReadText(dir_.path() + "/run.out");
    int status = run.Kill(SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(status));
  }
  proxy_->SetFaults("");
  proxy_->ResetLog();

  CommandResult next = Run({"--json", "renew", "--all"});
  ASSERT_EQ(next.exit_code, 0) << next.out << next.err;
  EXPECT_EQ(Outcomes(next.out)["c00"], "renewed") << next.out;
  // The pending order was still valid at the CA: resumed, not placed again.
  // The stalled finalize may still reach the CA once released (as when a
  // client dies after sending it): the order is then resumed as processing or
  // valid and only downloaded; otherwise it is finalized once.
  EXPECT_EQ(proxy_->Count("POST", "newOrder"), 0) << next.err;
  EXPECT_LE(proxy_->Count("POST", "finalize"), 1);
  EXPECT_GE(proxy_->Count("POST", "certificate"), 1);
  ExpectInventoryMatchesFiles("c00");
  auto info = ParseCertificatePem(*fs::ReadFile(state_ + "/live/c00/cert.pem"));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(CertificateCovers(*info, "www.c00.renew.test"));
  json history = json::parse(Run({"--json", "history", "c00"}).out, nullptr, false);
  ASSERT_GE(history.size(), 3u);
  EXPECT_EQ(history[0]["outcome"], "success");
  EXPECT_NE(history[1]["outcome"], "running");
}

TEST_F(RenewFaultsTest, RunKilledDuringDeployIsCompletedByTheNextRun) {
  // A deploy command that blocks (recording its PID) while a flag file exists.
  std::string flag = dir_.path() + "/block";
  std::string pid_file = dir_.path() + "/hook.pid";
  std::string script = dir_.path() + "/deploy-hook";
  WriteText(script, "#!/bin/sh\nif [ -e '" + flag + "' ]; then echo $$ > '" + pid_file +
                        "'; exec sleep 120; fi\nexit 0\n");
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  std::string deploy = "[[deploy]]\nname = \"hook\"\ntype = \"command\"\ncommand = [\"" + script +
                       "\"]\ntimeout = \"300s\"\n";
  std::vector<Managed> certs = ManyCertificates(1);
  certs[0].deploy = {"hook"};
  Configure(certs, deploy);
  ASSERT_EQ(Run({"renew", "--all"}).exit_code, 0);
  certs[0].domains.push_back("www." + certs[0].domains[0]);
  Configure(certs, deploy);

  WriteText(flag, "");
  pid_t hook = 0;
  {
    Child run({CERTKEEPER_BINARY, "-c", config_, "renew", "--all"}, dir_.path() + "/run.out");
    bool blocked = WaitFor([&] { return !ReadText(pid_file).empty(); });
    if (blocked) hook = std::atoi(ReadText(pid_file).c_str());
    run.Kill(SIGKILL);
    ASSERT_TRUE(blocked) << ReadText(dir_.path() + "/run.out");
  }
  ASSERT_GT(hook, 0);
  kill(hook, SIGKILL);  // orphaned by the killed run; ours to stop
  std::filesystem::remove(flag);

  // The version was recorded before the deploy: the next run deploys it
  // without a new order.
  proxy_->ResetLog();
  CommandResult next = Run({"--json", "renew", "--all"});
  ASSERT_EQ(next.exit_code, 0) << next.out << next.err;
  EXPECT_EQ(proxy_->Count("POST", "newOrder"), 0);
  ExpectInventoryMatchesFiles("c00");
  auto info = ParseCertificatePem(*fs::ReadFile(state_ + "/live/c00/cert.pem"));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(CertificateCovers(*info, "www.c00.renew.test"));
}

TEST_F(RenewFaultsTest, RenewalInformationFromTheCaDecidesWhenToRenew) {
  std::vector<Managed> certs = ManyCertificates(2);
  // A window a month away; ask again after an hour.
  proxy_->SetFaults("renewalInfo 2592000 2764800 3600\n");
  Configure({certs[0]});
  ASSERT_EQ(Run({"renew", "--all"}).exit_code, 0);

  proxy_->ResetLog();
  TimePoint asked = RealClock()->Now();
  CommandResult first = Run({"--json", "renew", "--all"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(Outcomes(first.out)["c00"], "not-due") << first.out;
  EXPECT_EQ(proxy_->Count("GET", "renewalInfo"), 1);
  EXPECT_EQ(proxy_->Count("POST", "newOrder"), 0);

  CommandResult shown = Run({"--json", "show", "c00"});
  json show = json::parse(shown.out, nullptr, false);
  ASSERT_TRUE(show.is_object() && show["renewal_info"].is_object()) << shown.out;
  auto renew_at = ParseRfc3339(show["renewal_info"]["renew_at"].get<std::string>());
  auto next_fetch = ParseRfc3339(show["renewal_info"]["next_fetch"].get<std::string>());
  ASSERT_TRUE(renew_at.ok() && next_fetch.ok()) << shown.out;
  EXPECT_GE(*renew_at, asked + std::chrono::hours(24 * 30) - std::chrono::minutes(1));
  EXPECT_LE(*renew_at, asked + std::chrono::hours(24 * 32) + std::chrono::minutes(1));
  EXPECT_GE(*next_fetch, asked + std::chrono::minutes(59));
  EXPECT_EQ(show["next_attempt"], show["renewal_info"]["renew_at"]) << shown.out;
  EXPECT_NE(show["next_attempt_reason"].get<std::string>().find("renewal information"),
            std::string::npos)
      << shown.out;

  // The next timer run, before the CA's Retry-After: no request at all.
  proxy_->ResetLog();
  ASSERT_EQ(Run({"renew", "--all"}).exit_code, 0);
  EXPECT_TRUE(proxy_->Requests().empty()) << proxy_->Requests().front();

  // The CA moves the window into the past (say, ahead of a mass revocation).
  // c01 is issued now and asks for its window on the run after; c00 is not
  // asked again before its Retry-After.
  proxy_->SetFaults("renewalInfo -172800 -86400 3600\n");
  Configure(certs);
  ASSERT_EQ(Run({"renew", "--all"}).exit_code, 0);
  auto c01_pem = fs::ReadFile(state_ + "/live/c01/cert.pem");
  ASSERT_TRUE(c01_pem.ok());
  auto c01_id = acme::AriCertificateId(*c01_pem);
  ASSERT_TRUE(c01_id.ok()) << c01_id.status().ToString();

  proxy_->ResetLog();
  CommandResult moved = Run({"--json", "renew", "--all"});
  ASSERT_EQ(moved.exit_code, 0) << moved.out << moved.err;
  auto outcomes = Outcomes(moved.out);
  EXPECT_EQ(outcomes["c00"], "not-due") << moved.out;
  EXPECT_EQ(outcomes["c01"], "renewed") << moved.out;
  EXPECT_EQ(proxy_->Count("GET", "renewalInfo"), 1);
  // RFC 9773 §5: the new order names the certificate it replaces.
  bool replaces = false;
  for (const std::string& line : proxy_->Requests()) {
    if (line.rfind("POST newOrder ", 0) == 0) {
      EXPECT_NE(line.find(" replaces=" + *c01_id), std::string::npos) << line;
      replaces = true;
    }
  }
  EXPECT_TRUE(replaces);
  json c01 = json::parse(Run({"--json", "show", "c01"}).out, nullptr, false);
  ASSERT_TRUE(c01.is_object());
  EXPECT_EQ(c01["version"], 2);
}

}  // namespace
}  // namespace certkeeper::renew_test
