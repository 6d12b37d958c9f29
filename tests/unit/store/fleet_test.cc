// The parts a fleet coordinates through: shared files, per-certificate
// leases, per-host deliveries, and the attempt's host. Run against SQLite
// (store_unit_test) and PostgreSQL (store_postgres_test).
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/store/store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::seconds;

class MaterialTest : public StoreTest {};

TEST_F(MaterialTest, PutReplacesTheOwnersFilesAndKeepsOthers) {
  const std::string owner = VersionMaterial("web", 1);
  ASSERT_TRUE(inv_->PutMaterial(owner, {{"fullchain.pem", "chain-1", false},
                                        {"privkey.pem", "ck1:sealed", true}})
                  .ok());
  ASSERT_TRUE(inv_->PutMaterial(VersionMaterial("web", 2), {{"fullchain.pem", "chain-2"}}).ok());
  auto files = inv_->GetMaterial(owner);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].name, "fullchain.pem");
  EXPECT_EQ((*files)[0].content, "chain-1");
  EXPECT_FALSE((*files)[0].sealed);
  EXPECT_EQ((*files)[1].name, "privkey.pem");
  EXPECT_TRUE((*files)[1].sealed);

  ASSERT_TRUE(inv_->PutMaterial(owner, {{"cert.pem", "only"}}).ok());
  files = inv_->GetMaterial(owner);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].name, "cert.pem");
  auto other = inv_->GetMaterial(VersionMaterial("web", 2));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->size(), 1u);

  ASSERT_TRUE(inv_->DeleteMaterial(owner).ok());
  files = inv_->GetMaterial(owner);
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(files->empty());
}

TEST_F(MaterialTest, RefusesPathsDuplicatesAndNulBytesAndChangesNothing) {
  const std::string owner = AccountMaterial("https://ca/dir", "https://ca/acct/1");
  ASSERT_TRUE(inv_->PutMaterial(owner, {{"account.key", "kept", true}}).ok());
  const std::vector<std::vector<MaterialFile>> bad = {
      {{"../escape", "x"}},
      {{"a/b", "x"}},
      {{"..", "x"}},
      {{"", "x"}},
      {{"same", "1"}, {"same", "2"}},
      {{"nul", std::string("a\0b", 3)}},
  };
  for (const auto& files : bad) {
    Status s = inv_->PutMaterial(owner, files);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.ToString();
  }
  auto files = inv_->GetMaterial(owner);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].content, "kept");
}

class LeaseRowsTest : public StoreTest {};

TEST_F(LeaseRowsTest, OneHolderAtATimeUntilReleasedOrExpired) {
  const TimePoint now = clock_.Now();
  auto a = inv_->TryLease("web", "edge-1", "token-a", now, now + seconds(60));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->token, "token-a");
  EXPECT_EQ(a->holder, "edge-1");

  auto b = inv_->TryLease("web", "edge-2", "token-b", now + seconds(10), now + seconds(70));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->token, "token-a") << "a lease in force stays with its holder";
  EXPECT_EQ(b->holder, "edge-1");

  auto renewed = inv_->RenewLease("web", "token-a", now + seconds(30), now + seconds(90));
  ASSERT_TRUE(renewed.ok());
  EXPECT_TRUE(*renewed);
  auto stolen = inv_->RenewLease("web", "token-b", now + seconds(30), now + seconds(90));
  ASSERT_TRUE(stolen.ok());
  EXPECT_FALSE(*stolen) << "only the holder renews";

  // Expired: the next host takes it, and the old holder can no longer renew.
  auto c = inv_->TryLease("web", "edge-2", "token-b", now + seconds(91), now + seconds(151));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token, "token-b");
  auto late = inv_->RenewLease("web", "token-a", now + seconds(92), now + seconds(152));
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(*late);

  // Released by its holder: free at once; a release by another does nothing.
  ASSERT_TRUE(inv_->ReleaseLease("web", "token-a").ok());
  auto still = inv_->TryLease("web", "edge-3", "token-c", now + seconds(93), now + seconds(153));
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->token, "token-b");
  ASSERT_TRUE(inv_->ReleaseLease("web", "token-b").ok());
  auto freed = inv_->TryLease("web", "edge-3", "token-c", now + seconds(94), now + seconds(154));
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->token, "token-c");

  auto leases = inv_->ListLeases();
  ASSERT_TRUE(leases.ok());
  ASSERT_EQ(leases->size(), 1u);
  EXPECT_EQ((*leases)[0].holder, "edge-3");
}

TEST_F(LeaseRowsTest, ConcurrentClaimsOfOneCertificateHaveOneWinner) {
  // Eight connections (eight "hosts") race for the same lease.
  std::vector<std::unique_ptr<SqlInventory>> hosts;
  for (int i = 0; i < 8; ++i) {
    auto opened = OpenAgain();
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    hosts.push_back(std::move(*opened));
  }
  const TimePoint now = clock_.Now();
  std::vector<std::string> winners(hosts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < hosts.size(); ++i) {
    threads.emplace_back([&, i] {
      const std::string token = "token-" + std::to_string(i);
      auto lease = hosts[i]->TryLease("web", "host-" + std::to_string(i), token, now,
                                      now + seconds(60));
      if (lease.ok() && lease->token == token) winners[i] = token;
    });
  }
  for (std::thread& t : threads) t.join();
  int won = 0;
  for (const std::string& w : winners) won += w.empty() ? 0 : 1;
  EXPECT_EQ(won, 1);
}

class HostDeploymentsTest : public StoreTest {};

TEST_F(HostDeploymentsTest, OneRowPerHostReplacedByItsNewestDelivery) {
  const TimePoint now = clock_.Now();
  ASSERT_TRUE(inv_->PutHostDeployment({"web", "edge-1", 1, "deployed", now, ""}).ok());
  ASSERT_TRUE(inv_->PutHostDeployment({"web", "edge-2", 1, "failed", now, "reload failed"}).ok());
  ASSERT_TRUE(inv_->PutHostDeployment({"api", "edge-1", 3, "deployed", now, ""}).ok());
  ASSERT_TRUE(
      inv_->PutHostDeployment({"web", "edge-2", 2, "deployed", now + seconds(5), ""}).ok());

  auto web = inv_->ListHostDeployments(std::string_view("web"));
  ASSERT_TRUE(web.ok()) << web.status().ToString();
  ASSERT_EQ(web->size(), 2u);
  EXPECT_EQ((*web)[0].host, "edge-1");
  EXPECT_EQ((*web)[1].host, "edge-2");
  EXPECT_EQ((*web)[1].version, 2);
  EXPECT_EQ((*web)[1].state, "deployed");
  EXPECT_EQ((*web)[1].error, "");
  auto all = inv_->ListHostDeployments(std::nullopt);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].certificate, "api");

  EXPECT_EQ(inv_->PutHostDeployment({"web", "", 1, "deployed", now, ""}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(inv_->PutHostDeployment({"web", "edge-1", 1, "maybe", now, ""}).code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(HostDeploymentsTest, AttemptsRecordTheirHost) {
  AddCertificate("web");
  Attempt attempt;
  attempt.certificate = "web";
  attempt.started_at = clock_.Now();
  attempt.server = "https://ca/dir";
  attempt.host = "edge-2";
  auto id = inv_->StartAttempt(attempt);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto read = inv_->GetAttempt(*id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->host, "edge-2");
}

#ifdef CERTKEEPER_STORE_POSTGRES
// A shared database is upgraded only on request, since other hosts may still
// run the older certkeeper; a newer one or a foreign one is refused.
class PostgresSchemaTest : public StoreTest {
 protected:
  Status Exec(std::string_view sql) { return inv_->database().Exec(sql, "test"); }
};

TEST_F(PostgresSchemaTest, AnOlderSchemaNeedsStoreMigrate) {
  ASSERT_TRUE(Exec("DROP TABLE material; DROP TABLE leases; DROP TABLE host_deployments; "
                   "ALTER TABLE attempts DROP COLUMN host; "
                   "DELETE FROM schema_migrations WHERE version = 7")
                  .ok());
  inv_.reset();
  PostgresOptions options = TestPostgresOptions(&clock_);
  options.migrate = false;
  auto refused = SqlInventory::OpenPostgres(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.status().hint().find("certkeeper store migrate"), std::string::npos)
      << refused.status().ToString();
  options.migrate = true;
  auto migrated = SqlInventory::OpenPostgres(options);
  ASSERT_TRUE(migrated.ok()) << migrated.status().ToString();
  auto version = (*migrated)->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, SqlInventory::LatestSchemaVersion());
}

TEST_F(PostgresSchemaTest, ANewerSchemaIsRefusedAndLeftAlone) {
  ASSERT_TRUE(Exec("INSERT INTO schema_migrations (version, name, applied_at) "
                   "VALUES (99, 'future', 0)")
                  .ok());
  inv_.reset();
  auto refused = OpenAgain();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.status().ToString().find("schema version 99"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().hint().find("upgrade certkeeper"), std::string::npos);
}

TEST_F(PostgresSchemaTest, ADatabaseOfAnotherApplicationIsRefused) {
  inv_.reset();
  ASSERT_TRUE(EmptyTestPostgres().ok());
  {
    PostgresOptions options = TestPostgresOptions(&clock_);
    auto db = internal::OpenPostgresDatabase(options.url, options.password, 10);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("CREATE TABLE orders (id BIGINT)", "test").ok());
  }
  auto refused = OpenAgain();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.status().ToString().find("not a certkeeper inventory"), std::string::npos);
}

TEST_F(PostgresSchemaTest, AWrongPasswordIsRefusedWithoutShowingIt) {
  PostgresOptions options = TestPostgresOptions(&clock_);
  options.password = "not-the-password";
  auto refused = SqlInventory::OpenPostgres(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kPermissionDenied)
      << refused.status().ToString();
  EXPECT_EQ(refused.status().ToString().find("not-the-password"), std::string::npos);
}

TEST_F(PostgresSchemaTest, APasswordInTheUrlIsRefused) {
  PostgresOptions options = TestPostgresOptions(&clock_);
  std::string url = options.url;
  size_t at = url.find('@');
  ASSERT_NE(at, std::string::npos);
  options.url = url.substr(0, at) + ":secret" + url.substr(at);
  auto refused = SqlInventory::OpenPostgres(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.status().ToString().find("secret"), std::string::npos)
      << refused.status().ToString();
}

// True when Step read a row.
bool NextRow(internal::Statement& stmt) {
  auto row = stmt.Step();
  return row.ok() && *row;
}

// The driver's text views point into the fetched rows: each column of a row
// keeps its own bytes (an embedded NUL included), NULL reads as empty, and the
// views of one row stay valid together.
TEST_F(PostgresSchemaTest, TextViewsReadEachColumnOfTheRow) {
  PostgresOptions options = TestPostgresOptions(&clock_);
  auto db = internal::OpenPostgresDatabase(options.url, options.password, 10);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto stmt = (*db)->Prepare("SELECT 'first', ?, NULL, 'b\u00fccher' UNION ALL "
                             "SELECT 'second', 'x', 'y', ''",
                             "test");
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  stmt->Bind(1, std::string_view("a,b"));
  ASSERT_TRUE(NextRow(*stmt));
  std::string_view first = stmt->TextView(0);
  std::string_view bound = stmt->TextView(1);
  EXPECT_EQ(first, "first");
  EXPECT_EQ(bound, "a,b");
  EXPECT_EQ(stmt->TextView(2), "");
  EXPECT_EQ(stmt->Text(3), "b\xc3\xbc" "cher");
  EXPECT_EQ(first, "first");
  ASSERT_TRUE(NextRow(*stmt));
  EXPECT_EQ(stmt->TextView(0), "second");
  EXPECT_EQ(stmt->Text(2), "y");
  EXPECT_EQ(stmt->TextView(3), "");
  auto done = stmt->Step();
  EXPECT_TRUE(done.ok() && !*done);
}

#endif  // CERTKEEPER_STORE_POSTGRES

}  // namespace
}  // namespace certkeeper::store::testing
