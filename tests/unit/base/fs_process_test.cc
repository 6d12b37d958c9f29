#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/process.h"

namespace certkeeper {
namespace {

TEST(WriteFileAtomic, WritesWithModeAndLeavesNoTemp) {
  fs::TempDir dir;
  std::string path = dir.path() + "/key.pem";
  ASSERT_TRUE(fs::WritePrivateFile(path, "secret").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*fs::ReadFile(path), "secret");
  ASSERT_TRUE(fs::WriteFileAtomic(path, "second").ok());
  EXPECT_EQ(*fs::ReadFile(path), "second");
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(WriteNewFiles, WritesEachWithItsMode) {
  fs::TempDir dir;
  std::vector<fs::NewFile> files = {{"privkey.pem", "key", 0600}, {"cert.pem", "cert", 0644}};
  ASSERT_TRUE(fs::WriteNewFiles(dir.path(), files).ok());
  struct stat st;
  ASSERT_EQ(stat((dir.path() + "/privkey.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir.path() + "/cert.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(*fs::ReadFile(dir.path() + "/privkey.pem"), "key");
  EXPECT_EQ(*fs::ReadFile(dir.path() + "/cert.pem"), "cert");
}

TEST(WriteNewFiles, AFileThatExistsFailsAndLeavesNothingOfTheCall) {
  fs::TempDir dir;
  ASSERT_TRUE(fs::WriteNewFile(dir.path() + "/chain.pem", "older", 0644).ok());
  std::vector<fs::NewFile> files = {{"privkey.pem", "key", 0600}, {"chain.pem", "new", 0644}};
  Status s = fs::WriteNewFiles(dir.path(), files);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("chain.pem"), std::string::npos) << s.ToString();
  EXPECT_FALSE(fs::Exists(dir.path() + "/privkey.pem"));
  EXPECT_EQ(*fs::ReadFile(dir.path() + "/chain.pem"), "older");  // not ours: kept
}

TEST(WriteFileAtomic, MissingDirectoryIsAClearError) {
  fs::TempDir dir;
  Status s = fs::WriteFileAtomic(dir.path() + "/missing/file", "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("missing"), std::string::npos);
}

TEST(CheckPrivateFileMode, RefusesGroupReadable) {
  fs::TempDir dir;
  std::string path = dir.path() + "/account.key";
  ASSERT_TRUE(fs::WritePrivateFile(path, "k").ok());
  EXPECT_TRUE(fs::CheckPrivateFileMode(path).ok());
  chmod(path.c_str(), 0640);
  Status s = fs::CheckPrivateFileMode(path);
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(s.hint().find("chmod 600"), std::string::npos);
}

TEST(MakeDirs, CreatesNested) {
  fs::TempDir dir;
  ASSERT_TRUE(fs::MakeDirs(dir.path() + "/a/b/c", 0700).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() + "/a/b/c"));
}

TEST(RunProcess, CapturesOutputAndExitCode) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->stdout_data, "out\n");
  EXPECT_EQ(r->stderr_data, "err\n");
  EXPECT_FALSE(r->success());
}

TEST(RunProcess, ArgumentsAreNotInterpretedByAShell) {
  fs::TempDir dir;
  std::string marker = dir.path() + "/pwned";
  ProcessSpec spec;
  spec.argv = {"/bin/echo", "$(touch " + marker + ")", ";touch " + marker};
  spec.env = {{"HOSTILE", "`touch " + marker + "`"}};
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_data, "$(touch " + marker + ") ;touch " + marker + "\n");
  EXPECT_FALSE(fs::Exists(marker));
}

TEST(RunProcess, PassesEnvironmentAndStdin) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "printf '%s:' \"$CK_TEST\"; cat"};
  spec.env = {{"CK_TEST", "value with spaces"}};
  spec.stdin_data = "from stdin";
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_data, "value with spaces:from stdin");
}

TEST(RunProcess, TimeoutKillsTheProcessGroup) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "sleep 30 & sleep 30; wait"};
  spec.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  auto checked = RunProcessChecked(spec);
  EXPECT_EQ(checked.status().code(), ErrorCode::kDeadlineExceeded);
}

TEST(RunProcess, MissingProgramIsAnError) {
  ProcessSpec spec;
  spec.argv = {"/nonexistent/program"};
  auto r = RunProcess(spec);
  EXPECT_FALSE(r.ok());
  spec.argv = {"certkeeper-no-such-program"};
  EXPECT_EQ(RunProcess(spec).status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace certkeeper
