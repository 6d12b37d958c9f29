// Token files a run killed between Present and CleanUp left in the webroot.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "challenges/http01_webroot.h"
#include "tests/unit/challenges/task_fixture.h"

namespace certkeeper::challenges {
namespace {

namespace stdfs = std::filesystem;

using task_fixture::kNobody;
using task_fixture::kThumbprint;
// Token-shaped names (43 base64url characters, like a CA's).
constexpr char kOldToken[] = "OldTokenOfAKilledRun_0123456789abcdefghijkl";
constexpr char kFreshToken[] = "FreshTokenOfAnotherRun-0123456789abcdefghij";
constexpr char kNewToken[] = "NewTokenPresentedNow_0123456789abcdefghijkl";

std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : stdfs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

class Http01WebrootStaleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    webroot_ = fs::JoinPath(tmp_.path(), "www");
    challenge_ = webroot_ + "/.well-known/acme-challenge";
    ASSERT_TRUE(stdfs::create_directories(challenge_));
    solver_ = std::move(*Http01WebrootSolver::Create(webroot_));
  }

  // A file in acme-challenge/ as Present writes it, made `age` seconds old.
  void PlantToken(const std::string& name, std::string content, time_t age) {
    std::string path = fs::JoinPath(challenge_, name);
    ASSERT_TRUE(fs::WriteNewFile(path, content, 0644).ok()) << path;
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = time(nullptr) - age;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  }
  static std::string KeyAuth(const std::string& token) { return token + "." + kThumbprint; }

  Status PresentNew() {
    ChallengeTask task;
    task.identifier = "example.com";
    task.token = kNewToken;
    task.key_authorization = KeyAuth(kNewToken);
    return solver_->Present({task});
  }

  fs::TempDir tmp_;
  std::string webroot_;
  std::string challenge_;
  std::unique_ptr<Http01WebrootSolver> solver_;
};

TEST_F(Http01WebrootStaleTest, PresentRemovesOldTokenFilesOfOurs) {
  PlantToken(kOldToken, KeyAuth(kOldToken), 2 * 3600);
  // A write cut short between the temporary file and the rename.
  PlantToken(std::string(".") + kOldToken + ".tmp-abcdefghij", "OldTok", 2 * 3600);
  Status s = PresentNew();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ListDir(challenge_), (std::set<std::string>{kNewToken}));
}

TEST_F(Http01WebrootStaleTest, LeavesFreshForeignAndUnrelatedFilesAlone) {
  // Young: may belong to a validation of another run still in progress.
  PlantToken(kFreshToken, KeyAuth(kFreshToken), 60);
  // Not a key authorization of its name, or not a token name.
  PlantToken("SomeoneElsesFileWithALongBase64urlName_xyz", "hello\n", 2 * 3600);
  PlantToken("short", "short." + std::string(kThumbprint), 2 * 3600);
  PlantToken("index.html", "<html></html>\n", 2 * 3600);
  std::set<std::string> expected = {kNewToken, kFreshToken,
                                    "SomeoneElsesFileWithALongBase64urlName_xyz", "short",
                                    "index.html"};
  // A directory with a token name, and a symlink to an old token file.
  std::string dir_token = "DirectoryWithATokenName_0123456789abcdefghi";
  ASSERT_TRUE(stdfs::create_directory(fs::JoinPath(challenge_, dir_token)));
  expected.insert(dir_token);
  std::string outside = fs::JoinPath(tmp_.path(), "outside-token");
  ASSERT_TRUE(fs::WriteNewFile(outside, KeyAuth("x"), 0644).ok());
  std::string link_token = "SymlinkWithATokenName_0123456789abcdefghijk";
  ASSERT_EQ(symlink(outside.c_str(), fs::JoinPath(challenge_, link_token).c_str()), 0);
  expected.insert(link_token);
  if (geteuid() == 0) {
    // Old and ours in every other way, but another user's file.
    std::string foreign = "ForeignOwnerTokenFile_0123456789abcdefghijk";
    PlantToken(foreign, KeyAuth(foreign), 2 * 3600);
    ASSERT_EQ(chown(fs::JoinPath(challenge_, foreign).c_str(), kNobody, kNobody), 0);
    expected.insert(foreign);
  }
  Status s = PresentNew();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ListDir(challenge_), expected);
  EXPECT_TRUE(fs::Exists(outside));
}

}  // namespace
}  // namespace certkeeper::challenges
