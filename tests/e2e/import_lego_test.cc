// Moving from lego in one command, with the real lego: it obtains a
// certificate from the test Pebble with its own standalone HTTP server;
// `certkeeper import --from lego` takes it and lego's account over without
// touching lego's directory and says that the challenge settings must be
// given; with them, `renew --force` renews through lego's account.
#include <filesystem>
#include <fstream>
#include <map>

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
using nlohmann::json;

class ImportLegoTest : public import_support::ImportSuite {
 protected:
  void SetUpTest() override {
    ImportSuite::SetUpTest();
    lego_ = dir_.path() + "/lego";
  }

  std::string lego_;
};

TEST_F(ImportLegoTest, TakesOverCertificateAndAccount) {
  const std::string listen = "127.0.0.1:" + env_->Get("PEBBLE_HTTP_PORT");
  RunTool({"lego", "--server", env_->Get("ACME_DIRECTORY_URL"), "--http", "--http.port", listen,
           "--path", lego_, "--accept-tos", "--email", "ops@example.com", "--key-type", "ec384",
           "-d", "gamma.example.com", "-d", "www.gamma.example.com", "run"},
          {{"LEGO_CA_CERTIFICATES", env_->Get("ACME_CA_BUNDLE")}});
  const std::string folder = lego_ + "/accounts/127.0.0.1_" + env_->Get("PEBBLE_PORT") +
                             "/ops@example.com";
  const std::string lego_account =
      json::parse(Read(folder + "/account.json"))["registration"]["uri"];
  const std::string before = TreeFingerprint(lego_);

  const std::string written = dir_.path() + "/imported.toml";
  json imported = Json({"import", "--from", "lego", lego_, "--write-config", written}, config_);
  ASSERT_TRUE(imported.is_object()) << imported.dump();
  EXPECT_EQ(TreeFingerprint(lego_), before) << "lego's directory was changed";
  ASSERT_EQ(imported["accounts"].size(), 1u) << imported.dump(2);
  EXPECT_EQ(imported["accounts"][0]["url"], lego_account);
  ASSERT_EQ(imported["certificates"].size(), 1u) << imported.dump(2);
  EXPECT_EQ(imported["certificates"][0]["key_type"], "ec384");
  bool told = false;
  for (const auto& u : imported["unmapped"]) told = told || u["setting"] == "challenge";
  EXPECT_TRUE(told) << "the missing challenge settings were not reported";

  json list = Json({"list"}, written);
  ASSERT_EQ(list.size(), 1u) << list.dump(2);
  EXPECT_EQ(list[0]["serial"], OpensslSerial(lego_ + "/certificates/gamma.example.com.crt"));

  // What the report asks for: the challenge settings lego was run with.
  std::ofstream(written, std::ios::app) << "\n[solvers.http-01]\nlisten = " << Toml(listen) << "\n";
  testing::CommandResult renewed = testing::RunCertkeeper({"-c", written, "renew", "--all", "--force"});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.out << renewed.err;
  EXPECT_EQ(renewed.err.find("account registered"), std::string::npos) << renewed.err;
  json after = Json({"list"}, written);
  EXPECT_NE(after[0]["serial"], list[0]["serial"]);
  EXPECT_EQ(Json({"account", "show"}, written)["url"], lego_account);
  EXPECT_EQ(TreeFingerprint(lego_), before);
}

}  // namespace
}  // namespace certkeeper
