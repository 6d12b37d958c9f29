#include "hooks/remote_shell.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "base/fs.h"
#include "base/process.h"
#include "hooks/ssh_target.h"
#include "tests/unit/hooks/hooks_test_util.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

using testing::RunSh;

class ShellQuoteTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ShellQuoteTest, ShellSeesExactlyOneInertWord) {
  fs::TempDir tmp;
  std::string marker = fs::JoinPath(tmp.path(), "pwned");
  std::string text = GetParam();
  size_t at = text.find("MARKER");
  if (at != std::string::npos) text.replace(at, 6, marker);
  ProcessResult r = RunSh("printf '%s|' " + ShellQuote(text));
  EXPECT_TRUE(r.success()) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, text + "|");
  EXPECT_FALSE(fs::Exists(marker));
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, ShellQuoteTest,
    ::testing::Values("plain", "", "two words", "it's", "''", "'\\''", "a;touch MARKER",
                      "$(touch MARKER)", "`touch MARKER`", "\"$HOME\"", "x' ; touch MARKER; '",
                      "\\", "*", "-n", "!"));

TEST(RemoteShellTest, ControlCharacters) {
  EXPECT_TRUE(HasControlCharacter("a\nb"));
  EXPECT_TRUE(HasControlCharacter(std::string("a\0b", 3)));
  EXPECT_TRUE(HasControlCharacter("\x1b[2J"));
  EXPECT_FALSE(HasControlCharacter("/etc/ssl/it's here"));
}

TEST(SshArgvTest, StrictOptionsAndHostAfterDoubleDash) {
  SshConfig ssh;
  ssh.host = "edge.example.com";
  ssh.port = 2222;
  ssh.user = "deploy";
  ssh.identity_file = "/k/id";
  ssh.known_hosts = "/k/known";
  std::vector<std::string> argv = SshArgv(ssh, "true");
  auto has_pair = [&](const std::string& a, const std::string& b) {
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == a && argv[i + 1] == b) return true;
    }
    return false;
  };
  EXPECT_EQ(argv.front(), "ssh");
  EXPECT_TRUE(has_pair("-o", "BatchMode=yes"));
  EXPECT_TRUE(has_pair("-o", "StrictHostKeyChecking=yes"));
  EXPECT_TRUE(has_pair("-o", "UserKnownHostsFile=/k/known"));
  EXPECT_TRUE(has_pair("-o", "ConnectTimeout=10"));
  EXPECT_TRUE(has_pair("-i", "/k/id"));
  EXPECT_TRUE(has_pair("-p", "2222"));
  EXPECT_TRUE(has_pair("-l", "deploy"));
  ASSERT_GE(argv.size(), 3u);
  EXPECT_EQ(argv[argv.size() - 3], "--");
  EXPECT_EQ(argv[argv.size() - 2], "edge.example.com");
  EXPECT_EQ(argv.back(), "true");
}

// The remote scripts, run against a local directory with the same shell.
class SshScriptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = fs::JoinPath(tmp_.path(), "remote dir 'quoted'");
    ASSERT_TRUE(fs::MakeDirs(dir_).ok());
  }
  std::string Path(const std::string& name) { return fs::JoinPath(dir_, name); }
  void Upload(const std::string& name, const std::string& content, mode_t mode) {
    ProcessResult r = RunSh(SshUploadScript(dir_, stage_, name, mode), content);
    ASSERT_TRUE(r.success()) << r.stderr_data;
  }

  fs::TempDir tmp_;
  std::string dir_;
  std::string stage_ = SshStageName();
  // Names a shell would misread if they were not quoted.
  std::vector<std::string> names_ = {"-fullchain $(id).pem", "it's key.pem"};
};

TEST_F(SshScriptsTest, InstallReplacesAndRollbackRestores) {
  ASSERT_TRUE(fs::WriteFileAtomic(Path(names_[0]), "old chain", testing::WithMode(0644)).ok());
  Upload(names_[0], "new chain", 0644);
  Upload(names_[1], "new key", 0600);
  // Uploads do not touch the live files.
  EXPECT_EQ(*fs::ReadFile(Path(names_[0])), "old chain");
  EXPECT_FALSE(fs::Exists(Path(names_[1])));

  ProcessResult r = RunSh(SshInstallScript(dir_, stage_, names_));
  ASSERT_TRUE(r.success()) << r.stderr_data;
  EXPECT_EQ(*fs::ReadFile(Path(names_[0])), "new chain");
  EXPECT_EQ(*fs::ReadFile(Path(names_[1])), "new key");
  struct stat st;
  ASSERT_EQ(stat(Path(names_[1]).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*fs::ReadFile(Path(".certkeeper-prev/" + names_[0])), "old chain");
  EXPECT_FALSE(fs::Exists(Path(stage_)));  // the staging directory is gone

  r = RunSh(SshRollbackScript(dir_, stage_, names_));
  ASSERT_TRUE(r.success()) << r.stderr_data;
  EXPECT_EQ(*fs::ReadFile(Path(names_[0])), "old chain");
  EXPECT_FALSE(fs::Exists(Path(names_[1])));
}

TEST_F(SshScriptsTest, CleanupRemovesOnlyUploads) {
  ASSERT_TRUE(fs::WriteFileAtomic(Path(names_[0]), "live").ok());
  Upload(names_[0], "new", 0644);
  ProcessResult r = RunSh(SshCleanupScript(dir_, stage_));
  ASSERT_TRUE(r.success()) << r.stderr_data;
  EXPECT_EQ(*fs::ReadFile(Path(names_[0])), "live");
  EXPECT_FALSE(fs::Exists(Path(stage_)));
}

TEST_F(SshScriptsTest, InstallStopsWhenTheDirectoryIsMissing) {
  ProcessResult r = RunSh(SshInstallScript(fs::JoinPath(tmp_.path(), "absent"), stage_, names_));
  EXPECT_FALSE(r.success());
}

}  // namespace
}  // namespace certkeeper::hooks
