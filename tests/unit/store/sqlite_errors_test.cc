// A full inventory says so: SQLite's SQLITE_FULL ("database or disk is full")
// reaches the user as "No space left on device" with the database's path and a
// hint, not only as SQLite's words.
#include <gtest/gtest.h>
#include <string.h>

#include <errno.h>

#include <string>

#include "base/fs.h"
#include "store/internal/sqlite.h"

namespace certkeeper::store::internal {
namespace {

TEST(SqliteErrorsTest, FullDatabaseNamesNoSpaceLeftAndThePath) {
  fs::TempDir dir;
  std::string path = dir.path() + "/certkeeper.db";
  ASSERT_TRUE(fs::WritePrivateFile(path, "").ok());
  auto db = Database::Open(path, 1000);
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

}  // namespace
}  // namespace certkeeper::store::internal
