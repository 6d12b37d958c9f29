// Temporary files left in a deploy directory by a process killed between
// creating the temporary name of an atomic write and its rename.
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

using testing::TestPki;
using test_fs::ListDir;

void Plant(const std::string& path, mode_t mode = 0600) {
  ASSERT_TRUE(fs::WriteNewFile(path, "stale\n", mode).ok()) << path;
}

class FilesTargetLeftoversTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = fs::JoinPath(tmp_.path(), "certs");
    prev_ = fs::JoinPath(dir_, kPreviousDirName);
    ASSERT_TRUE(fs::MakeDirs(prev_, 0700).ok());
    config_ = testing::LocalFilesTarget(dir_);
  }
  std::string Path(const std::string& name) const { return fs::JoinPath(dir_, name); }
  std::string Prev(const std::string& name) const { return fs::JoinPath(prev_, name); }

  fs::TempDir tmp_;
  std::string dir_;
  std::string prev_;
  TargetConfig config_;
  TestPki pki_ = TestPki::Create(std::chrono::system_clock::now());
  Material material_ = pki_.MakeMaterial("web", {"example.com"});
  DeployContext context_;
};

TEST_F(FilesTargetLeftoversTest, DeployRemovesStaleTempFilesOfItsNames) {
  // Both spellings: "<name>.tmp-X" (path writers) and ".<name>.tmp-X" (fd writers).
  Plant(Path("fullchain.pem.tmp-abcdefghij"), 0644);
  Plant(Path(".privkey.pem.tmp-0123456789"));
  Plant(Path("privkey.pem.tmp-zz99yy88xx"));
  ASSERT_EQ(symlink("/etc/shadow", Path(".fullchain.pem.tmp-symlink000").c_str()), 0);
  Plant(Prev("fullchain.pem.tmp-abcdefghij"));
  Plant(Prev(".privkey.pem.tmp-qwertyuiop"));

  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ListDir(dir_),
            (std::set<std::string>{"fullchain.pem", "privkey.pem", kPreviousDirName}));
  EXPECT_TRUE(ListDir(prev_).empty()) << *ListDir(prev_).begin();
  // The symlink itself went, not its target.
  struct stat st;
  EXPECT_EQ(stat("/etc/shadow", &st), 0);
}

TEST_F(FilesTargetLeftoversTest, LeavesEverythingElseAlone) {
  Plant(Path("notes.txt"), 0644);
  Plant(Path("other.pem.tmp-abcdefghij"), 0644);   // not a name we install
  Plant(Path("fullchain.pem.tmp-x"), 0644);        // not our suffix
  Plant(Path("fullchain.pem.tmp-ABCDEFGHIJ"), 0644);
  Plant(Path("fullchain.pem.tmp-abcdefghijk"), 0644);
  Plant(Path("fullchain.pem.bak"), 0644);
  ASSERT_EQ(mkdir(Path("privkey.pem.tmp-abcdefghij").c_str(), 0700), 0);
  Plant(fs::JoinPath(Path("privkey.pem.tmp-abcdefghij"), "inside"));
  ASSERT_EQ(mkdir(Prev("fullchain.pem.tmp-abcdefghij").c_str(), 0700), 0);
  Plant(Prev("notes.txt"));

  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ListDir(dir_),
            (std::set<std::string>{"fullchain.pem", "privkey.pem", kPreviousDirName, "notes.txt",
                                   "other.pem.tmp-abcdefghij", "fullchain.pem.tmp-x",
                                   "fullchain.pem.tmp-ABCDEFGHIJ",
                                   "fullchain.pem.tmp-abcdefghijk", "fullchain.pem.bak",
                                   "privkey.pem.tmp-abcdefghij"}));
  EXPECT_TRUE(fs::Exists(fs::JoinPath(Path("privkey.pem.tmp-abcdefghij"), "inside")));
  EXPECT_EQ(ListDir(prev_),
            (std::set<std::string>{"fullchain.pem.tmp-abcdefghij", "notes.txt"}));
}

TEST_F(FilesTargetLeftoversTest, LeavesAnotherUsersFileWithOurName) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string foreign = Path("privkey.pem.tmp-abcdefghij");
  Plant(foreign);
  ASSERT_EQ(chown(foreign.c_str(), 65534, 65534), 0);
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(fs::Exists(foreign));
}

TEST_F(FilesTargetLeftoversTest, RemovesStaleTempOwnedByTheTargetOwner) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  // WriteFileAt fchowns the temporary file to the target's owner before the
  // rename, so a leftover of ours can belong to that user.
  uid_t uid = 0;
  for (const char* name : {"nobody", "daemon", "_apt"}) {
    Result<uid_t> found = ResolveUser(name);
    if (found.ok() && *found != 0) {
      config_.owner = name;
      uid = *found;
      break;
    }
  }
  if (uid == 0) GTEST_SKIP() << "no unprivileged user to own the files";
  std::string stale = Path(".privkey.pem.tmp-abcdefghij");
  Plant(stale);
  ASSERT_EQ(chown(stale.c_str(), uid, static_cast<gid_t>(-1)), 0);
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(fs::Exists(stale));
}

}  // namespace
}  // namespace certkeeper::hooks
