#include "base/dirfd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "tests/support/fs_helpers.h"

namespace certkeeper::fs {
namespace {

namespace stdfs = std::filesystem;
using test_fs::kNobody;
using test_fs::ListDir;
using test_fs::LstatOf;
using test_fs::PlantSymlink;

WriteOptions Mode(mode_t mode) {
  WriteOptions options;
  options.mode = mode;
  return options;
}

class DirFdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path();
    elsewhere_ = root_ + "/elsewhere";
    ASSERT_TRUE(stdfs::create_directory(elsewhere_));
    ASSERT_EQ(chmod(elsewhere_.c_str(), 0755), 0);
    ASSERT_TRUE(WriteFileAtomic(elsewhere_ + "/victim", "victim").ok());
  }
  void ExpectElsewhereUntouched() {
    EXPECT_EQ(LstatOf(elsewhere_).st_mode & 07777, 0755u);
    EXPECT_EQ(ListDir(elsewhere_), (std::set<std::string>{"victim"}));
    EXPECT_EQ(*ReadFile(elsewhere_ + "/victim"), "victim");
  }

  TempDir tmp_;
  std::string root_, elsewhere_;
};

TEST(UniqueFdTest, ClosesOnceAndMovesOwnership) {
  int raw = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  UniqueFd a(raw);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT: moved-from state is part of the contract
  EXPECT_EQ(b.get(), raw);
  UniqueFd c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  int released = c.Release();
  EXPECT_FALSE(c.valid());
  EXPECT_EQ(fcntl(released, F_GETFD), FD_CLOEXEC);  // still open: ownership was given up
  c.Reset(released);
  c.Reset();
  EXPECT_EQ(fcntl(released, F_GETFD), -1);  // closed by Reset
}

TEST_F(DirFdTest, OpenDirectoryRefusesASymlinkAnotherUserOwns) {
  if (geteuid() != 0) GTEST_SKIP() << "lchown to another user needs root";
  PlantSymlink(elsewhere_, root_ + "/link", /*foreign=*/true);
  Result<Dir> dir = OpenDirectory(root_ + "/link");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), ErrorCode::kPermissionDenied) << dir.status().ToString();
  EXPECT_NE(dir.status().message().find("uid 65534"), std::string::npos);
  EXPECT_EQ(dir.status().where(), root_ + "/link");
  // MakeDirs used to stat() through it and create below the link's target.
  EXPECT_FALSE(MakeDirs(root_ + "/link/sub", 0700).ok());
  ExpectElsewhereUntouched();
}

TEST_F(DirFdTest, OpenDirectoryFollowsATrustedSymlink) {
  ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
  ASSERT_EQ(symlink("elsewhere", (root_ + "/link").c_str()), 0);
  Result<Dir> dir = OpenDirectory(root_ + "/link/");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  Result<std::string> victim = ReadFileAt(*dir, "victim");
  ASSERT_TRUE(victim.ok()) << victim.status().ToString();
  EXPECT_EQ(*victim, "victim");
  // An absolute link target, then "..": resolved on descriptors like the kernel does.
  ASSERT_EQ(symlink((elsewhere_ + "/..").c_str(), (root_ + "/up").c_str()), 0);
  Result<Dir> up = OpenDirectory(root_ + "/up/elsewhere");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_TRUE(ReadFileAt(*up, "victim").ok());
}

TEST_F(DirFdTest, SymlinkInAWorldWritableDirectoryIsNotTrusted) {
  std::string open_dir = root_ + "/open";
  ASSERT_TRUE(stdfs::create_directory(open_dir));
  ASSERT_EQ(chmod(open_dir.c_str(), 0777), 0);
  ASSERT_EQ(symlink(elsewhere_.c_str(), (open_dir + "/link").c_str()), 0);
  Result<Dir> dir = OpenDirectory(open_dir + "/link");
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("group or others"), std::string::npos)
      << dir.status().ToString();
  // The same directory with the sticky bit (like /tmp): only trusted users
  // could have made or replaced a link they own there.
  ASSERT_EQ(chmod(open_dir.c_str(), 01777), 0);
  EXPECT_TRUE(OpenDirectory(open_dir + "/link").ok());
}

TEST_F(DirFdTest, MissingAndNonDirectoryComponentsAreNamed) {
  Result<Dir> missing = OpenDirectory(root_ + "/absent/x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.status().where(), root_ + "/absent");
  Result<Dir> file = OpenDirectory(elsewhere_ + "/victim");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(MakeDirs(elsewhere_ + "/victim/sub").ok());
}

TEST_F(DirFdTest, MakeDirsSetsTheModeOnTheCreatedDirectoriesOnly) {
  mode_t old_umask = umask(077);
  Status s = MakeDirs(root_ + "/a/b", 0755);
  umask(old_umask);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(LstatOf(root_ + "/a").st_mode & 07777, 0755u);
  EXPECT_EQ(LstatOf(root_ + "/a/b").st_mode & 07777, 0755u);
  ASSERT_TRUE(MakeDirs(elsewhere_, 0700).ok());  // existing: left as it is
  EXPECT_EQ(LstatOf(elsewhere_).st_mode & 07777, 0755u);

  Result<Dir> a = OpenDirectory(root_ + "/a");
  ASSERT_TRUE(a.ok());
  Result<Dir> deep = MakeDirsAt(*a, "c/d", 0700);
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  EXPECT_EQ(deep->path(), root_ + "/a/c/d");
  EXPECT_EQ(LstatOf(root_ + "/a/c/d").st_mode & 07777, 0700u);
  // A symlink in the way (made by root, but in a directory others can write).
  ASSERT_EQ(chmod((root_ + "/a").c_str(), 0777), 0);
  ASSERT_EQ(symlink(elsewhere_.c_str(), (root_ + "/a/e").c_str()), 0);
  EXPECT_FALSE(MakeDirsAt(*a, "e/f", 0700).ok());
  ExpectElsewhereUntouched();
}

TEST_F(DirFdTest, MakeDirAtRefusesASymlinkAndNeverChmodsItsTarget) {
  Result<Dir> root = OpenDirectory(root_);
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(symlink(elsewhere_.c_str(), (root_ + "/prev").c_str()), 0);
  bool created = true;
  Result<Dir> prev = MakeDirAt(*root, "prev", 0700, &created);
  ASSERT_FALSE(prev.ok());
  EXPECT_FALSE(created);
  EXPECT_NE(prev.status().message().find("symlink"), std::string::npos);
  ExpectElsewhereUntouched();

  Result<Dir> fresh = MakeDirAt(*root, "fresh", 0711, &created);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(created);
  EXPECT_EQ(LstatOf(root_ + "/fresh").st_mode & 07777, 0711u);
  Result<Dir> again = MakeDirAt(*root, "fresh", 0700, &created);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(created);
  EXPECT_FALSE(MakeDirAt(*root, "../x", 0700).ok());
}

TEST_F(DirFdTest, CheckOwnedDirectoryRefusesForeignOwnerAndLooseMode) {
  Result<Dir> dir = OpenDirectory(elsewhere_);
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(CheckOwnedDirectory(*dir).ok());  // 0755, ours
  ASSERT_EQ(chmod(elsewhere_.c_str(), 0770), 0);
  Status loose = CheckOwnedDirectory(*dir);
  EXPECT_EQ(loose.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(loose.message().find("0770"), std::string::npos) << loose.ToString();
  EXPECT_TRUE(CheckOwnedDirectory(*dir, /*others_may_write=*/true).ok());
  if (geteuid() != 0) return;
  ASSERT_EQ(chmod(elsewhere_.c_str(), 0700), 0);
  ASSERT_EQ(chown(elsewhere_.c_str(), kNobody, kNobody), 0);
  Status foreign = CheckOwnedDirectory(*dir, /*others_may_write=*/true);
  EXPECT_EQ(foreign.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(foreign.message().find("uid 65534"), std::string::npos) << foreign.ToString();
}

TEST_F(DirFdTest, WriteFileAtReplacesASymlinkInsteadOfFollowingIt) {
  Result<Dir> root = OpenDirectory(root_);
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(symlink((elsewhere_ + "/victim").c_str(), (root_ + "/cert.pem").c_str()), 0);
  ASSERT_EQ(symlink(elsewhere_.c_str(), (root_ + "/key.pem").c_str()), 0);
  mode_t old_umask = umask(0);
  Status s = WriteFileAt(*root, "cert.pem", "new cert", Mode(0640));
  umask(old_umask);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(WriteFileAt(*root, "key.pem", "new key", Mode(0600)).ok());
  EXPECT_TRUE(S_ISREG(LstatOf(root_ + "/cert.pem").st_mode));
  EXPECT_EQ(LstatOf(root_ + "/cert.pem").st_mode & 07777, 0640u);
  EXPECT_EQ(*ReadFile(root_ + "/key.pem"), "new key");
  ExpectElsewhereUntouched();
  EXPECT_EQ(ListDir(root_), (std::set<std::string>{"cert.pem", "elsewhere", "key.pem"}));
}

TEST_F(DirFdTest, ReadEntryAtTellsFilesSymlinksAndOthersApartWithoutFollowing) {
  Result<Dir> root = OpenDirectory(root_);
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(symlink("elsewhere/victim", (root_ + "/link").c_str()), 0);
  ASSERT_EQ(mkfifo((root_ + "/fifo").c_str(), 0600), 0);
  Result<Entry> link = ReadEntryAt(*root, "link");
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->type, Entry::Type::kSymlink);
  EXPECT_EQ(link->content, "elsewhere/victim");
  EXPECT_FALSE(ReadFileAt(*root, "link").ok());  // never read through the link
  Result<Entry> fifo = ReadEntryAt(*root, "fifo");  // does not block
  ASSERT_TRUE(fifo.ok());
  EXPECT_EQ(fifo->type, Entry::Type::kOther);
  Result<Entry> absent = ReadEntryAt(*root, "absent");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->type, Entry::Type::kAbsent);
  Result<Dir> dir = OpenDirectory(elsewhere_);
  ASSERT_TRUE(dir.ok());
  struct stat st;
  Result<std::string> victim = ReadFileAt(*dir, "victim", &st);
  ASSERT_TRUE(victim.ok());
  EXPECT_EQ(*victim, "victim");
  EXPECT_EQ(st.st_size, 6);
}

TEST_F(DirFdTest, UnlinkAtRemovesTheLinkNotItsTarget) {
  Result<Dir> root = OpenDirectory(root_);
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(symlink((elsewhere_ + "/victim").c_str(), (root_ + "/link").c_str()), 0);
  ASSERT_TRUE(UnlinkAt(*root, "link").ok());
  EXPECT_TRUE(UnlinkAt(*root, "link").ok());  // already gone
  ASSERT_TRUE(SymlinkAt(*root, "elsewhere", "dirlink").ok());
  EXPECT_FALSE(RemoveDirAt(*root, "dirlink").ok());
  ExpectElsewhereUntouched();
}

TEST_F(DirFdTest, IsBeneathFollowsParentsOnDescriptors) {
  ASSERT_TRUE(MakeDirs(root_ + "/www/a/b").ok());
  Result<Dir> www = OpenDirectory(root_ + "/www");
  Result<Dir> deep = OpenDirectory(root_ + "/www/a/b");
  Result<Dir> other = OpenDirectory(elsewhere_);
  ASSERT_TRUE(www.ok() && deep.ok() && other.ok());
  EXPECT_TRUE(*IsBeneath(*deep, *www));
  EXPECT_TRUE(*IsBeneath(*www, *www));
  EXPECT_FALSE(*IsBeneath(*other, *www));
  EXPECT_FALSE(*IsBeneath(*www, *deep));
}

}  // namespace
}  // namespace certkeeper::fs
