// The ssh target's remote scripts in a remote directory that another remote
// user can write, run with the local POSIX shell standing in for the remote
// side: whatever that user plants there, nothing outside the directory is
// chmod'ed, written or removed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "base/fs.h"
#include "base/process.h"
#include "hooks/ssh_target.h"
#include "tests/support/fs_helpers.h"
#include "tests/unit/hooks/hooks_test_util.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

namespace stdfs = std::filesystem;
using test_fs::kNobody;
using test_fs::ListDir;
using test_fs::LstatOf;
using test_fs::ReadOrError;
using testing::RunSh;

class SshScriptsHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path() + "/remote dir 'quoted'";
    elsewhere_ = tmp_.path() + "/elsewhere";
    ASSERT_TRUE(stdfs::create_directory(dir_));
    ASSERT_TRUE(stdfs::create_directory(elsewhere_));
    ASSERT_EQ(chmod(elsewhere_.c_str(), 0755), 0);
    ASSERT_TRUE(fs::WriteFileAtomic(elsewhere_ + "/victim", "not yours").ok());
    ASSERT_TRUE(fs::WriteFileAtomic(elsewhere_ + "/.complete", "").ok());
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void ExpectElsewhereUntouched() {
    EXPECT_EQ(LstatOf(elsewhere_).st_mode & 07777, 0755u);
    EXPECT_EQ(ListDir(elsewhere_), (std::set<std::string>{".complete", "victim"}));
    EXPECT_EQ(ReadOrError(elsewhere_ + "/victim"), "not yours");
  }
  void PlantSymlink(const std::string& target, const std::string& link) {
    ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0) << link;
    if (geteuid() == 0) {
      ASSERT_EQ(lchown(link.c_str(), kNobody, kNobody), 0);
    }
  }
  void UploadAll() {
    for (const std::string& name : names_) {
      ProcessResult r = RunSh(SshUploadScript(dir_, stage_, name, 0600), "new " + name);
      ASSERT_TRUE(r.success()) << r.stderr_data;
    }
  }

  fs::TempDir tmp_;
  std::string dir_, elsewhere_;
  std::string stage_ = SshStageName();
  std::vector<std::string> names_ = {"fullchain.pem", "-it's key.pem"};
};

// `mkdir -p .certkeeper-prev; chmod 700 .certkeeper-prev` followed a planted
// symlink: its target became 0700, and the backups and the marker were
// removed and written there.
TEST_F(SshScriptsHostileTest, PlantedPreviousDirSymlinkIsRefused) {
  ASSERT_TRUE(fs::WriteFileAtomic(Path("fullchain.pem"), "old chain").ok());
  UploadAll();
  PlantSymlink(elsewhere_, Path(".certkeeper-prev"));
  ProcessResult r = RunSh(SshInstallScript(dir_, stage_, names_));
  EXPECT_FALSE(r.success());
  EXPECT_NE(r.stderr_data.find("symlink"), std::string::npos) << r.stderr_data;
  ExpectElsewhereUntouched();
  EXPECT_EQ(ReadOrError(Path("fullchain.pem")), "old chain");

  r = RunSh(SshRollbackScript(dir_, stage_, names_));
  EXPECT_FALSE(r.success());
  ExpectElsewhereUntouched();
  EXPECT_EQ(ReadOrError(Path("fullchain.pem")), "old chain");
}

TEST_F(SshScriptsHostileTest, PreviousDirOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
  std::string prev = Path(".certkeeper-prev");
  ASSERT_TRUE(stdfs::create_directory(prev));
  ASSERT_TRUE(fs::WriteFileAtomic(prev + "/fullchain.pem", "theirs").ok());
  ASSERT_EQ(chown(prev.c_str(), kNobody, kNobody), 0);
  UploadAll();
  ProcessResult r = RunSh(SshInstallScript(dir_, stage_, names_));
  EXPECT_FALSE(r.success());
  EXPECT_NE(r.stderr_data.find("is not owned by"), std::string::npos) << r.stderr_data;
  EXPECT_EQ(ReadOrError(prev + "/fullchain.pem"), "theirs");
  EXPECT_FALSE(fs::Exists(Path("fullchain.pem")));
}

// A symlink at a live name is replaced by the new file; `mv` onto a symlink
// to a directory used to move the new file into that directory instead.
TEST_F(SshScriptsHostileTest, SymlinksAtLiveNamesAreReplacedNotFollowed) {
  PlantSymlink(elsewhere_ + "/victim", Path(names_[0]));
  PlantSymlink(elsewhere_, Path(names_[1]));
  UploadAll();
  ProcessResult r = RunSh(SshInstallScript(dir_, stage_, names_));
  ASSERT_TRUE(r.success()) << r.stderr_data;
  for (const std::string& name : names_) {
    EXPECT_TRUE(S_ISREG(LstatOf(Path(name)).st_mode)) << name;
    EXPECT_EQ(ReadOrError(Path(name)), "new " + name);
  }
  ExpectElsewhereUntouched();
  EXPECT_FALSE(fs::Exists(Path(stage_)));

  r = RunSh(SshRollbackScript(dir_, stage_, names_));
  ASSERT_TRUE(r.success()) << r.stderr_data;
  EXPECT_EQ(stdfs::read_symlink(Path(names_[0])), elsewhere_ + "/victim");
  EXPECT_EQ(stdfs::read_symlink(Path(names_[1])), elsewhere_);
  ExpectElsewhereUntouched();
}

TEST_F(SshScriptsHostileTest, PlantedStagingSymlinkIsRefused) {
  PlantSymlink(elsewhere_, Path(stage_));
  ProcessResult r = RunSh(SshUploadScript(dir_, stage_, names_[0], 0600), "new");
  EXPECT_FALSE(r.success());
  EXPECT_NE(r.stderr_data.find("symlink"), std::string::npos) << r.stderr_data;
  ExpectElsewhereUntouched();
  EXPECT_TRUE(RunSh(SshCleanupScript(dir_, stage_)).success());
  EXPECT_TRUE(stdfs::is_symlink(Path(stage_)));  // not ours: left alone
  ExpectElsewhereUntouched();
}

// The staging directory moved away between two uploads and a symlink put in
// its place: the second upload refuses instead of writing through it.
TEST_F(SshScriptsHostileTest, StagingDirectorySwappedBetweenUploadsIsRefused) {
  ProcessResult r = RunSh(SshUploadScript(dir_, stage_, names_[0], 0600), "new");
  ASSERT_TRUE(r.success()) << r.stderr_data;
  ASSERT_EQ(rename(Path(stage_).c_str(), Path("moved").c_str()), 0);
  PlantSymlink(elsewhere_, Path(stage_));
  r = RunSh(SshUploadScript(dir_, stage_, "victim", 0644), "overwritten");
  EXPECT_FALSE(r.success());
  ExpectElsewhereUntouched();
}

TEST_F(SshScriptsHostileTest, StagingDirectoryOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
  ASSERT_TRUE(stdfs::create_directory(Path(stage_)));
  ASSERT_EQ(chown(Path(stage_).c_str(), kNobody, kNobody), 0);
  ProcessResult r = RunSh(SshUploadScript(dir_, stage_, names_[0], 0600), "new");
  EXPECT_FALSE(r.success());
  EXPECT_NE(r.stderr_data.find("is not owned by"), std::string::npos) << r.stderr_data;
  EXPECT_TRUE(ListDir(Path(stage_)).empty());
}

}  // namespace
}  // namespace certkeeper::hooks
