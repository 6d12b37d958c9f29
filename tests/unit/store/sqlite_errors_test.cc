// A full inventory says so: SQLite's SQLITE_FULL ("database or disk is full")
// reaches the user as "No space left on device" with the database's path and a
// hint, not only as SQLite's words.
#include <gtest/gtest.h>
#include <string.h>

#include <errno.h>

#include <string>

#include "base/fault_injection.h"
#include "base/fs.h"
#include "store/sql_inventory.h"
#include "tests/unit/store/store_test_util.h"
#include "store/internal/sqlite.h"

namespace certkeeper::store::internal {
namespace {

TEST(SqliteErrorsTest, FullDatabaseNamesNoSpaceLeftAndThePath) {
  fs::TempDir dir;
  std::string path = dir.path() + "/certkeeper.db";
  ASSERT_TRUE(fs::WritePrivateFile(path, "").ok());
  auto db = OpenSqliteDatabase(path, 1000);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (b BLOB)", "create").ok());
  // The page limit makes SQLite answer SQLITE_FULL as a full disk would.
  ASSERT_TRUE((*db)->Exec("PRAGMA max_page_count = 3", "limit").ok());
  Status s = (*db)->Exec("INSERT INTO t VALUES (zeroblob(100000))", "record the version");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("record the version"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find(strerror(ENOSPC)), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find(path), std::string::npos) << s.ToString();
  EXPECT_NE(s.hint().find("full"), std::string::npos) << s.hint();
}

// True when Step read a row.
bool NextRow(internal::Statement& stmt) {
  auto row = stmt.Step();
  return row.ok() && *row;
}

// The driver's text views point into the current row: each column keeps its
// own bytes (an embedded NUL included, nothing past the end), NULL reads as

// empty, and the views of one row stay valid together.
TEST(SqliteRowsTest, TextViewsReadEachColumnOfTheRow) {
  fs::TempDir dir;
  std::string path = dir.path() + "/certkeeper.db";
  ASSERT_TRUE(fs::WritePrivateFile(path, "").ok());
  auto db = OpenSqliteDatabase(path, 1000);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (n INTEGER, a TEXT, b TEXT, c TEXT, d TEXT)", "create").ok());
  {
    auto insert = (*db)->Prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)", "insert");
    ASSERT_TRUE(insert.ok());
    insert->BindAll(1, std::string_view("first\0half", 10), "[\"a.example\"]", "");
    insert->BindNull(5);
    Status inserted = insert->Run();
    ASSERT_TRUE(inserted.ok()) << inserted.ToString();
  }
  {
    auto insert = (*db)->Prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)", "insert");
    ASSERT_TRUE(insert.ok());
    insert->BindAll(2, "second", "b\xc3\xbc" "cher", "x", "y");
    Status inserted = insert->Run();
    ASSERT_TRUE(inserted.ok()) << inserted.ToString();
  }
  auto stmt = (*db)->Prepare("SELECT a, b, c, d, n FROM t ORDER BY n", "read");
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  ASSERT_TRUE(NextRow(*stmt));
  std::string_view a = stmt->TextView(0);
  std::string_view b = stmt->TextView(1);
  EXPECT_EQ(a, std::string_view("first\0half", 10));
  EXPECT_EQ(b, "[\"a.example\"]");
  EXPECT_EQ(stmt->TextView(2), "");
  EXPECT_EQ(stmt->TextView(3), "");
  EXPECT_TRUE(stmt->IsNull(3));
  EXPECT_EQ(stmt->TextView(4), "1");
  EXPECT_EQ(a, std::string_view("first\0half", 10));
  EXPECT_EQ(b, "[\"a.example\"]");
  ASSERT_TRUE(NextRow(*stmt));
  EXPECT_EQ(stmt->Text(0), "second");
  EXPECT_EQ(stmt->TextView(1), "b\xc3\xbc" "cher");
  EXPECT_EQ(stmt->Text(3), "y");
  auto done = stmt->Step();
  EXPECT_TRUE(done.ok() && !*done);
}

// The inventory's writes go through the file-system fault seam (a SQLite VFS):
// a write to the WAL that fails with ENOSPC or EIO fails that one inventory
// write with the cause and the path, records nothing, and the next write goes
// through. (A failed sync of the log: sync_policy_test.cc.)
struct InventoryFaultRow {
  const char* name;
  fs::FaultOp op;
  int error;
  const char* cause;  // strerror(error)
};

class InventoryFaultRows : public ::testing::TestWithParam<InventoryFaultRow> {
 protected:
  void TearDown() override { fs::DisarmFault(); }
};

TEST_P(InventoryFaultRows, FailsOneWriteWithTheCause) {
  const InventoryFaultRow& row = GetParam();
  fs::TempDir dir;
  std::string path = dir.path() + "/certkeeper.db";
  // Armed (with a plan that never fires) before the inventory opens, so the
  // connection uses the fault VFS, as certkeeper does with CERTKEEPER_FAULT.
  fs::ArmFault({fs::FaultOp::kWrite, 1, ENOSPC, "no such path"});
  auto inventory = SqlInventory::Open(path);
  ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
  fs::ArmFault({row.op, 1, row.error, "certkeeper.db-wal"});
  Status s = (*inventory)->PutCertificate(testing::SampleSpec("web"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(fs::InjectedFaultCount(), 1);
  EXPECT_NE(s.ToString().find(row.cause), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find(path), std::string::npos) << s.ToString();
  EXPECT_FALSE((*inventory)->GetCertificate("web").ok());
  ASSERT_TRUE((*inventory)->PutCertificate(testing::SampleSpec("web")).ok());
  EXPECT_TRUE((*inventory)->GetCertificate("web").ok());
}

INSTANTIATE_TEST_SUITE_P(
    Faults, InventoryFaultRows,
    ::testing::Values(InventoryFaultRow{"WalWriteNoSpace", fs::FaultOp::kWrite, ENOSPC,
                                        "No space left on device"},
                      InventoryFaultRow{"WalWriteIoError", fs::FaultOp::kWrite, EIO,
                                        "Input/output error"}),
    [](const ::testing::TestParamInfo<InventoryFaultRow>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace certkeeper::store::internal
