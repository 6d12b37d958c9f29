// Schema migrations: from an empty file, from a database written by schema
// version 1, refusal of newer or foreign databases, and the file's mode.
#include <sqlite3.h>
#include <sys/stat.h>

#include <string>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

// A frozen copy of the version 1 schema as released; it must not follow later
// edits to the migration code, or this test would stop testing the upgrade path.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
  applied_at INTEGER NOT NULL);
CREATE TABLE accounts (server TEXT NOT NULL, account_url TEXT NOT NULL,
  key_path TEXT NOT NULL, email TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
  created_at INTEGER NOT NULL, PRIMARY KEY (server, account_url));
CREATE TABLE certificates (name TEXT PRIMARY KEY, domains TEXT NOT NULL,
  key_type TEXT NOT NULL, challenges TEXT NOT NULL, deploy_targets TEXT NOT NULL,
  server TEXT NOT NULL, removed INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE versions (certificate TEXT NOT NULL REFERENCES certificates (name),
  n INTEGER NOT NULL, serial TEXT NOT NULL, not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL, issuer TEXT NOT NULL, fingerprint_sha256 TEXT NOT NULL,
  domains TEXT NOT NULL, key_type TEXT NOT NULL, directory TEXT NOT NULL,
  order_url TEXT NOT NULL DEFAULT '', state TEXT NOT NULL
  CHECK (state IN ('issued', 'deployed', 'deploy_failed', 'revoked')),
  revoked_at INTEGER, revocation_reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL, PRIMARY KEY (certificate, n));
CREATE TABLE attempts (id INTEGER PRIMARY KEY,
  certificate TEXT NOT NULL REFERENCES certificates (name),
  started_at INTEGER NOT NULL, finished_at INTEGER, server TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL
  CHECK (outcome IN ('running', 'success', 'failed', 'deferred')),
  error_type TEXT NOT NULL DEFAULT '', error_detail TEXT NOT NULL DEFAULT '',
  version_n INTEGER);
CREATE INDEX attempts_by_certificate ON attempts (certificate, id);
CREATE INDEX attempts_by_outcome ON attempts (outcome);
CREATE TABLE events (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, certificate TEXT,
  kind TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX events_by_certificate ON events (certificate, id);
INSERT INTO schema_migrations VALUES (1, 'foundation', 1700000000);
)sql";

constexpr const char* kRowsV1 = R"sql(
INSERT INTO accounts VALUES ('https://ca/dir', 'https://ca/acct/1',
  '/state/accounts/ca/account.key', 'ops@example.com', 'valid', 1700000001);
INSERT INTO certificates VALUES ('web', '["example.com","www.example.com"]', 'ec256',
  '["http-01","dns-01"]', '["local-nginx"]', 'https://ca/dir', 0, 1700000002,
  1700000003);
INSERT INTO versions VALUES ('web', 1, '01ff', 1700000000, 1707776000,
  'CN=Old CA', 'abcd', '["example.com","www.example.com"]', 'ec256',
  '/state/archive/web/1', 'https://ca/order/1', 'deployed', NULL, '', 1700000004);
INSERT INTO attempts VALUES (7, 'web', 1700000005, 1700000009, 'https://ca/dir',
  'not yet issued', 'success', '', '', 1);
INSERT INTO events VALUES (3, 1700000010, 'web', 'issued', 'version 1 issued');
)sql";

// Runs SQL on a database file through a separate raw connection.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// Number of rows a query returns, through a raw connection.
int RawCount(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  int rows = 0;
  while (sqlite3_step(stmt) == SQLITE_ROW) ++rows;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

class MigrationTest : public ::testing::Test {
 protected:
  SqliteOptions Options() {
    SqliteOptions options;
    options.clock = &clock_;
    return options;
  }
  std::string path() const { return InventoryPath(dir_.path()); }

  fs::TempDir dir_;
  FakeClock clock_{T0()};
};

TEST_F(MigrationTest, EmptyDatabaseMigratesToLatest) {
  auto inv = SqlInventory::Open(path(), Options());
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  auto version = (*inv)->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, SqlInventory::LatestSchemaVersion());
  EXPECT_GE(SqlInventory::LatestSchemaVersion(), 2);
  for (const char* table : {"accounts", "certificates", "versions", "attempts",
                            "attempt_steps", "events", "request_log", "ca_limits"}) {
    EXPECT_EQ(RawCount(path(), std::string("SELECT 1 FROM sqlite_master WHERE "
                                           "type = 'table' AND name = '") +
                                   table + "'"),
              1)
        << table;
  }
  // One schema_migrations row per migration, applied in one pass.
  EXPECT_EQ(RawCount(path(), "SELECT version FROM schema_migrations"),
            SqlInventory::LatestSchemaVersion());
}

TEST_F(MigrationTest, ReopeningDoesNotMigrateAgain) {
  { ASSERT_TRUE(SqlInventory::Open(path(), Options()).ok()); }
  auto again = SqlInventory::Open(path(), Options());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(RawCount(path(), "SELECT version FROM schema_migrations"),
            SqlInventory::LatestSchemaVersion());
}

TEST_F(MigrationTest, VersionOneDatabaseKeepsItsDataAndGainsNewColumns) {
  RawExec(path(), kSchemaV1);
  RawExec(path(), kRowsV1);

  auto opened = SqlInventory::Open(path(), Options());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  SqlInventory& inv = **opened;
  EXPECT_EQ(*inv.SchemaVersion(), SqlInventory::LatestSchemaVersion());

  auto account = inv.FindAccount("https://ca/dir");
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(account->account_url, "https://ca/acct/1");
  EXPECT_EQ(account->email, "ops@example.com");
  EXPECT_EQ(ToUnixSeconds(account->created_at), 1700000001);

  auto cert = inv.GetCertificate("web");
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(cert->spec.domains, (std::vector<std::string>{"example.com", "www.example.com"}));
  EXPECT_EQ(cert->spec.challenges, (std::vector<std::string>{"http-01", "dns-01"}));
  EXPECT_EQ(ToUnixSeconds(cert->updated_at), 1700000003);
  // Columns added by later migrations have their defaults on old rows.
  EXPECT_EQ(cert->schedule.consecutive_failures, 0);
  EXPECT_FALSE(cert->schedule.next_attempt_at.has_value());
  EXPECT_FALSE(cert->pending_order.has_value());

  auto live = inv.LiveVersion("web");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->n, 1);
  EXPECT_EQ(live->serial, "01ff");
  EXPECT_EQ(*inv.NextVersionNumber("web"), 2);

  auto attempt = inv.GetAttempt(7);
  ASSERT_TRUE(attempt.ok()) << attempt.status().ToString();
  EXPECT_EQ(attempt->outcome, AttemptOutcome::kSuccess);
  EXPECT_EQ(attempt->version, 1);
  EXPECT_FALSE(attempt->retry_after.has_value());
  EXPECT_TRUE(attempt->steps.empty());

  auto events = inv.ListEvents(std::string("web"), 0);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].message, "version 1 issued");

  // The new columns and tables work on the migrated database.
  Schedule schedule;
  schedule.consecutive_failures = 2;
  schedule.deferred_reason = "backoff";
  ASSERT_TRUE(inv.SetSchedule("web", schedule).ok());
  EXPECT_EQ(inv.GetCertificate("web")->schedule.deferred_reason, "backoff");
  ASSERT_TRUE(inv.SetCaLimit({"https://ca/dir", AccountScope("https://ca/acct/1"),
                              T0() + std::chrono::hours(1), "rateLimited"})
                  .ok());
  EXPECT_TRUE(inv.ActiveCaLimit("https://ca/dir", AccountScope("https://ca/acct/1"), T0())
                  ->has_value());
  // The original migration's row is kept; the later ones were added.
  EXPECT_EQ(RawCount(path(), "SELECT 1 FROM schema_migrations WHERE version = 1 AND "
                             "applied_at = 1700000000"),
            1);
}

TEST_F(MigrationTest, RefusesDatabaseFromNewerVersionWithoutChangingIt) {
  { ASSERT_TRUE(SqlInventory::Open(path(), Options()).ok()); }
  const int newer = SqlInventory::LatestSchemaVersion() + 1;
  RawExec(path(), "INSERT INTO schema_migrations VALUES (" + std::to_string(newer) +
                      ", 'from the future', 1)");
  RawExec(path(), "CREATE TABLE future_table (x INTEGER)");

  auto opened = SqlInventory::Open(path(), Options());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find(std::to_string(newer)), std::string::npos)
      << opened.status().message();
  EXPECT_EQ(opened.status().where(), path());
  EXPECT_FALSE(opened.status().hint().empty());
  EXPECT_EQ(RawCount(path(), "SELECT version FROM schema_migrations"), newer);
}

TEST_F(MigrationTest, RefusesForeignDatabase) {
  RawExec(path(), "CREATE TABLE something_else (x INTEGER); "
                  "INSERT INTO something_else VALUES (1);");
  auto opened = SqlInventory::Open(path(), Options());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(RawCount(path(), "SELECT 1 FROM sqlite_master WHERE name = 'accounts'"), 0);
}

TEST_F(MigrationTest, RefusesFileThatIsNotSqlite) {
  ASSERT_TRUE(fs::WriteFileAtomic(path(), std::string(4096, 'x'), {0600, {}, {}}).ok());
  auto opened = SqlInventory::Open(path(), Options());
  ASSERT_FALSE(opened.ok());
  EXPECT_FALSE(opened.status().hint().empty()) << opened.status().ToString();
}

TEST_F(MigrationTest, MissingStateDirectoryIsNotFound) {
  auto opened = SqlInventory::Open(dir_.path() + "/missing/certkeeper.db", Options());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kNotFound);
}

TEST_F(MigrationTest, DatabaseFilesAreOwnerOnly) {
  mode_t old_umask = umask(0);  // even a permissive umask must not widen the mode
  auto opened = SqlInventory::Open(path(), Options());
  umask(old_umask);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_TRUE((*opened)->PutCertificate(SampleSpec("web")).ok());
  for (const std::string& file : {path(), path() + "-wal", path() + "-shm"}) {
    struct stat st;
    ASSERT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST_F(MigrationTest, UsesWalJournal) {
  ASSERT_TRUE(SqlInventory::Open(path(), Options()).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

}  // namespace
}  // namespace certkeeper::store::testing
