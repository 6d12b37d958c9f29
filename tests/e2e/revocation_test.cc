// Revocation checks against a real local CA (pebble-testenv --with ocsp): an
// `openssl ca` issuing CA whose leaf names an OCSP responder on 127.0.0.1 and
// a CRL that the test nginx serves. Import the leaf, `check` says good by both
// methods and the staple file is written; revoke it in that CA, and the next
// `renew --all` learns it, records it and renews the certificate from Pebble
// with the revocation as the reason.
#include <openssl/ocsp.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/process.h"
#include "store/sql_inventory.h"
#include "tests/e2e/e2e_support.h"

namespace certkeeper {
namespace {

using deploy_support::Read;
using deploy_support::Toml;
using json = nlohmann::json;

class RevocationTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.ocsp = true;
    StartEnv(options);
  }

  void SetUpTest() override {
    // The imported leaf chains to the local CA, the renewed one to Pebble.
    roots_ = dir_.path() + "/roots.pem";
    deploy_support::Write(roots_, Read(env_->Get("OCSP_CA_PEM")) +
                                      Read(env_->Get("PEBBLE_ROOT_PEM")), 0644);
    alerts_ = dir_.path() + "/alerts.jsonl";
  }

  // max_cache 1s: the answer `check` got is asked again by the next run
  // (openssl's responder names no nextUpdate).
  void WriteConfig(const std::string& extra = "") {
    deploy_support::Write(
        config_,
        "state_dir = " + Toml(state_) + "\n[acme]\nserver = " +
            Toml(env_->Get("ACME_DIRECTORY_URL")) + "\nca_bundle = " +
            Toml(env_->Get("ACME_CA_BUNDLE")) + "\nissuer_roots = " + Toml(roots_) +
            "\nemail = \"ops@example.com\"\nagree_tos = true\n"
            "[solvers.dns-01]\nprovider = \"challtestsrv\"\nresolver = " +
            Toml(env_->Get("CHALLTESTSRV_DNS")) + "\npropagation_timeout = \"10s\"\nurl = " +
            Toml(env_->Get("CHALLTESTSRV_URL")) + "\n[revocation]\nmax_cache = \"1s\"\n" + extra,
        0600);
  }

  json Json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    testing::CommandResult r = Run(args);
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }

  // The findings of `check --json` about `name`.
  std::vector<json> Findings(const json& check, const std::string& name) {
    std::vector<json> out;
    for (const json& f : check) {
      if (f.value("name", "") == name) out.push_back(f);
    }
    return out;
  }

  // Revokes the leaf in STATE/ocsp/<leaf_> in the local CA (OCSP and CRL).
  void Revoke() {
    ProcessSpec revoke;
    revoke.argv = deploy_support::SplitOnSpaces(env_->Get("OCSP_REVOKE"));
    revoke.argv.insert(revoke.argv.end(), {"--leaf", leaf_});
    auto done = RunProcessChecked(revoke);
    ASSERT_TRUE(done.ok()) << done.status().ToString();
  }

  // Stored answers are whole seconds and max_cache is 1s: waits (bounded)
  // until the clock is past any answer stored before `since`.
  static void WaitUntilCachePassed(std::chrono::system_clock::time_point since) {
    const auto until = std::chrono::time_point_cast<std::chrono::seconds>(since) +
                       std::chrono::seconds(2);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::system_clock::now() < until &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(std::chrono::system_clock::now(), until);
  }

  // Imports the leaf STATE/ocsp/<leaf_> (named leaf_) and checks it: good
  // by OCSP and CRL.
  void ImportAndCheckGood() {
    WriteConfig(extra_config_);
    const std::string dir = env_->Get("CERTKEEPER_TESTENV_STATE") + "/ocsp/" + leaf_;
    testing::CommandResult imported = Run({"import", dir});
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    testing::CommandResult text = Run({"check"});
    EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
    EXPECT_NE(text.out.find(leaf_ + ": info: revocation: good (OCSP " + env_->Get("OCSP_URL")),
              std::string::npos)
        << text.out;
    json check = Json({"check"});
    std::vector<json> findings = Findings(check, leaf_);
    ASSERT_EQ(findings.size(), 1u) << check.dump(2);
    EXPECT_EQ(findings[0]["severity"], "info");
    const std::string message = findings[0]["message"];
    EXPECT_NE(message.find("OCSP " + env_->Get("OCSP_URL")), std::string::npos) << message;
    EXPECT_NE(message.find("CRL " + env_->Get("OCSP_CRL_URL")), std::string::npos) << message;
    checked_at_ = std::chrono::system_clock::now();
  }

  std::string roots_, alerts_, extra_config_;
  std::string leaf_ = "leaf";  // the testenv's first leaf
  std::chrono::system_clock::time_point checked_at_;
};

TEST_F(RevocationTest, GoodThenRevokedByTheCaRenewsWithTheRevocationAsReason) {
  ASSERT_NO_FATAL_FAILURE(ImportAndCheckGood());

  // The staple file next to the live certificate: the responder's DER answer.
  const std::string staple = state_ + "/live/leaf/ocsp.der";
  ASSERT_TRUE(std::filesystem::is_regular_file(staple));
  EXPECT_EQ(std::filesystem::status(staple).permissions() & std::filesystem::perms::all,
            std::filesystem::perms(0644));
  const std::string der = Read(staple);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(OCSP_response_status(response), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  OCSP_RESPONSE_free(response);

  ASSERT_NO_FATAL_FAILURE(Revoke());
  ASSERT_NO_FATAL_FAILURE(WaitUntilCachePassed(checked_at_));
  json renewed = Json({"renew", "--all"});
  ASSERT_TRUE(renewed.is_array()) << renewed.dump(2);
  ASSERT_EQ(renewed.size(), 1u) << renewed.dump(2);
  EXPECT_EQ(renewed[0]["name"], "leaf");
  EXPECT_EQ(renewed[0]["decision"], "due") << renewed.dump(2);
  EXPECT_EQ(renewed[0]["outcome"], "issued") << renewed.dump(2);
  EXPECT_NE(renewed[0]["reason"].get<std::string>().find("revoked"), std::string::npos)
      << renewed.dump(2);

  // The renewal attempt says why.
  json history = Json({"history", "leaf"});
  ASSERT_TRUE(history.is_array() && !history.empty()) << history.dump(2);
  EXPECT_NE(history[0]["reason"].get<std::string>().find("revoked"), std::string::npos)
      << history.dump(2);

  // Version 1 is recorded revoked with the CA's reason, by an event and an answer.
  json show = Json({"show", "leaf"});
  bool v1_revoked = false;
  for (const json& v : show["versions"]) {
    if (v["n"] == 1) v1_revoked = v["state"] == "revoked";
  }
  EXPECT_TRUE(v1_revoked) << show.dump(2);
  auto inventory = store::SqlInventory::Open(state_ + "/certkeeper.db");
  ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
  auto events = (*inventory)->ListEvents(std::string("leaf"), 0);
  ASSERT_TRUE(events.ok());
  bool event = false;
  for (const store::Event& e : *events) {
    if (e.kind == "revoked") {
      event = e.message.find("revoked by the CA") != std::string::npos &&
              e.message.find("keyCompromise") != std::string::npos &&
              e.message.find("OCSP") != std::string::npos;
    }
  }
  EXPECT_TRUE(event);
  auto answers = (*inventory)->ListRevocations();
  ASSERT_TRUE(answers.ok());
  bool ocsp_revoked = false;
  for (const store::RevocationRecord& a : *answers) {
    if (a.certificate == "leaf" && a.version == 1 && a.method == "ocsp") {
      ocsp_revoked = a.status == "revoked" && a.reason == "keyCompromise" && a.revoked_at;
    }
  }
  EXPECT_TRUE(ocsp_revoked);

  // The replacement comes from Pebble, which publishes no revocation URLs
  // here: `check` is clean again.
  testing::CommandResult after = Run({"check"});
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
}

TEST_F(RevocationTest, CertificateWithOnlyACrlDistributionPointIsCheckedByCrl) {
  WriteConfig();
  testing::CommandResult imported = Run({"import", env_->Get("OCSP_CRL_ONLY_LEAF_DIR")});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  json check = Json({"check"});
  std::vector<json> findings = Findings(check, "crl-only");
  ASSERT_EQ(findings.size(), 1u) << check.dump(2);
  EXPECT_EQ(findings[0]["severity"], "info");
  const std::string message = findings[0]["message"];
  EXPECT_EQ(message.find("OCSP"), std::string::npos) << message;
  EXPECT_NE(message.find("revocation: good (CRL " + env_->Get("OCSP_CRL_URL")),
            std::string::npos)
      << message;
  EXPECT_FALSE(std::filesystem::exists(state_ + "/live/crl-only/ocsp.der"));
  // The CRL is cached, atomically written, named by the URL's hash.
  size_t cached = 0;
  for (const auto& entry : std::filesystem::directory_iterator(state_ + "/crl-cache")) {
    cached += entry.path().extension() == ".der";
  }
  EXPECT_EQ(cached, 1u);
}

// The "revoked" alert event reaches a command target (alerts are evaluated
// after the run, lifecycle/alerts.h).
TEST_F(RevocationTest, RevokedCertificateFiresAnAlert) {
  // A leaf of its own: the suite's first one is revoked by another test.
  leaf_ = "alert-leaf";
  ProcessSpec issue;
  issue.argv = deploy_support::SplitOnSpaces(env_->Get("OCSP_ISSUE"));
  issue.argv.insert(issue.argv.end(), {leaf_, "alert." + env_->Get("OCSP_LEAF_NAME")});
  auto issued = RunProcessChecked(issue);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  extra_config_ = "[[alert]]\nname = \"revoked-recorder\"\ntype = \"command\"\n"
                  "events = [\"revoked\"]\ncommand = [\"/bin/sh\", \"-c\", "
                  "\"cat >> \\\"$0\\\"; echo >> \\\"$0\\\"\", " + Toml(alerts_) + "]\n";
  ASSERT_NO_FATAL_FAILURE(ImportAndCheckGood());
  ASSERT_NO_FATAL_FAILURE(Revoke());
  ASSERT_NO_FATAL_FAILURE(WaitUntilCachePassed(checked_at_));
  testing::CommandResult renewed = Run({"renew", "--all"});
  EXPECT_EQ(renewed.exit_code, 0) << renewed.out << renewed.err;
  ASSERT_TRUE(std::filesystem::exists(alerts_)) << "no alert was delivered\n" << renewed.err;
  const std::string recorded = Read(alerts_);
  EXPECT_NE(recorded.find("revoked"), std::string::npos) << recorded;
  EXPECT_NE(recorded.find(leaf_), std::string::npos) << recorded;
}

}  // namespace
}  // namespace certkeeper
