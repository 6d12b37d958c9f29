// `certkeeper store` without a database server: the local inventory's
// migrate, and every refusal of `store copy` before it connects anywhere.
#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "cli/app.h"
#include "tests/unit/cli/run_main.h"

namespace certkeeper::cli {
namespace {

using testing::Ran;

bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class StoreCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string config = dir_.path() + "/certkeeper.toml";
    std::ofstream(config) << "state_dir = \"" << dir_.path() << "/state\"\n";
    setenv("CERTKEEPER_CONFIG", config.c_str(), 1);
    key_file_ = dir_.path() + "/fleet.key";
    ASSERT_TRUE(fs::WritePrivateFile(key_file_, std::string(64, 'b')).ok());
  }
  void TearDown() override {
    unsetenv("CERTKEEPER_CONFIG");
  }

  Ran Run(std::vector<std::string> args) { return testing::RunMain(std::move(args)); }

  fs::TempDir dir_;
  std::string key_file_;
};

TEST_F(StoreCommandTest, MigrateReportsTheLocalInventorysVersion) {
  Ran r = Run({"store", "migrate"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(Has(r.out, "is at version 7")) << r.out;
  EXPECT_TRUE(Has(r.out, "migrated automatically")) << r.out;
  Ran j = Run({"--json", "store", "migrate"});
  ASSERT_EQ(j.code, kExitOk) << j.err;
  auto parsed = nlohmann::json::parse(j.out, nullptr, false);
  EXPECT_EQ(parsed["engine"], "SQLite");
  EXPECT_EQ(parsed["to"], 7);
}

TEST_F(StoreCommandTest, CopyRefusesAPasswordInTheUrlWithoutShowingIt) {
  ASSERT_EQ(Run({"store", "migrate"}).code, kExitOk);  // a local inventory exists
  for (const std::string url : {"postgresql://ck:hunter2-secret@127.0.0.1:1/ck",
                                "postgresql://127.0.0.1:1/ck?password=hunter2-secret"}) {
    Ran r = Run({"store", "copy", "--to", url, "--key-file", key_file_});
    EXPECT_EQ(r.code, kExitUsage) << url;
    EXPECT_TRUE(Has(r.err, "must not hold a password")) << r.err;
    EXPECT_TRUE(Has(r.err, "--password-file")) << r.err;
    EXPECT_FALSE(Has(r.out + r.err, "hunter2")) << r.err;
  }
}

TEST_F(StoreCommandTest, CopyNeedsATargetAKeyAndALocalInventory) {
  Ran no_to = Run({"store", "copy", "--key-file", key_file_});
  EXPECT_EQ(no_to.code, kExitUsage);
  EXPECT_TRUE(Has(no_to.err, "needs --to")) << no_to.err;

  Ran no_key = Run({"store", "copy", "--to", "postgresql://127.0.0.1:1/ck"});
  EXPECT_EQ(no_key.code, kExitUsage);
  EXPECT_TRUE(Has(no_key.err, "encryption key")) << no_key.err;

  Ran no_source = Run({"store", "copy", "--to", "postgresql://127.0.0.1:1/ck", "--key-file",
                       key_file_});
  EXPECT_EQ(no_source.code, kExitUsage);
  EXPECT_TRUE(Has(no_source.err, "no local inventory")) << no_source.err;
}

TEST_F(StoreCommandTest, UnknownActionAndHostileArgumentsAreEscaped) {
  Ran r = Run({"store", "pwn\x1b[2J"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Has(r.err, "unknown store action")) << r.err;
  EXPECT_FALSE(Has(r.err, "\x1b")) << r.err;
  EXPECT_EQ(Run({"store"}).code, kExitUsage);
}

}  // namespace
}  // namespace certkeeper::cli
