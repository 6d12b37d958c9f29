#include "challenges/http01_webroot.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "tests/unit/challenges/task_fixture.h"

namespace certkeeper::challenges {
namespace {

namespace stdfs = std::filesystem;

using task_fixture::kNobody;
using task_fixture::kThumbprint;
using task_fixture::Task;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Every entry below dir, relative, sorted: what a test expects to be left.
std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    out.push_back(entry.path().lexically_relative(dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Http01WebrootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    webroot_ = fs::JoinPath(tmp_.path(), "www");
    outside_ = fs::JoinPath(tmp_.path(), "outside");
    ASSERT_TRUE(stdfs::create_directory(webroot_));
    ASSERT_TRUE(stdfs::create_directory(outside_));
    solver_ = std::move(*Http01WebrootSolver::Create(webroot_));
  }
  std::string ChallengeDir() const { return webroot_ + "/.well-known/acme-challenge"; }

  fs::TempDir tmp_;
  std::string webroot_;
  std::string outside_;
  std::unique_ptr<Http01WebrootSolver> solver_;
};

TEST_F(Http01WebrootTest, WritesTokenFilesAndRemovesThemAgain) {
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokA"),
                                      Task("b.example.com", "tok_B-2")};
  ASSERT_TRUE(solver_->SelfCheck(tasks).ok());
  mode_t old_umask = umask(077);  // the modes must not depend on the umask
  Status s = solver_->Present(tasks);
  umask(old_umask);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const ChallengeTask& task : tasks) {
    std::string path = ChallengeDir() + "/" + task.token;
    EXPECT_EQ(Slurp(path), task.key_authorization);
    EXPECT_EQ(ModeOf(path), 0644u);
  }
  EXPECT_EQ(ModeOf(webroot_ + "/.well-known"), 0755u);
  EXPECT_EQ(ModeOf(ChallengeDir()), 0755u);

  ASSERT_TRUE(solver_->CleanUp({tasks[0]}).ok());
  EXPECT_EQ(Listing(webroot_), (std::vector<std::string>{
                                   ".well-known", ".well-known/acme-challenge",
                                   ".well-known/acme-challenge/tok_B-2"}));
  ASSERT_TRUE(solver_->CleanUp({tasks[1]}).ok());
  EXPECT_TRUE(Listing(webroot_).empty());
  EXPECT_TRUE(solver_->CleanUp(tasks).ok());  // idempotent
}

TEST_F(Http01WebrootTest, KeepsDirectoriesAndFilesItDidNotCreate) {
  ASSERT_TRUE(stdfs::create_directories(ChallengeDir()));
  std::ofstream(ChallengeDir() + "/someone-elses") << "x";
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokA")};
  ASSERT_TRUE(solver_->Present(tasks).ok());
  ASSERT_TRUE(solver_->CleanUp(tasks).ok());
  EXPECT_EQ(Listing(webroot_),
            (std::vector<std::string>{".well-known", ".well-known/acme-challenge",
                                      ".well-known/acme-challenge/someone-elses"}));
}

TEST_F(Http01WebrootTest, RefusesTokensThatCouldLeaveTheWebroot) {
  for (const char* token : {"../escape", "..", "a/b", "/etc/passwd", "tok.en", ""}) {
    std::vector<ChallengeTask> tasks = {Task("a.example.com", token)};
    EXPECT_FALSE(solver_->SelfCheck(tasks).ok()) << token;
    EXPECT_FALSE(solver_->Present(tasks).ok()) << token;
  }
  EXPECT_TRUE(Listing(webroot_).empty());
  EXPECT_TRUE(Listing(outside_).empty());
  EXPECT_TRUE(Listing(tmp_.path()) == (std::vector<std::string>{"outside", "www"}));
}

TEST_F(Http01WebrootTest, RefusesSymlinkedWellKnownPointingOutside) {
  stdfs::create_symlink(outside_, webroot_ + "/.well-known");
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokA")};
  Status s = solver_->Present(tasks);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("outside the webroot"), std::string::npos) << s.ToString();
  EXPECT_TRUE(Listing(outside_).empty());
  EXPECT_TRUE(solver_->CleanUp(tasks).ok());
  EXPECT_EQ(Listing(webroot_), (std::vector<std::string>{".well-known"}));
}

TEST_F(Http01WebrootTest, RefusesSymlinkedAcmeChallengePointingOutside) {
  ASSERT_TRUE(stdfs::create_directory(webroot_ + "/.well-known"));
  stdfs::create_symlink("../../outside", ChallengeDir());
  EXPECT_FALSE(solver_->Present({Task("a.example.com", "tokA")}).ok());
  EXPECT_TRUE(Listing(outside_).empty());
}

TEST_F(Http01WebrootTest, FollowsSymlinksThatStayInside) {
  ASSERT_TRUE(stdfs::create_directories(webroot_ + "/shared/challenges"));
  stdfs::create_symlink("shared", webroot_ + "/.well-known");
  stdfs::create_symlink("challenges", webroot_ + "/shared/acme-challenge");
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokA")};
  ASSERT_TRUE(solver_->Present(tasks).ok());
  EXPECT_EQ(Slurp(webroot_ + "/shared/challenges/tokA"), tasks[0].key_authorization);
  ASSERT_TRUE(solver_->CleanUp(tasks).ok());
  EXPECT_FALSE(stdfs::exists(webroot_ + "/shared/challenges/tokA"));
  EXPECT_TRUE(stdfs::is_directory(webroot_ + "/shared/challenges"));
}

// The web server's user owns the document root and plants a symlink of its own
// at .well-known: even one that points inside the webroot is refused, since it
// could point anywhere a moment later.
TEST_F(Http01WebrootTest, RefusesWellKnownSymlinkAnotherUserOwns) {
  if (geteuid() != 0) GTEST_SKIP() << "lchown to another user needs root";
  ASSERT_TRUE(stdfs::create_directories(webroot_ + "/shared/acme-challenge"));
  stdfs::create_symlink("shared", webroot_ + "/.well-known");
  ASSERT_EQ(lchown((webroot_ + "/.well-known").c_str(), kNobody, kNobody), 0);
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokA")};
  Status s = solver_->Present(tasks);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied) << s.ToString();
  EXPECT_NE(s.message().find("symlink"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.where(), webroot_ + "/.well-known");
  EXPECT_TRUE(Listing(webroot_ + "/shared/acme-challenge").empty());
  EXPECT_TRUE(solver_->CleanUp(tasks).ok());
}

// A link made by root, but in a directory everybody can write: someone else
// could have replaced it, so it is not followed either.
TEST_F(Http01WebrootTest, RefusesAcmeChallengeSymlinkInAWorldWritableDirectory) {
  ASSERT_TRUE(stdfs::create_directories(webroot_ + "/.well-known/real"));
  ASSERT_EQ(chmod((webroot_ + "/.well-known").c_str(), 0777), 0);
  stdfs::create_symlink("real", ChallengeDir());
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokA")};
  Status s = solver_->Present(tasks);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("group or others"), std::string::npos) << s.ToString();
  EXPECT_TRUE(Listing(webroot_ + "/.well-known/real").empty());
}

// acme-challenge is swapped for a symlink between Present and CleanUp: the
// removal goes through the directory Present wrote into, so the file of the
// same name behind the symlink survives.
TEST_F(Http01WebrootTest, CleanUpDoesNotFollowADirectorySwappedForASymlink) {
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokA")};
  ASSERT_TRUE(solver_->Present(tasks).ok());
  std::ofstream(outside_ + "/tokA") << "not yours";
  std::string moved = webroot_ + "/.well-known/moved";
  ASSERT_EQ(rename(ChallengeDir().c_str(), moved.c_str()), 0);
  stdfs::create_symlink(outside_, ChallengeDir());

  ASSERT_TRUE(solver_->CleanUp(tasks).ok());
  EXPECT_EQ(Slurp(outside_ + "/tokA"), "not yours");
  EXPECT_FALSE(stdfs::exists(moved + "/tokA"));
  EXPECT_TRUE(stdfs::is_symlink(ChallengeDir()));  // rmdir does not follow it either
}

// The same swap before a second Present: its token goes to the directory
// already open, not through the new symlink.
TEST_F(Http01WebrootTest, LaterPresentWritesIntoTheDirectoryAlreadyOpen) {
  ASSERT_TRUE(solver_->Present({Task("a.example.com", "tokA")}).ok());
  std::string moved = webroot_ + "/.well-known/moved";
  ASSERT_EQ(rename(ChallengeDir().c_str(), moved.c_str()), 0);
  stdfs::create_symlink(outside_, ChallengeDir());
  ASSERT_TRUE(solver_->Present({Task("b.example.com", "tokB")}).ok());
  EXPECT_TRUE(Listing(outside_).empty());
  EXPECT_TRUE(stdfs::exists(moved + "/tokB"));
}

TEST_F(Http01WebrootTest, LeavesNothingBehindWhenPresentFailsHalfWay) {
  // The second token's path is taken by a directory, so its write fails after
  // the directories and the first file were created.
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "first"),
                                      Task("b.example.com", "second")};
  ASSERT_TRUE(stdfs::create_directories(ChallengeDir() + "/second/inner"));
  Status s = solver_->Present(tasks);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(stdfs::exists(ChallengeDir() + "/first"));
  EXPECT_TRUE(solver_->CleanUp(tasks).ok());
  EXPECT_EQ(Listing(webroot_),
            (std::vector<std::string>{".well-known", ".well-known/acme-challenge",
                                      ".well-known/acme-challenge/second",
                                      ".well-known/acme-challenge/second/inner"}));
}

TEST_F(Http01WebrootTest, LeavesNoDirectoriesWhenTheFirstWriteFails) {
  std::string file_as_dir = webroot_ + "/.well-known";
  std::ofstream(file_as_dir) << "not a directory";
  EXPECT_FALSE(solver_->Present({Task("a.example.com", "tokA")}).ok());
  EXPECT_EQ(Listing(webroot_), (std::vector<std::string>{".well-known"}));
}

TEST_F(Http01WebrootTest, SelfCheckNeedsAnExistingDirectory) {
  auto missing = std::move(*Http01WebrootSolver::Create(webroot_ + "/missing"));
  Status s = missing->SelfCheck({Task("a.example.com", "tokA")});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kNotFound) << s.ToString();

  std::string file = webroot_ + "/file";
  std::ofstream(file) << "x";
  auto not_dir = std::move(*Http01WebrootSolver::Create(file));
  EXPECT_FALSE(not_dir->SelfCheck({Task("a.example.com", "tokA")}).ok());
  EXPECT_FALSE(Http01WebrootSolver::Create("").ok());
}

TEST_F(Http01WebrootTest, IpIdentifiersAreServedLikeNames) {
  std::vector<ChallengeTask> tasks = {Task("192.0.2.1", "tokV4"), Task("2001:db8::1", "tokV6")};
  ASSERT_TRUE(solver_->SelfCheck(tasks).ok());
  Status s = solver_->Present(tasks);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const ChallengeTask& task : tasks) {
    EXPECT_EQ(Slurp(ChallengeDir() + "/" + task.token), task.key_authorization);
  }
  ASSERT_TRUE(solver_->CleanUp(tasks).ok());
  EXPECT_TRUE(Listing(webroot_).empty());
  // Only the canonical form the order carries (RFC 8738 §3) is accepted.
  for (const char* bad : {"127.000.0.1", "2001:DB8::1", "2001:db8:0::1", "127.1", "fe80::1%lo"}) {
    EXPECT_FALSE(solver_->SelfCheck({Task(bad, "tok")}).ok()) << bad;
  }
}

}  // namespace
}  // namespace certkeeper::challenges
