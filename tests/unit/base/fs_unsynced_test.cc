// WritePrivateFileUnsynced: the private-file write of a pending order's key,
// 0600 and atomic like WritePrivateFile, without its two syncs.
#include <errno.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "base/fault_injection.h"
#include "base/fs.h"
#include "base/fs_unsynced.h"

namespace certkeeper {
namespace {

class WritePrivateFileUnsyncedTest : public ::testing::Test {
 protected:
  void TearDown() override { fs::DisarmFault(); }

  int Entries() {
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
      static_cast<void>(e);
      ++entries;
    }
    return entries;
  }

  fs::TempDir dir_;
  std::string path_ = dir_.path() + "/pending.key";
};

TEST_F(WritePrivateFileUnsyncedTest, WritesMode0600AndReplacesAtomically) {
  ASSERT_TRUE(fs::WritePrivateFileUnsynced(path_, "first").ok());
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*fs::ReadFile(path_), "first");
  ASSERT_TRUE(fs::WritePrivateFileUnsynced(path_, "second").ok());
  EXPECT_EQ(*fs::ReadFile(path_), "second");
  EXPECT_EQ(Entries(), 1) << "a temporary file was left";
}

// Every fsync below dir_ fails while armed: the unsynced write never reaches
// one, the synced write does.
TEST_F(WritePrivateFileUnsyncedTest, SyncsNeitherTheFileNorItsDirectory) {
  fs::ArmFault({fs::FaultOp::kSync, 1, EIO, dir_.path()});
  ASSERT_TRUE(fs::WritePrivateFileUnsynced(path_, "key").ok());
  EXPECT_EQ(fs::InjectedFaultCount(), 0);
  EXPECT_FALSE(fs::WritePrivateFile(path_, "key").ok());
  EXPECT_EQ(fs::InjectedFaultCount(), 1);
}

// A write that fails leaves the old content and no temporary file.
TEST_F(WritePrivateFileUnsyncedTest, AFailedWriteKeepsTheOldContent) {
  ASSERT_TRUE(fs::WritePrivateFileUnsynced(path_, "old").ok());
  fs::ArmFault({fs::FaultOp::kWrite, 1, ENOSPC, dir_.path()});
  Status s = fs::WritePrivateFileUnsynced(path_, "new");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("No space left on device"), std::string::npos) << s.ToString();
  EXPECT_EQ(*fs::ReadFile(path_), "old");
  EXPECT_EQ(Entries(), 1);
}

}  // namespace
}  // namespace certkeeper
