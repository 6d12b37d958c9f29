// The SQLite driver keeps a released statement for the next Prepare of the
// same SQL (store/internal/sqlite.cc). What that must never change: a
// statement starts from its first row with nothing bound, a released read
// keeps no snapshot, and two users of one SQL at once each get their own.
#include <gtest/gtest.h>

#include <string>

#include "base/fs.h"
#include "store/internal/sqlite.h"

namespace certkeeper::store::internal {
namespace {

class SqliteStatementReuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/certkeeper.db";
    ASSERT_TRUE(fs::WritePrivateFile(path_, "").ok());
    auto db = OpenSqliteDatabase(path_, 1000);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Exec("CREATE TABLE t (n INTEGER)", "create").ok());
    ASSERT_TRUE(db_->Exec("INSERT INTO t VALUES (1), (2), (3)", "fill").ok());
  }

  // The rows `sql` reads from the start, as numbers joined by spaces.
  std::string ReadAll(const std::string& sql) {
    auto stmt = db_->Prepare(sql, "read");
    EXPECT_TRUE(stmt.ok()) << stmt.status().ToString();
    if (!stmt.ok()) return "";
    std::string rows;
    while (true) {
      auto row = stmt->Step();
      EXPECT_TRUE(row.ok()) << row.status().ToString();
      if (!row.ok() || !*row) return rows;
      rows += (rows.empty() ? "" : " ") + std::to_string(stmt->Int(0));
    }
  }

  fs::TempDir dir_;
  std::string path_;
  std::unique_ptr<Database> db_;
};

constexpr const char* kAll = "SELECT n FROM t ORDER BY n";

TEST_F(SqliteStatementReuseTest, AStatementReleasedMidReadStartsOverAndSeesLaterWrites) {
  {
    auto stmt = db_->Prepare(kAll, "read");
    ASSERT_TRUE(stmt.ok());
    auto row = stmt->Step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(stmt->Int(0), 1);
  }  // released after one row, its read still open
  // Another connection writes; with the read's snapshot kept, this
  // connection would neither see the row nor let a checkpoint pass it.
  auto other = OpenSqliteDatabase(path_, 1000);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE((*other)->Exec("INSERT INTO t VALUES (4)", "write").ok());
  EXPECT_EQ(ReadAll(kAll), "1 2 3 4");
}

TEST_F(SqliteStatementReuseTest, AReusedStatementHasNothingBound) {
  {
    auto stmt = db_->Prepare("SELECT n FROM t WHERE n >= ? ORDER BY n", "read");
    ASSERT_TRUE(stmt.ok());
    stmt->Bind(1, int64_t{3});
    auto row = stmt->Step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(stmt->Int(0), 3);
  }
  // Unbound, the parameter is NULL: no row compares >= NULL.
  EXPECT_EQ(ReadAll("SELECT n FROM t WHERE n >= ? ORDER BY n"), "");
}

TEST_F(SqliteStatementReuseTest, TwoUsersOfOneSqlAtOnceReadIndependently) {
  auto first = db_->Prepare(kAll, "read");
  auto second = db_->Prepare(kAll, "read");
  ASSERT_TRUE(first.ok() && second.ok());
  auto a = first->Step();
  ASSERT_TRUE(a.ok() && *a);
  auto b = second->Step();
  ASSERT_TRUE(b.ok() && *b);
  auto a2 = first->Step();
  ASSERT_TRUE(a2.ok() && *a2);
  EXPECT_EQ(first->Int(0), 2);
  EXPECT_EQ(second->Int(0), 1);
}

TEST_F(SqliteStatementReuseTest, AFailedStepLeavesTheStatementUsable) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE u (n INTEGER PRIMARY KEY)", "create").ok());
  const std::string insert = "INSERT INTO u VALUES (?)";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto stmt = db_->Prepare(insert, "insert");
    ASSERT_TRUE(stmt.ok());
    stmt->Bind(1, int64_t{7});
    Status s = stmt->Run();
    if (attempt == 0) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    } else {
      EXPECT_EQ(s.code(), ErrorCode::kAlreadyExists) << s.ToString();
    }
  }
  auto stmt = db_->Prepare(insert, "insert");
  ASSERT_TRUE(stmt.ok());
  stmt->Bind(1, int64_t{8});
  EXPECT_TRUE(stmt->Run().ok());
  EXPECT_EQ(ReadAll("SELECT n FROM u ORDER BY n"), "7 8");
}

}  // namespace
}  // namespace certkeeper::store::internal
