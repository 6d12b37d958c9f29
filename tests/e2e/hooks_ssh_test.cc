// An ssh target against a real sshd on 127.0.0.1: files pushed into the remote
// directory, a remote reload run, and a later failure rolled back remotely.
#include <gtest/gtest.h>

#include <memory>

#include "base/fs.h"
#include "hooks/deployer.h"
#include "tests/support/testenv.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

using TestEnv = ::certkeeper::testing::TestEnv;

class HooksSshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::certkeeper::testing::TestEnvOptions options;
    options.sshd = true;
    env_ = TestEnv::Start(options);
    ASSERT_NE(env_, nullptr);
    remote_dir_ = env_->Get("SSHD_REMOTE_DIR");
    marker_ = fs::JoinPath(remote_dir_, "reloaded by certkeeper");
    config_.name = "edge";
    config_.type = TargetType::kSsh;
    config_.ssh.host = "127.0.0.1";
    config_.ssh.port = std::stoi(env_->Get("SSHD_PORT"));
    config_.ssh.user = env_->Get("SSHD_USER");
    config_.ssh.identity_file = env_->Get("SSHD_IDENTITY");
    config_.ssh.known_hosts = env_->Get("SSHD_KNOWN_HOSTS");
    config_.ssh.remote_directory = remote_dir_;
    config_.ssh.remote_reload = {"touch", marker_};
    config_.timeout = std::chrono::milliseconds(30000);
    options_.trust_pem = pki_.root.cert_pem;
  }

  std::string Remote(const std::string& name) {
    auto content = fs::ReadFile(fs::JoinPath(remote_dir_, name));
    return content.ok() ? *content : "<" + content.status().ToString() + ">";
  }

  std::unique_ptr<TestEnv> env_;
  std::string remote_dir_, marker_;
  TargetConfig config_;
  DeployOptions options_;
  testing::TestPki pki_ = testing::TestPki::Create(std::chrono::system_clock::now());
};

TEST_F(HooksSshTest, PushesFilesAndRunsTheRemoteReload) {
  Material m = pki_.MakeMaterial("web", {"example.com"}, std::chrono::system_clock::now(), 1);
  DeployReport report = RunDeploy(std::vector<TargetConfig>{config_}, m, options_);
  ASSERT_TRUE(report.ok()) << report.error.ToUserString();
  EXPECT_EQ(Remote("cert.pem"), m.cert_pem);
  EXPECT_EQ(Remote("chain.pem"), m.chain_pem);
  EXPECT_EQ(Remote("fullchain.pem"), m.fullchain_pem);
  EXPECT_EQ(Remote("privkey.pem"), m.key_pem);
  EXPECT_TRUE(fs::Exists(marker_));
  EXPECT_FALSE(fs::Exists(fs::JoinPath(remote_dir_, ".privkey.pem.certkeeper-new")));
}

TEST_F(HooksSshTest, LaterFailureRestoresTheRemoteFiles) {
  Material first = pki_.MakeMaterial("web", {"example.com"}, std::chrono::system_clock::now(), 1);
  ASSERT_TRUE(RunDeploy(std::vector<TargetConfig>{config_}, first, options_).ok());

  TargetConfig failing;
  failing.name = "broken";
  failing.type = TargetType::kCommand;
  failing.command = {"/bin/false"};
  Material second = pki_.MakeMaterial("web", {"example.com"}, std::chrono::system_clock::now(), 2);
  DeployReport report =
      RunDeploy(std::vector<TargetConfig>{config_, failing}, second, options_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.rolled_back, (std::vector<std::string>{"broken", "edge"}));
  EXPECT_EQ(Remote("fullchain.pem"), first.fullchain_pem);
  EXPECT_EQ(Remote("privkey.pem"), first.key_pem);
}

TEST_F(HooksSshTest, UnknownHostKeyIsRefused) {
  fs::TempDir tmp;
  std::string empty_known_hosts = fs::JoinPath(tmp.path(), "known_hosts");
  ASSERT_TRUE(fs::WriteFileAtomic(empty_known_hosts, "").ok());
  config_.ssh.known_hosts = empty_known_hosts;
  Material m = pki_.MakeMaterial("web", {"example.com"}, std::chrono::system_clock::now(), 1);
  DeployReport report = RunDeploy(std::vector<TargetConfig>{config_}, m, options_);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error.hint().find("host key"), std::string::npos) << report.error.hint();
  // Nothing live was touched, so there was nothing to restore.
  EXPECT_TRUE(report.rollback_error.ok()) << report.rollback_error.ToString();
  EXPECT_FALSE(fs::Exists(fs::JoinPath(remote_dir_, "privkey.pem")));
}

}  // namespace
}  // namespace certkeeper::hooks
