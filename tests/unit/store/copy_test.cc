// Copying a SQLite inventory into another inventory (store/copy.h): into
// SQLite in store_unit_test, into the real PostgreSQL in store_postgres_test.
#include "store/copy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "store/internal/sql.h"
#include "tests/unit/store/store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::seconds;

class CopyTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    SqliteOptions options;
    options.clock = &clock_;
    auto source = SqlInventory::Open(dir_.path() + "/source.db", options);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    source_ = std::move(source).value();
  }

  // Certificates with versions, attempts with steps, events and requests,
  // some of them holding text that a naive serialization would confuse.
  void Seed() {
    ASSERT_TRUE(source_->PutCertificate(SampleSpec("web")).ok());
    ASSERT_TRUE(source_->PutCertificate(SampleSpec("api")).ok());
    for (int n = 1; n <= 2; ++n) ASSERT_TRUE(source_->AddVersion(SampleVersion("web", n)).ok());
    ASSERT_TRUE(source_->AddVersion(SampleVersion("api", 1)).ok());
    for (int i = 0; i < 3; ++i) {
      Attempt a;
      a.certificate = i == 2 ? "api" : "web";
      a.started_at = T0() + seconds(i);
      a.server = "https://ca/dir";
      a.reason = "due \"soon\"\n\x1b[31m;' DROP TABLE x;--";
      auto id = source_->StartAttempt(a);
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      AttemptStep step{0, T0(), "validation", "http-01", "web.example.com",
                       StepResult::kFailed, "t1:a", "output"};
      ASSERT_TRUE(source_->AddAttemptStep(*id, step).ok());
    }
    Event e;
    e.certificate = "web";
    e.at = T0();
    e.kind = "renewed";
    e.message = "v2 \xc3\xa9";
    ASSERT_TRUE(source_->AddEvent(e).ok());
  }

  std::unique_ptr<SqlInventory> source_;
};

const TableCopy* Find(const std::vector<TableCopy>& tables, const std::string& name) {
  for (const TableCopy& t : tables) {
    if (t.table == name) return &t;
  }
  return nullptr;
}

TEST_F(CopyTest, CopiesEveryRowVerifiesAndMovesTheIdsPastTheCopied) {
  Seed();
  auto report = CopyInventory(*source_, *inv_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->committed);
  EXPECT_TRUE(report->verified());
  EXPECT_EQ(report->schema_version, SqlInventory::LatestSchemaVersion());
  EXPECT_EQ(report->certificates(), 2);
  ASSERT_EQ(report->tables.size(), CopiedTables().size());
  EXPECT_EQ(Find(report->tables, "versions")->target_rows, 3);
  EXPECT_EQ(Find(report->tables, "attempts")->target_rows, 3);
  EXPECT_EQ(Find(report->tables, "attempt_steps")->target_rows, 3);
  EXPECT_EQ(Find(report->tables, "events")->target_rows, 1);
  EXPECT_EQ(Find(report->tables, "versions")->source_checksum.size(), 64u);

  auto attempts = inv_->ListAttempts("web", 10);
  ASSERT_TRUE(attempts.ok()) << attempts.status().ToString();
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].reason, "due \"soon\"\n\x1b[31m;' DROP TABLE x;--");
  ASSERT_EQ((*attempts)[0].steps.size(), 1u);
  auto live = inv_->LatestVersion("web");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->n, 2);
  EXPECT_EQ(live->not_after, SampleVersion("web", 2).not_after);

  // A new row gets an id past the copied ones (PostgreSQL's sequence moved).
  Attempt next;
  next.certificate = "web";
  next.server = "https://ca/dir";
  auto id = inv_->StartAttempt(next);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, 4);
}

TEST_F(CopyTest, VerifyFindsARowChangedInTheTarget) {
  Seed();
  auto report = CopyInventory(*source_, *inv_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(report->verified());
  ASSERT_TRUE(inv_->database().Exec("UPDATE versions SET serial = 'ff' WHERE n = 2",
                                    "tamper").ok());
  auto tables = VerifyCopy(source_->database(), inv_->database());
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  for (const TableCopy& t : *tables) {
    EXPECT_EQ(t.source_rows, t.target_rows) << t.table;
    EXPECT_EQ(t.matches(), t.table != "versions") << t.table;
  }
}

TEST_F(CopyTest, ChecksumTellsNullFromEmptyAndIntegerFromText) {
  Seed();
  ASSERT_TRUE(CopyInventory(*source_, *inv_).ok());
  // revoked_at is NULL in the copy; 0 is another value.
  ASSERT_TRUE(inv_->database().Exec("UPDATE versions SET revoked_at = 0 WHERE n = 1",
                                    "tamper").ok());
  auto tables = VerifyCopy(source_->database(), inv_->database());
  ASSERT_TRUE(tables.ok());
  EXPECT_FALSE(Find(*tables, "versions")->matches());
}

TEST_F(CopyTest, RefusesATargetHoldingCertificatesAndWritesNothing) {
  Seed();
  AddCertificate("other");
  auto report = CopyInventory(*source_, *inv_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("holds 1 certificates"), std::string::npos)
      << report.status().ToString();
  auto certs = inv_->ListCertificates(true);
  ASSERT_TRUE(certs.ok());
  EXPECT_EQ(certs->size(), 1u);
}

TEST_F(CopyTest, RefusesDifferentSchemaVersions) {
  Seed();
  ASSERT_TRUE(source_->database()
                  .Exec("DELETE FROM schema_migrations WHERE version = 7", "make it older")
                  .ok());
  auto report = CopyInventory(*source_, *inv_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("schema version 6"), std::string::npos)
      << report.status().ToString();
  EXPECT_NE(report.status().hint().find("store migrate"), std::string::npos);
  auto certs = inv_->ListCertificates(true);
  ASSERT_TRUE(certs.ok());
  EXPECT_TRUE(certs->empty());
}

TEST_F(CopyTest, DryRunCountsAndWritesNothing) {
  Seed();
  CopyOptions options;
  options.dry_run = true;
  auto report = CopyInventory(*source_, *inv_, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->committed);
  EXPECT_EQ(report->certificates(), 2);
  auto certs = inv_->ListCertificates(true);
  ASSERT_TRUE(certs.ok());
  EXPECT_TRUE(certs->empty());
}

TEST_F(CopyTest, AFailureBeforeTheCommitLeavesTheTargetEmpty) {
  Seed();
  CopyOptions options;
  options.before_commit = [] { return Status(ErrorCode::kIo, "share failed"); };
  auto report = CopyInventory(*source_, *inv_, options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), ErrorCode::kIo);
  auto certs = inv_->ListCertificates(true);
  ASSERT_TRUE(certs.ok());
  EXPECT_TRUE(certs->empty());
  // ...and a second copy then succeeds.
  auto again = CopyInventory(*source_, *inv_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->verified());
}

}  // namespace
}  // namespace certkeeper::store::testing
