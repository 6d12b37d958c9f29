// Moving from certbot in one command, with the real certbot: it obtains two
// certificates from the test Pebble (standalone, and webroot with a deploy
// hook on the other) and renews one, so that it has two archived versions.
// `certkeeper import --from certbot` takes them over without touching
// certbot's directory; `list` shows certbot's serials; `renew --force`
// renews both through certbot's account, the mapped solver and the mapped
// deploy hook.
#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "tests/e2e/deploy_support.h"
#include "tests/e2e/import_support.h"

namespace certkeeper {
namespace {

using deploy_support::Read;
using deploy_support::Toml;
using import_support::OpensslSerial;
using import_support::RunTool;
using import_support::TreeFingerprint;
using import_support::WebrootServer;
using nlohmann::json;

class ImportCertbotTest : public import_support::ImportSuite {
 protected:
  void SetUpTest() override {
    ImportSuite::SetUpTest();
    certbot_ = dir_.path() + "/letsencrypt";
    webroot_ = dir_.path() + "/www";
    marker_ = dir_.path() + "/deployed";
    port_ = std::stoi(env_->Get("PEBBLE_HTTP_PORT"));
    std::filesystem::create_directories(webroot_);
  }

  void Certbot(std::vector<std::string> args) {
    std::vector<std::string> argv = {"certbot"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(),
                {"--config-dir", certbot_, "--work-dir", dir_.path() + "/certbot-work",
                 "--logs-dir", dir_.path() + "/certbot-logs", "--server",
                 env_->Get("ACME_DIRECTORY_URL"), "--non-interactive", "--agree-tos", "-m",
                 "ops@example.com"});
    RunTool(argv, {{"REQUESTS_CA_BUNDLE", env_->Get("ACME_CA_BUNDLE")}});
  }

  std::map<std::string, std::string> ListedSerials(const std::string& config) {
    std::map<std::string, std::string> serials;
    json list = Json({"list"}, config);
    EXPECT_TRUE(list.is_array()) << list.dump();
    for (const auto& c : list) serials[c["name"]] = c["serial"];
    return serials;
  }

  std::string certbot_, webroot_, marker_;
  int port_ = 0;
};

TEST_F(ImportCertbotTest, TakesOverLineagesAccountAndRenewalSettings) {
  // certbot's own authenticators: standalone with a deploy hook, then webroot
  // behind a web server, then one forced renewal of the first lineage.
  const std::string hook = "printf '%s\\n' \"$RENEWED_DOMAINS\" >> " + marker_;
  Certbot({"certonly", "--standalone", "--http-01-port", std::to_string(port_), "-d",
           "alpha.example.com", "-d", "www.alpha.example.com", "--key-type", "ecdsa",
           "--elliptic-curve", "secp384r1", "--deploy-hook", hook});
  {
    WebrootServer web(webroot_, port_);
    Certbot({"certonly", "--webroot", "-w", webroot_, "-d", "beta.example.com", "--key-type",
             "rsa", "--rsa-key-size", "2048"});
  }
  Certbot({"renew", "--cert-name", "alpha.example.com", "--force-renewal",
           "--no-random-sleep-on-renew"});
  ASSERT_TRUE(fs::Exists(certbot_ + "/archive/alpha.example.com/cert2.pem"));
  const std::string before = TreeFingerprint(certbot_);
  const std::string regr_dir = certbot_ + "/accounts/127.0.0.1:" + env_->Get("PEBBLE_PORT") + "/dir";
  ASSERT_TRUE(std::filesystem::is_directory(regr_dir)) << regr_dir;
  std::string certbot_account;
  for (const auto& e : std::filesystem::directory_iterator(regr_dir)) {
    certbot_account = json::parse(Read(e.path().string() + "/regr.json"))["uri"];
  }
  ASSERT_FALSE(certbot_account.empty());

  // --dry-run shows the plan and the config and writes nothing.
  const std::string written = dir_.path() + "/imported.toml";
  json dry = Json({"import", "--from", "certbot", certbot_, "--dry-run", "--write-config", written},
                  config_);
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_NE(dry["config"].get<std::string>().find("[[certificate]]"), std::string::npos);
  EXPECT_FALSE(fs::Exists(written));
  EXPECT_FALSE(fs::Exists(state_ + "/live/alpha.example.com"));

  json imported = Json({"import", "--from", "certbot", certbot_, "--write-config", written},
                       config_);
  ASSERT_TRUE(imported.is_object()) << imported.dump();
  EXPECT_EQ(TreeFingerprint(certbot_), before) << "certbot's directory was changed";
  ASSERT_EQ(imported["accounts"].size(), 1u) << imported.dump(2);
  EXPECT_EQ(imported["accounts"][0]["url"], certbot_account);
  ASSERT_TRUE(fs::Exists(written));
  const std::string config = Read(written);
  EXPECT_NE(config.find("webroot = " + Toml(webroot_)), std::string::npos) << config;
  EXPECT_NE(config.find("key_type = \"ec384\""), std::string::npos) << config;
  // Both lineages use http-01, certkeeper has one http-01 solver: the
  // standalone lineage's setting is reported, with the solver it gets.
  bool reported = false;
  for (const auto& u : imported["unmapped"]) {
    reported = reported || (u["certificate"] == "alpha.example.com" && u["setting"] == "authenticator");
  }
  EXPECT_TRUE(reported) << imported["unmapped"].dump(2);
  // An existing config file is never overwritten.
  testing::CommandResult again = testing::RunCertkeeper(
      {"-c", config_, "import", "--from", "certbot", certbot_, "--write-config", written});
  EXPECT_EQ(again.exit_code, 1) << again.err;
  EXPECT_EQ(Read(written), config);

  // The same serials as certbot's files, every archived version kept.
  auto serials = ListedSerials(written);
  EXPECT_EQ(serials["alpha.example.com"],
            OpensslSerial(certbot_ + "/live/alpha.example.com/cert.pem"));
  EXPECT_EQ(serials["beta.example.com"], OpensslSerial(certbot_ + "/live/beta.example.com/cert.pem"));
  json shown = Json({"show", "alpha.example.com"}, written);
  ASSERT_EQ(shown["versions"].size(), 2u) << shown.dump(2);
  std::set<std::string> versions;
  for (const auto& v : shown["versions"]) versions.insert(v["serial"]);
  EXPECT_TRUE(versions.count(OpensslSerial(certbot_ + "/archive/alpha.example.com/cert1.pem")));
  EXPECT_TRUE(versions.count(OpensslSerial(certbot_ + "/archive/alpha.example.com/cert2.pem")));

  // Renewal: certbot's account, the webroot solver behind the same web
  // server, and certbot's deploy hook.
  std::filesystem::remove(marker_);
  testing::CommandResult renewed;
  {
    WebrootServer web(webroot_, port_);
    renewed = testing::RunCertkeeper({"-c", written, "renew", "--all", "--force"});
  }
  ASSERT_EQ(renewed.exit_code, 0) << renewed.out << renewed.err;
  EXPECT_EQ(renewed.err.find("account registered"), std::string::npos) << renewed.err;
  auto after = ListedSerials(written);
  EXPECT_NE(after["alpha.example.com"], serials["alpha.example.com"]);
  EXPECT_NE(after["beta.example.com"], serials["beta.example.com"]);
  json account = Json({"account", "show"}, written);
  EXPECT_EQ(account["url"], certbot_account);
  ASSERT_TRUE(fs::Exists(marker_)) << "the deploy hook did not run";
  EXPECT_EQ(Read(marker_), "alpha.example.com www.alpha.example.com\n");
  EXPECT_EQ(TreeFingerprint(certbot_), before);
}

}  // namespace
}  // namespace certkeeper
