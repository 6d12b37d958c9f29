// A deploy killed between the files target's first and second file leaves a
// certificate's nginx directory with the new fullchain and the old key. Every
// other certificate served by that nginx reloads it, and nginx refuses any
// reload while one pair does not match. The next run must therefore finish the
// interrupted delivery first (docs/faults.md, "Interrupted deliveries"): then
// the other certificates deliver, and the run exits 0.
//
// Real Pebble and nginx; the kill is certkeeper's own crash point
// (CERTKEEPER_CRASH_AT=deploy.file-installed:1, SIGKILL right after the first
// file is installed).
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/fs.h"
#include "base/process.h"
#include "tests/e2e/deploy_support.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/testenv.h"

namespace certkeeper {
namespace {

using deploy_support::Read;
using deploy_support::Toml;
using nlohmann::json;
using testing::CommandResult;

constexpr const char* kDomainSuffix = ".intent.test";

class InterruptedDeliveryTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() { StartEnv(WithNginx()); }

  // The server blocks of this test go, so that a pair this test left
  // mismatched cannot break the next test's reloads.
  void TearDown() override {
    if (conf_before_.empty()) return;
    deploy_support::Write(NginxConfPath(), conf_before_, 0644);
    ProcessSpec reload;
    reload.argv = deploy_support::SplitOnSpaces(env_->Get("NGINX_RELOAD"));
    auto reloaded = RunProcessChecked(reload);
    EXPECT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  }

  void AddNginxSites(const std::vector<std::string>& names) {
    CertkeeperSuite::AddNginxSites(names, kDomainSuffix, &conf_before_);
  }

  // Every name a certificate with a files target into its nginx directory,
  // all sharing the one nginx and its reload.
  void WriteConfig(const std::vector<std::string>& names) {
    std::ostringstream f;
    f << "state_dir = " << Toml(state_) << "\n[acme]\n"
      << "server = " << Toml(env_->Get("ACME_DIRECTORY_URL")) << "\n"
      << "ca_bundle = " << Toml(env_->Get("ACME_CA_BUNDLE")) << "\n"
      << "issuer_roots = " << Toml(env_->Get("PEBBLE_ROOT_PEM")) << "\n"
      << "email = \"ops@example.com\"\nagree_tos = true\n"
      << "[solvers.http-01]\nwebroot = " << Toml(env_->Get("NGINX_WEBROOT")) << "\n"
      << "[renewal.budgets]\nnew_orders_per_3h = 0\n"
      << "certificates_per_registered_domain_per_week = 0\n"
      << "duplicate_certificates_per_week = 0\n";
    for (const std::string& name : names) {
      f << "[[deploy]]\nname = " << Toml("nginx-" + name) << "\ntype = \"files\"\n"
        << "directory = " << Toml(SiteDir(name)) << "\n"
        << "files = { fullchain = \"fullchain.pem\", key = \"privkey.pem\" }\nmode = \"0600\"\n"
        << "reload = " << Toml(deploy_support::SplitOnSpaces(env_->Get("NGINX_RELOAD"))) << "\n"
        << "verify = [\"127.0.0.1:" << nginx_port_ << "\"]\nverify_timeout = \"5s\"\n"
        << "[[certificate]]\nname = " << Toml(name) << "\n"
        << "domains = [" << Toml(name + kDomainSuffix) << "]\n"
        << "challenges = [\"http-01\"]\ndeploy = [" << Toml("nginx-" + name) << "]\n";
    }
    deploy_support::Write(config_, f.str());
  }

  CommandResult Run(std::vector<std::string> args, const testing::EnvVars& env = {}) {
    args.insert(args.begin(), {"-c", config_});
    return testing::RunCertkeeper(args, env, std::chrono::seconds(120));
  }

  // name -> serial of the live version, from `list --json`.
  std::map<std::string, std::string> LiveSerials() {
    std::map<std::string, std::string> serials;
    CommandResult list = Run({"--json", "list"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    json listed = json::parse(list.out, nullptr, false);
    if (!listed.is_array()) {
      ADD_FAILURE() << list.out;
      return serials;
    }
    for (const json& c : listed) {
      if (c["serial"].is_string()) serials[c["name"]] = c["serial"].get<std::string>();
    }
    return serials;
  }

  // nginx serves `serial` for NAME.intent.test within 10 s (after a reload, old
  // workers may answer a few more connections with the old one).
  bool NginxServes(const std::string& name, const std::string& serial) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (deploy_support::ServedSerial(nginx_port_, name + kDomainSuffix) != serial) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  // Each certificate's nginx directory holds its live pair, and nginx serves it.
  void ExpectServed(const std::vector<std::string>& names) {
    std::map<std::string, std::string> serials = LiveSerials();
    for (const std::string& name : names) {
      SCOPED_TRACE("certificate " + name);
      ASSERT_TRUE(serials.count(name));
      std::string live = state_ + "/live/" + name;
      EXPECT_EQ(Read(SiteDir(name) + "/fullchain.pem"), Read(live + "/fullchain.pem"));
      EXPECT_EQ(Read(SiteDir(name) + "/privkey.pem"), Read(live + "/privkey.pem"));
      EXPECT_TRUE(NginxServes(name, serials[name]))
          << "serves " << deploy_support::ServedSerial(nginx_port_, name + kDomainSuffix);
    }
  }

  // Renews `name` and kills the run right after its files target installed the
  // new fullchain.pem, before privkey.pem: its nginx directory holds a pair that
  // does not match, and its deploy intent is left.
  void KillDeliveryHalfway(const std::string& name) {
    std::string live_key_before = Read(state_ + "/live/" + name + "/privkey.pem");
    CommandResult killed = Run({"renew", "--force", name},
                               {{"CERTKEEPER_CRASH_AT", "deploy.file-installed:1"}});
    ASSERT_EQ(killed.exit_code, -1) << "not killed:\n" << killed.out << killed.err;
    ASSERT_NE(killed.err.find("crash point deploy.file-installed reached"), std::string::npos)
        << killed.err;
    ASSERT_TRUE(fs::Exists(state_ + "/archive/" + name + "/deploying"));
    std::string site = SiteDir(name);
    auto key = PrivateKey::FromPem(Read(site + "/privkey.pem"));
    ASSERT_TRUE(key.ok());
    ASSERT_EQ(Read(site + "/privkey.pem"), live_key_before);
    ASSERT_FALSE(KeyMatchesCertificate(*key, Read(site + "/fullchain.pem")).ok())
        << "the kill left a matching pair in " << site;
  }

  std::string conf_before_;
};

// Renewing only another certificate: its reload needs the interrupted pair
// repaired first, whatever the timing.
TEST_F(InterruptedDeliveryTest, RenewingAnotherCertificateFinishesTheInterruptedDeliveryFirst) {
  const std::vector<std::string> names = {"x-a", "x-b"};
  AddNginxSites(names);
  WriteConfig(names);
  CommandResult first = Run({"renew", "--all"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ExpectServed(names);
  KillDeliveryHalfway("x-a");

  CommandResult next = Run({"renew", "--force", "x-b"});
  EXPECT_EQ(next.exit_code, 0) << next.out << next.err;
  ExpectServed(names);
  EXPECT_FALSE(fs::Exists(state_ + "/archive/x-a/deploying"));
  CommandResult history = Run({"history", "x-a"});
  EXPECT_NE(history.out.find("(restore version 1 after the deploy of version 2 was interrupted)"),
            std::string::npos)
      << history.out;
}

// The kill campaign's case: every certificate renewed with --jobs 4 right
// after the kill converges in that one run.
TEST_F(InterruptedDeliveryTest, ParallelRenewalAfterAKilledDeliveryConvergesInOneRun) {
  const std::vector<std::string> names = {"y-a", "y-b", "y-c", "y-d"};
  AddNginxSites(names);
  WriteConfig(names);
  CommandResult first = Run({"renew", "--all", "--jobs", "4"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ExpectServed(names);
  std::map<std::string, std::string> before = LiveSerials();
  KillDeliveryHalfway("y-a");

  CommandResult next = Run({"renew", "--all", "--force", "--jobs", "4"});
  EXPECT_EQ(next.exit_code, 0) << next.out << next.err;
  ExpectServed(names);
  std::map<std::string, std::string> after = LiveSerials();
  for (const std::string& name : names) {
    EXPECT_NE(after[name], before[name]) << name << " was not renewed";
  }
  EXPECT_FALSE(fs::Exists(state_ + "/archive/y-a/deploying"));
}

}  // namespace
}  // namespace certkeeper
