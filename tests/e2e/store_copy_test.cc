// Moving a host's SQLite inventory into PostgreSQL with the certkeeper binary:
// certificates issued by a real Pebble, `store copy --to` a real PostgreSQL,
// then the same host configured with [store] sees the same inventory, and
// `store migrate` finds it current.
#include <sys/stat.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "tests/e2e/deploy_support.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/testenv.h"

namespace certkeeper {
namespace {

using nlohmann::json;
using testing::CommandResult;

bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class StoreCopyTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.postgres = true;
    StartEnv(options);
  }

  void SetUpTest() override {
    auto emptied = env_->Psql("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;");
    ASSERT_TRUE(emptied.ok()) << emptied.status().ToString();
    key_file_ = dir_.path() + "/fleet.key";
    ASSERT_TRUE(fs::WritePrivateFile(key_file_, std::string(64, 'a')).ok());
    WriteConfig("");
  }

  // This host (edge-1) on the environment's Pebble, http-01 standalone on the
  // port Pebble validates, then `extra`.
  void WriteConfig(const std::string& extra) {
    using deploy_support::Toml;
    std::string text = "host = \"edge-1\"\n" + PebbleConfigHead() +
                       "email = \"ops@example.com\"\nagree_tos = true\n[solvers.http-01]\nlisten = " +
                       Toml("127.0.0.1:" + env_->Get("PEBBLE_HTTP_PORT")) + "\n" + extra;
    ASSERT_TRUE(fs::WriteFileAtomic(config_, text).ok()) << config_;
  }

  std::string StoreSection() const {
    return "[store]\nurl = \"" + env_->Get("POSTGRES_URL") + "\"\npassword_file = \"" +
           env_->Get("POSTGRES_PASSWORD_FILE") + "\"\nencryption_key_file = \"" + key_file_ +
           "\"\n";
  }

  std::vector<std::string> CopyArgs() const {
    return {"store", "copy", "--to", env_->Get("POSTGRES_URL"), "--password-file",
            env_->Get("POSTGRES_PASSWORD_FILE"), "--key-file", key_file_};
  }

  void Issue(const std::string& name) {
    CommandResult r = Run({"issue", name, "-d", name + ".example.com"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  std::string key_file_;
};

TEST_F(StoreCopyTest, CopiesVerifiesAndTheHostThenSeesTheSameInventoryOnPostgres) {
  Issue("web");
  Issue("web");  // a second version
  Issue("api");
  CommandResult sqlite_list = Run({"--json", "list"});
  ASSERT_EQ(sqlite_list.exit_code, 0) << sqlite_list.err;
  json sqlite_rows = json::parse(sqlite_list.out, nullptr, false);
  ASSERT_TRUE(sqlite_rows.is_array()) << sqlite_list.out;
  ASSERT_EQ(sqlite_rows.size(), 2u) << sqlite_list.out;

  CommandResult dry = Run([&] {
    auto args = CopyArgs();
    args.push_back("--dry-run");
    return args;
  }());
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_TRUE(Has(dry.out, "Would copy the SQLite inventory")) << dry.out;
  auto count = env_->Psql("SELECT COUNT(*) FROM certificates");
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_TRUE(Has(*count, "0")) << *count;

  std::vector<std::string> json_copy = CopyArgs();
  json_copy.insert(json_copy.begin(), "--json");
  CommandResult copied = Run(json_copy);
  ASSERT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  json report = json::parse(copied.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << copied.out;
  EXPECT_EQ(report["schema_version"], 7);
  EXPECT_EQ(report["committed"], true);
  EXPECT_EQ(report["verified"], true);
  int tables = 0;
  for (const json& t : report["tables"]) {
    ++tables;
    EXPECT_EQ(t["match"], true) << t.dump();
    EXPECT_EQ(t["checksum"], t["target_checksum"]) << t.dump();
    EXPECT_EQ(t["checksum"].get<std::string>().size(), 64u);
    if (t["table"] == "certificates") {
      EXPECT_EQ(t["rows"], 2);
    }
    if (t["table"] == "versions") {
      EXPECT_EQ(t["rows"], 3);
    }
  }
  EXPECT_EQ(tables, 18);
  EXPECT_EQ(report["shared"]["accounts"], 1);
  EXPECT_EQ(report["shared"]["versions"], 3);
  auto password = fs::ReadFile(env_->Get("POSTGRES_PASSWORD_FILE"));
  ASSERT_TRUE(password.ok());
  ASSERT_GT(password->size(), 8u);
  EXPECT_FALSE(Has(copied.out, password->substr(0, 8)));

  // A database that now holds certificates is never copied into again.
  CommandResult again = Run(CopyArgs());
  EXPECT_EQ(again.exit_code, 2) << again.out << again.err;
  EXPECT_TRUE(Has(again.err + again.out, "holds 2 certificates")) << again.err;

  // The same host on the shared inventory lists the same certificates.
  WriteConfig(StoreSection());
  CommandResult shared_list = Run({"--json", "list"});
  ASSERT_EQ(shared_list.exit_code, 0) << shared_list.err;
  // The same rows; a fleet's list adds which hosts delivered and renewed.
  json shared_rows = json::parse(shared_list.out, nullptr, false);
  ASSERT_TRUE(shared_rows.is_array()) << shared_list.out;
  for (json& row : shared_rows) {
    row.erase("hosts");
    row.erase("renewed_by");
  }
  EXPECT_EQ(shared_rows, sqlite_rows)
      << shared_list.out << "\n" << sqlite_list.out;

  CommandResult migrate = Run({"store", "migrate"});
  ASSERT_EQ(migrate.exit_code, 0) << migrate.err;
  EXPECT_TRUE(Has(migrate.out, "already at version 7")) << migrate.out;

  // A database a newer certkeeper migrated: refused, and left as it was.
  ASSERT_TRUE(env_->Psql("INSERT INTO schema_migrations (version, name, applied_at) "
                         "VALUES (8, 'from the future', 0)")
                  .ok());
  CommandResult newer = Run({"store", "migrate"});
  EXPECT_EQ(newer.exit_code, 2) << newer.out << newer.err;
  EXPECT_TRUE(Has(newer.err, "schema version 8 but this certkeeper knows only up to 7"))
      << newer.err;
  auto versions = env_->Psql("SELECT MAX(version) FROM schema_migrations");
  ASSERT_TRUE(versions.ok());
  EXPECT_TRUE(Has(*versions, "8")) << *versions;
}

TEST_F(StoreCopyTest, PrintsTheTablesAndRefusesAPasswordOnTheCommandLine) {
  Issue("web");
  CommandResult copied = Run(CopyArgs());
  ASSERT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  EXPECT_TRUE(Has(copied.out, "Verified: every table's rows and checksum match.")) << copied.out;
  EXPECT_TRUE(Has(copied.out, "  certificates            1    ")) << copied.out;
  EXPECT_TRUE(Has(copied.out, "1 account keys, 1 versions, 0 pending order keys")) << copied.out;

  const std::string url = env_->Get("POSTGRES_URL");
  const std::string with_password =
      "postgresql://certkeeper:s3cr3t-on-argv@" + url.substr(url.find('@') + 1);
  CommandResult refused = Run({"store", "copy", "--to", with_password, "--key-file", key_file_});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_TRUE(Has(refused.err, "must not hold a password")) << refused.err;
  EXPECT_FALSE(Has(refused.err + refused.out, "s3cr3t-on-argv"));

  // A hostile url is refused without echoing its control characters.
  CommandResult hostile =
      Run({"store", "copy", "--to", "postgresql://h/\x1b]0;pwned\x07", "--key-file", key_file_});
  EXPECT_EQ(hostile.exit_code, 1);
  EXPECT_FALSE(Has(hostile.err + hostile.out, "\x1b")) << hostile.err;
}

}  // namespace
}  // namespace certkeeper
