// The files target in a deploy directory that another local user can write
// (the usual case when `owner` is the application's user): whatever that user
// plants there, certkeeper running as root creates, chmods and removes nothing
// outside the directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "base/fs.h"
#include "hooks/deploy_target.h"
#include "hooks/files_target.h"
#include "tests/support/fs_helpers.h"
#include "tests/unit/hooks/hooks_test_util.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

namespace stdfs = std::filesystem;
using testing::TestPki;
using test_fs::kNobody;
using test_fs::ListDir;
using test_fs::LstatOf;
using test_fs::PlantSymlink;
using test_fs::ReadOrError;

class FilesTargetHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path() + "/certs";
    elsewhere_ = tmp_.path() + "/elsewhere";
    ASSERT_TRUE(stdfs::create_directory(dir_));
    // A root-owned directory somewhere else, with a file in it.
    ASSERT_TRUE(stdfs::create_directory(elsewhere_));
    ASSERT_EQ(chmod(elsewhere_.c_str(), 0755), 0);
    ASSERT_TRUE(fs::WriteFileAtomic(elsewhere_ + "/fullchain.pem", "not yours").ok());
    config_ = testing::LocalFilesTarget(dir_);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Mode, entries and content of the directory elsewhere are what SetUp made.
  void ExpectElsewhereUntouched() {
    EXPECT_EQ(LstatOf(elsewhere_).st_mode & 07777, 0755u);
    EXPECT_EQ(ListDir(elsewhere_), (std::set<std::string>{"fullchain.pem"}));
    EXPECT_EQ(ReadOrError(elsewhere_ + "/fullchain.pem"), "not yours");
  }

  fs::TempDir tmp_;
  std::string dir_, elsewhere_;
  TargetConfig config_;
  TestPki pki_ = TestPki::Create(std::chrono::system_clock::now());
  Material material_ = pki_.MakeMaterial("web", {"example.com"});
  DeployContext context_;
};

// The reported case: a symlink at .certkeeper-prev made root chmod its target
// 0700, delete a file in it (fullchain.pem did not exist in the deploy
// directory, so its stale copy was "removed") and create another one there.
TEST_F(FilesTargetHostileTest, PlantedPreviousDirSymlinkIsRefusedAndItsTargetUntouched) {
  ASSERT_TRUE(fs::WriteFileAtomic(Path("privkey.pem"), "old key").ok());
  PlantSymlink(elsewhere_, Path(kPreviousDirName), /*foreign=*/true);
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.where(), Path(kPreviousDirName)) << s.ToString();
  EXPECT_NE(s.message().find("symlink"), std::string::npos) << s.ToString();
  EXPECT_NE(s.hint().find("remove it"), std::string::npos) << s.ToUserString();
  ExpectElsewhereUntouched();
  // Nothing was installed either: the previous files could not be kept.
  EXPECT_EQ(ReadOrError(Path("privkey.pem")), "old key");
  EXPECT_FALSE(fs::Exists(Path("fullchain.pem")));
  EXPECT_TRUE(target.Rollback(context_).ok());
  ExpectElsewhereUntouched();
}

TEST_F(FilesTargetHostileTest, PreviousDirOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
  std::string prev = Path(kPreviousDirName);
  ASSERT_TRUE(stdfs::create_directory(prev));
  ASSERT_EQ(chmod(prev.c_str(), 0777), 0);
  ASSERT_TRUE(fs::WriteFileAtomic(prev + "/privkey.pem", "theirs").ok());
  ASSERT_EQ(chown(prev.c_str(), kNobody, kNobody), 0);
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied) << s.ToString();
  EXPECT_NE(s.message().find("uid 65534"), std::string::npos) << s.ToString();
  EXPECT_EQ(LstatOf(prev).st_mode & 07777, 0777u);
  EXPECT_EQ(LstatOf(prev).st_uid, kNobody);
  EXPECT_EQ(ListDir(prev), (std::set<std::string>{"privkey.pem"}));
  EXPECT_EQ(ReadOrError(prev + "/privkey.pem"), "theirs");
  EXPECT_FALSE(fs::Exists(Path("fullchain.pem")));
}

TEST_F(FilesTargetHostileTest, PreviousDirThatIsOursGetsItsModeBackThroughItsFd) {
  std::string prev = Path(kPreviousDirName);
  ASSERT_TRUE(stdfs::create_directory(prev));
  ASSERT_EQ(chmod(prev.c_str(), 0777), 0);
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(LstatOf(prev).st_mode & 07777, 0700u);
}

// Symlinks at the installed names are replaced, never written through, and
// Rollback puts the symlinks back as symlinks.
TEST_F(FilesTargetHostileTest, SymlinksAtInstalledNamesAreReplacedNotFollowed) {
  PlantSymlink(elsewhere_ + "/fullchain.pem", Path("fullchain.pem"), /*foreign=*/true);
  PlantSymlink(elsewhere_, Path("privkey.pem"), /*foreign=*/true);
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(S_ISREG(LstatOf(Path("fullchain.pem")).st_mode));
  EXPECT_TRUE(S_ISREG(LstatOf(Path("privkey.pem")).st_mode));
  EXPECT_EQ(ReadOrError(Path("fullchain.pem")), material_.fullchain_pem);
  EXPECT_EQ(LstatOf(Path("privkey.pem")).st_mode & 07777, 0640u);
  ExpectElsewhereUntouched();
  // The copies are symlinks too, inside .certkeeper-prev; nothing was read through them.
  EXPECT_TRUE(S_ISLNK(LstatOf(Path(kPreviousDirName) + "/fullchain.pem").st_mode));

  ASSERT_TRUE(target.Rollback(context_).ok());
  EXPECT_EQ(stdfs::read_symlink(Path("fullchain.pem")), elsewhere_ + "/fullchain.pem");
  EXPECT_EQ(stdfs::read_symlink(Path("privkey.pem")), elsewhere_);
  ExpectElsewhereUntouched();
}

// The deploy directory swapped for a symlink between install and rollback: the
// rollback goes to the directory that was installed into, through its fd,
// instead of writing and deleting files wherever the new symlink points.
TEST_F(FilesTargetHostileTest, RollbackStaysInTheDirectoryItInstalledInto) {
  ASSERT_TRUE(fs::WriteFileAtomic(Path("fullchain.pem"), "old chain").ok());
  ASSERT_TRUE(fs::WriteFileAtomic(elsewhere_ + "/privkey.pem", "not yours either").ok());
  FilesTarget target(config_);
  ASSERT_TRUE(target.Deploy(material_, context_).ok());
  std::string moved = tmp_.path() + "/certs.moved";
  ASSERT_EQ(rename(dir_.c_str(), moved.c_str()), 0);
  PlantSymlink(elsewhere_, dir_, /*foreign=*/false);

  Status s = target.Rollback(context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadOrError(moved + "/fullchain.pem"), "old chain");
  EXPECT_FALSE(fs::Exists(moved + "/privkey.pem"));
  EXPECT_EQ(ReadOrError(elsewhere_ + "/privkey.pem"), "not yours either");
  EXPECT_EQ(ReadOrError(elsewhere_ + "/fullchain.pem"), "not yours");
  EXPECT_EQ(ListDir(elsewhere_), (std::set<std::string>{"fullchain.pem", "privkey.pem"}));
}

// A symlink in the configured directory path itself is followed only when
// root (or the running user) made it in a directory nobody else can write.
TEST_F(FilesTargetHostileTest, DirectoryPathThroughAnotherUsersSymlinkIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "lchown to another user needs root";
  PlantSymlink(elsewhere_, tmp_.path() + "/link", /*foreign=*/true);
  config_.directory = tmp_.path() + "/link";
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied) << s.ToString();
  EXPECT_NE(s.message().find("symlink"), std::string::npos) << s.ToString();
  ExpectElsewhereUntouched();
}

TEST_F(FilesTargetHostileTest, DirectoryPathThroughARootSymlinkWorks) {
  ASSERT_EQ(chmod(tmp_.path().c_str(), 0755), 0);
  PlantSymlink("certs", tmp_.path() + "/current", /*foreign=*/false);
  config_.directory = tmp_.path() + "/current";
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadOrError(Path("fullchain.pem")), material_.fullchain_pem);
}

}  // namespace
}  // namespace certkeeper::hooks
