// A files target in front of a real nginx: the new certificate is installed,
// nginx reloaded and the served certificate checked; a reload that does not take
// effect is caught by the check and the previous files come back.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include "base/fs.h"
#include "hooks/deployer.h"
#include "hooks/tls_verify.h"
#include "tests/support/testenv.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

using std::chrono::milliseconds;
using TestEnv = ::certkeeper::testing::TestEnv;

std::vector<std::string> SplitOnSpaces(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

class HooksNginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::certkeeper::testing::TestEnvOptions options;
    options.nginx = true;
    env_ = TestEnv::Start(options);
    ASSERT_NE(env_, nullptr);
    cert_path_ = env_->Get("NGINX_CERT");
    key_path_ = env_->Get("NGINX_KEY");
    endpoint_ = "127.0.0.1:" + env_->Get("NGINX_PORT");
    ASSERT_EQ(fs::DirName(cert_path_), fs::DirName(key_path_));
    config_.name = "nginx";
    config_.type = TargetType::kFiles;
    config_.directory = fs::DirName(cert_path_);
    config_.files = {{MaterialKind::kFullchain, BaseName(cert_path_)},
                     {MaterialKind::kKey, BaseName(key_path_)}};
    config_.mode = 0600;
    config_.reload = SplitOnSpaces(env_->Get("NGINX_RELOAD"));
    config_.verify = {endpoint_};
    config_.verify_timeout = milliseconds(10000);
    options_.trust_pem = pki_.root.cert_pem;
  }

  std::string Served(const std::string& sni) {
    auto endpoint = ParseEndpoint(endpoint_);
    EXPECT_TRUE(endpoint.ok());
    auto fp = FetchServedFingerprint(*endpoint, sni, milliseconds(5000));
    EXPECT_TRUE(fp.ok()) << fp.status().ToString();
    return fp.ok() ? *fp : std::string();
  }

  // After a reload, nginx's old workers may still answer a connection or two:
  // wait (bounded) until every fresh connection gets `fingerprint`.
  bool ServesEventually(const std::string& sni, const std::string& fingerprint) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int consecutive = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      consecutive = Served(sni) == fingerprint ? consecutive + 1 : 0;
      if (consecutive >= 3) return true;
    }
    return false;
  }

  std::unique_ptr<TestEnv> env_;
  std::string cert_path_, key_path_, endpoint_;
  TargetConfig config_;
  DeployOptions options_;
  testing::TestPki pki_ = testing::TestPki::Create(std::chrono::system_clock::now());
};

TEST_F(HooksNginxTest, InstallReloadAndVerifyTheNewCertificate) {
  Material first = pki_.MakeMaterial("web", {"example.com", "www.example.com"},
                                     std::chrono::system_clock::now(), 1);
  DeployReport report = RunDeploy(std::vector<TargetConfig>{config_}, first, options_);
  ASSERT_TRUE(report.ok()) << report.error.ToUserString();
  EXPECT_EQ(report.deployed, std::vector<std::string>{"nginx"});
  EXPECT_EQ(*fs::ReadFile(cert_path_), first.fullchain_pem);
  EXPECT_TRUE(ServesEventually("www.example.com", first.fingerprint_sha256));
  bool verified = false;
  for (const StepRecord& step : report.steps) verified |= step.kind == "verify" && step.ok;
  EXPECT_TRUE(verified);
}

TEST_F(HooksNginxTest, ReloadWithoutEffectIsCaughtAndRolledBack) {
  Material first = pki_.MakeMaterial("web", {"example.com"}, std::chrono::system_clock::now(), 1);
  ASSERT_TRUE(RunDeploy(std::vector<TargetConfig>{config_}, first, options_).ok());
  ASSERT_TRUE(ServesEventually("example.com", first.fingerprint_sha256));

  // The reload "succeeds" but nginx keeps serving what it loaded before.
  config_.reload = {"/bin/true"};
  config_.verify_timeout = milliseconds(2000);
  Material second = pki_.MakeMaterial("web", {"example.com"}, std::chrono::system_clock::now(), 2);
  auto start = std::chrono::steady_clock::now();
  DeployReport report = RunDeploy(std::vector<TargetConfig>{config_}, second, options_);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error.code(), ErrorCode::kFailedPrecondition) << report.error.ToString();
  EXPECT_NE(report.error.message().find(first.fingerprint_sha256), std::string::npos);
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  EXPECT_EQ(report.rolled_back, std::vector<std::string>{"nginx"});
  EXPECT_EQ(*fs::ReadFile(cert_path_), first.fullchain_pem);
  EXPECT_EQ(*fs::ReadFile(key_path_), first.key_pem);
  EXPECT_EQ(Served("example.com"), first.fingerprint_sha256);
}

}  // namespace
}  // namespace certkeeper::hooks
