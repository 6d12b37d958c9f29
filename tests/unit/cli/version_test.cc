// `certkeeper --version` names certkeeper's version and the libraries it runs
// with; `--staging` is refused where it would contradict another CA choice.
// The command lines run in-process through cli::Main.
#include <stdlib.h>

#include <string>
#include <vector>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "base/fs.h"
#include "tests/unit/cli/run_main.h"

namespace certkeeper::cli {
namespace {

using testing::RunMain;

class CliVersionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // An empty config: no CA configured (and /etc/certkeeper not read).
    const std::string empty = dir_.path() + "/empty.toml";
    ASSERT_TRUE(fs::WriteFileAtomic(empty, "").ok());
    setenv("CERTKEEPER_CONFIG", empty.c_str(), 1);
    setenv("CERTKEEPER_STATE_DIR", (dir_.path() + "/state").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("CERTKEEPER_CONFIG");
    unsetenv("CERTKEEPER_STATE_DIR");
  }
  fs::TempDir dir_;
};

TEST_F(CliVersionTest, PrintsCertkeeperAndLibraryVersions) {
  auto r = RunMain({"--version"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string want = std::string("certkeeper ") + CERTKEEPER_VERSION + "\n" +
                           "OpenSSL " + OpenSSL_version(OPENSSL_VERSION_STRING) + "\n" +
                           "libcurl " + curl_version_info(CURLVERSION_NOW)->version + "\n" +
                           "SQLite " + sqlite3_libversion() + "\n";
  EXPECT_EQ(r.out, want);
}

TEST_F(CliVersionTest, JsonIsOneObject) {
  auto r = RunMain({"--json", "--version"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j.at("version"), CERTKEEPER_VERSION);
  EXPECT_EQ(j.at("openssl"), OpenSSL_version(OPENSSL_VERSION_STRING));
  EXPECT_EQ(j.at("libcurl"), curl_version_info(CURLVERSION_NOW)->version);
  EXPECT_EQ(j.at("sqlite"), sqlite3_libversion());
}

TEST_F(CliVersionTest, StagingWithServerIsAUsageError) {
  auto r = RunMain({"--staging", "--server", "https://ca.example.net/dir", "list"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--staging and --server cannot be combined"), std::string::npos) << r.err;
}

TEST_F(CliVersionTest, StagingWithTheFilesServerIsAUsageError) {
  const std::string config = dir_.path() + "/certkeeper.toml";
  ASSERT_TRUE(fs::WriteFileAtomic(config, "[acme]\nserver = \"https://ca.example.net/dir\"\n").ok());
  auto r = RunMain({"-c", config, "--staging", "list"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--staging conflicts with [acme] server"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(config), std::string::npos) << r.err;
}

TEST_F(CliVersionTest, StagingAloneIsAccepted) {
  auto r = RunMain({"--staging", "list"});
  EXPECT_EQ(r.code, 0) << r.err;
}

}  // namespace
}  // namespace certkeeper::cli
