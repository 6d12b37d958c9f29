// Alerts as a user sees them: certkeeper renews against Pebble, a webhook
// alert in Alertmanager format posts to a real Prometheus Alertmanager and a
// command alert records each notification it gets. Two certificates fail to
// renew (Pebble cannot reach the http-01 solver) -> one notification firing
// both, visible in Alertmanager; a second run in the same condition sends
// nothing; once they renew -> one notification resolving both, and
// Alertmanager holds no active alert of ours.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/fs.h"
#include "base/process.h"
#include "tests/e2e/e2e_support.h"

namespace certkeeper {
namespace {

using nlohmann::json;

class AlertsAlertmanagerTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.alertmanager = true;
    StartEnv(options);
  }

  void SetUpTest() override {
    notes_ = dir_.path() + "/notes";
    ASSERT_TRUE(fs::MakeDirs(notes_).ok());
    recorder_ = dir_.path() + "/record-alert";
    fs::WriteOptions executable;
    executable.mode = 0755;
    // Each notification's stdin goes to notes/<n>.json, its counts beside it.
    ASSERT_TRUE(fs::WriteFileAtomic(recorder_,
                                    "#!/bin/sh\n"
                                    "n=$(ls \"$1\" | grep -c 'json$')\n"
                                    "n=$((n + 1))\n"
                                    "printf '%s %s' \"$CERTKEEPER_FIRING\" "
                                    "\"$CERTKEEPER_RESOLVED\" > \"$1/$n.counts\"\n"
                                    "cat > \"$1/$n.json\"\n",
                                    executable)
                    .ok());
    wrong_port_ = testing::PickFreePort();
    closed_port_ = testing::PickFreePort();
  }

  // Both certificates use http-01 on `port`; Pebble validates on
  // PEBBLE_HTTP_PORT, so any other port makes every order fail.
  void WriteConfig(int port) {
    std::ofstream f(config_);
    f << "state_dir = \"" << state_ << "\"\n"
      << "[acme]\nserver = \"" << env_->Get("ACME_DIRECTORY_URL") << "\"\n"
      << "ca_bundle = \"" << env_->Get("ACME_CA_BUNDLE") << "\"\n"
      << "issuer_roots = \"" << env_->Get("PEBBLE_ROOT_PEM") << "\"\n"
      << "email = \"ops@example.com\"\nagree_tos = true\n"
      << "[solvers.http-01]\nlisten = \"127.0.0.1:" << port << "\"\n";
    for (const char* name : {"alpha", "beta"}) {
      f << "[[certificate]]\nname = \"" << name << "\"\ndomains = [\"" << name
        << ".alerts.example\"]\nchallenges = [\"http-01\"]\n";
    }
    f << "[[alert]]\nname = \"am\"\ntype = \"webhook\"\nformat = \"alertmanager\"\n"
      << "url = \"" << env_->Get("ALERTMANAGER_URL") << "\"\n"
      << "events = [\"renewal-failing\"]\nfailures = 1\n"
      << "[[alert]]\nname = \"recorder\"\ntype = \"command\"\n"
      << "command = [\"" << recorder_ << "\", \"" << notes_ << "\"]\n"
      << "events = [\"renewal-failing\"]\nfailures = 1\n"
      // A target that is down: retried later, never in the way.
      << "[[alert]]\nname = \"down\"\ntype = \"webhook\"\ntimeout = \"2s\"\n"
      << "url = \"http://127.0.0.1:" << closed_port_ << "/hook\"\nfailures = 1\n";
  }

  int Notes() {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(notes_)) {
      if (e.path().extension() == ".json") ++n;
    }
    return n;
  }
  json Note(int n) {
    auto text = fs::ReadFile(notes_ + "/" + std::to_string(n) + ".json");
    EXPECT_TRUE(text.ok());
    return json::parse(text.ok() ? *text : "null", nullptr, false);
  }

  // The active alerts Alertmanager holds from the alert "am", by certificate.
  std::vector<json> ActiveAlerts() {
    ProcessSpec curl;
    curl.argv = {"curl", "-sS", "-f", "--max-time", "5",
                 env_->Get("ALERTMANAGER_URL") + "/api/v2/alerts?filter=certkeeper_alert%3D%22am%22"};
    auto r = RunProcessChecked(curl);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    json all = json::parse(r->stdout_data, nullptr, false);
    std::vector<json> out;
    if (!all.is_array()) return out;
    for (const json& a : all) {
      if (a["status"]["state"] == "active") out.push_back(a);
    }
    std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
      return a["labels"]["certificate"] < b["labels"]["certificate"];
    });
    return out;
  }

  std::string notes_, recorder_;
  int wrong_port_ = 0;
  int closed_port_ = 0;
};

TEST_F(AlertsAlertmanagerTest, FiresOnceGroupedAndResolvesOnceInAlertmanager) {
  WriteConfig(wrong_port_);
  testing::CommandResult run1 = Run({"renew", "--all"});
  EXPECT_NE(run1.exit_code, 0) << run1.out << run1.err;

  // One notification to each target, carrying both certificates.
  ASSERT_EQ(Notes(), 1) << run1.err;
  EXPECT_NE(run1.err.find("alert delivery failed"), std::string::npos) << run1.err;
  json first = Note(1);
  ASSERT_EQ(first["firing"].size(), 2u) << first.dump();
  EXPECT_EQ(first["firing"][0]["subject"], "alpha");
  EXPECT_EQ(first["firing"][1]["subject"], "beta");
  EXPECT_EQ(first["firing"][0]["event"], "renewal-failing");
  EXPECT_EQ(*fs::ReadFile(notes_ + "/1.counts"), "2 0");
  std::vector<json> active = ActiveAlerts();
  ASSERT_EQ(active.size(), 2u) << run1.err;
  EXPECT_EQ(active[0]["labels"]["alertname"], "CertificateRenewalFailing");
  EXPECT_EQ(active[0]["labels"]["certificate"], "alpha");
  EXPECT_EQ(active[1]["labels"]["certificate"], "beta");
  EXPECT_EQ(active[0]["labels"]["event"], "renewal-failing");
  const json updated = active[0]["updatedAt"];

  // The same condition on the next run: nothing new anywhere.
  testing::CommandResult run2 = Run({"renew", "--all"});
  EXPECT_EQ(Notes(), 1) << run2.err;
  active = ActiveAlerts();
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0]["updatedAt"], updated) << "Alertmanager received the alert again";

  // `alerts` shows each tracked condition: delivered to the two working
  // targets, still pending with its failures for the one that is down.
  testing::CommandResult listed = Run({"--json", "alerts"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json tracked = json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(tracked.is_array()) << listed.out;
  ASSERT_EQ(tracked.size(), 6u) << tracked.dump(2);
  for (const json& a : tracked) {
    EXPECT_EQ(a["event"], "renewal-failing") << a.dump();
    EXPECT_EQ(a["state"], "firing") << a.dump();
    const bool down = a["alert"] == "down";
    EXPECT_EQ(a["notified"], !down) << a.dump();
    EXPECT_EQ(a["failures"].get<int>() > 0, down) << a.dump();
    EXPECT_EQ(a["next_try_at"].is_string(), down) << a.dump();
  }

  // Fixed: both renew; one notification resolves both.
  WriteConfig(std::stoi(env_->Get("PEBBLE_HTTP_PORT")));
  testing::CommandResult run3 = Run({"renew", "--force", "alpha", "beta"});
  ASSERT_EQ(run3.exit_code, 0) << run3.out << run3.err;  // the target that is down is no failure
  ASSERT_EQ(Notes(), 2) << run3.err;
  json second = Note(2);
  EXPECT_TRUE(second["firing"].empty()) << second.dump();
  ASSERT_EQ(second["resolved"].size(), 2u) << second.dump();
  EXPECT_EQ(second["resolved"][0]["subject"], "alpha");
  EXPECT_EQ(second["resolved"][1]["subject"], "beta");
  EXPECT_TRUE(second["resolved"][0].contains("ended_at"));
  EXPECT_EQ(*fs::ReadFile(notes_ + "/2.counts"), "0 2");
  EXPECT_TRUE(ActiveAlerts().empty());

  // Resolved once: a further run sends nothing.
  testing::CommandResult run4 = Run({"renew", "--all"});
  EXPECT_EQ(run4.exit_code, 0) << run4.err;
  EXPECT_EQ(Notes(), 2);
  // The conditions that every target was told about are gone; the target
  // that is down still owes "firing" and "resolved" of nothing: dropped.
  testing::CommandResult after = Run({"alerts"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out.find("am: "), std::string::npos) << after.out;
  EXPECT_EQ(after.out.find("recorder: "), std::string::npos) << after.out;
}

}  // namespace
}  // namespace certkeeper
