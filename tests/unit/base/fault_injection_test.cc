// The file-system fault seam: a plan parses from its text form, fails exactly
// the nth matching call with the planned errno, and the error a caller sees
// names the cause ("No space left on device") and the path. A failed atomic
// write leaves the old content in place.
#include "base/fault_injection.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <string.h>

#include <string>

#include "base/fs.h"

namespace certkeeper::fs {
namespace {

class FaultInjectionTest : public ::testing::Test {
 protected:
  void TearDown() override { DisarmFault(); }
  TempDir dir_;
};

struct ParseRow {
  const char* name;
  const char* text;
  bool ok;
  FaultOp op;
  int nth;
  int error;
  const char* path_contains;
};

class ParseFaultPlanRows : public ::testing::TestWithParam<ParseRow> {};

TEST_P(ParseFaultPlanRows, Parses) {
  const ParseRow& row = GetParam();
  Result<FaultPlan> plan = ParseFaultPlan(row.text);
  ASSERT_EQ(plan.ok(), row.ok) << (plan.ok() ? "parsed" : plan.status().ToString());
  if (!row.ok) {
    EXPECT_NE(plan.status().ToString().find(row.text), std::string::npos);
    return;
  }
  EXPECT_EQ(plan->op, row.op);
  EXPECT_EQ(plan->nth, row.nth);
  EXPECT_EQ(plan->error, row.error);
  EXPECT_EQ(plan->path_contains, row.path_contains);
}

INSTANTIATE_TEST_SUITE_P(
    Texts, ParseFaultPlanRows,
    ::testing::Values(
        ParseRow{"WriteEnospc", "write:1:ENOSPC", true, FaultOp::kWrite, 1, ENOSPC, ""},
        ParseRow{"FsyncEioWithPath", "fsync:3:EIO:/archive/", true, FaultOp::kSync, 3, EIO,
                 "/archive/"},
        ParseRow{"PathWithColons", "rename:2:28:a:b", true, FaultOp::kRename, 2, 28, "a:b"},
        ParseRow{"Mkdir", "mkdir:1:EDQUOT", true, FaultOp::kMkdir, 1, EDQUOT, ""},
        ParseRow{"Read", "read:2:EIO:.db", true, FaultOp::kRead, 2, EIO, ".db"},
        ParseRow{"UnknownOp", "unlink:1:EIO", false, FaultOp::kWrite, 0, 0, ""},
        ParseRow{"ZeroCount", "write:0:EIO", false, FaultOp::kWrite, 0, 0, ""},
        ParseRow{"UnknownErrno", "write:1:EFULL", false, FaultOp::kWrite, 0, 0, ""},
        ParseRow{"TooFewFields", "write:1", false, FaultOp::kWrite, 0, 0, ""}),
    [](const ::testing::TestParamInfo<ParseRow>& info) { return std::string(info.param.name); });

TEST_F(FaultInjectionTest, FullDiskOnWriteNamesTheCauseAndKeepsTheOldFile) {
  std::string path = dir_.path() + "/key.pem";
  ASSERT_TRUE(WritePrivateFile(path, "old").ok());
  ArmFault({FaultOp::kWrite, 1, ENOSPC, ""});
  Status s = WritePrivateFile(path, "new");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find(strerror(ENOSPC)), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find(dir_.path()), std::string::npos) << s.ToString();
  EXPECT_NE(s.hint().find("full"), std::string::npos) << s.hint();
  EXPECT_EQ(InjectedFaultCount(), 1);
  EXPECT_EQ(*ReadFile(path), "old");
  // One failure per plan: the next write goes through.
  ASSERT_TRUE(WritePrivateFile(path, "new").ok());
  EXPECT_EQ(*ReadFile(path), "new");
}

TEST_F(FaultInjectionTest, FailsOnlyTheNthMatchingCall) {
  ArmFault({FaultOp::kRename, 2, EIO, "/b"});
  EXPECT_TRUE(WriteFileAtomic(dir_.path() + "/a1", "x").ok());  // no match
  EXPECT_TRUE(WriteFileAtomic(dir_.path() + "/b1", "x").ok());  // 1st match
  EXPECT_TRUE(WriteFileAtomic(dir_.path() + "/a2", "x").ok());  // no match
  Status s = WriteFileAtomic(dir_.path() + "/b2", "x");         // 2nd match
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find(strerror(EIO)), std::string::npos) << s.ToString();
  EXPECT_FALSE(Exists(dir_.path() + "/b2"));
  EXPECT_TRUE(WriteFileAtomic(dir_.path() + "/b3", "x").ok());
  EXPECT_EQ(InjectedFaultCount(), 1);
}

TEST_F(FaultInjectionTest, FsyncMkdirAndSymlinkRenameGoThroughTheSeam) {
  ArmFault({FaultOp::kSync, 1, EIO, ""});
  EXPECT_FALSE(WriteNewFile(dir_.path() + "/f", "x", 0644).ok());
  EXPECT_FALSE(Exists(dir_.path() + "/f"));
  ArmFault({FaultOp::kMkdir, 1, ENOSPC, ""});
  Status made = MakeDirs(dir_.path() + "/d/e", 0700);
  EXPECT_NE(made.ToString().find(strerror(ENOSPC)), std::string::npos) << made.ToString();
  ArmFault({FaultOp::kRename, 1, ENOSPC, "/link"});
  EXPECT_FALSE(ReplaceSymlink("target", dir_.path() + "/link").ok());
  EXPECT_FALSE(Exists(dir_.path() + "/link"));
}

TEST_F(FaultInjectionTest, UnarmedChangesNothing) {
  ArmFault({FaultOp::kWrite, 1, ENOSPC, ""});
  DisarmFault();
  EXPECT_TRUE(WritePrivateFile(dir_.path() + "/k", "x").ok());
  EXPECT_EQ(InjectedFaultCount(), 0);
}

TEST_F(FaultInjectionTest, EnvironmentFormArmsAndRejectsGarbage) {
  ASSERT_EQ(setenv("CERTKEEPER_FAULT", "write:1:ENOSPC:/env-", 1), 0);
  ASSERT_TRUE(ArmFaultFromEnvironment().ok());
  EXPECT_TRUE(WritePrivateFile(dir_.path() + "/other", "x").ok());
  EXPECT_FALSE(WritePrivateFile(dir_.path() + "/env-file", "x").ok());
  ASSERT_EQ(setenv("CERTKEEPER_FAULT", "write:x:ENOSPC", 1), 0);
  Status bad = ArmFaultFromEnvironment();
  EXPECT_NE(bad.ToString().find("CERTKEEPER_FAULT"), std::string::npos) << bad.ToString();
  unsetenv("CERTKEEPER_FAULT");
}

}  // namespace
}  // namespace certkeeper::fs
