#include "hooks/deployer.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

using testing::TestPki;

// Records Deploy/Rollback calls into a shared journal; fails on request.
class FakeTarget : public DeployTarget {
 public:
  FakeTarget(std::string name, std::vector<std::string>* journal, bool fail_deploy = false,
             bool fail_rollback = false)
      : name_(std::move(name)),
        journal_(journal),
        fail_deploy_(fail_deploy),
        fail_rollback_(fail_rollback) {}
  const std::string& name() const override { return name_; }
  Status Deploy(const Material& material, DeployContext& context) override {
    journal_->push_back("deploy " + name_ + " " + material.Label());
    Status s = fail_deploy_ ? Status(ErrorCode::kIo, "disk full") : Status::Ok();
    return RecordStep(context, name_, "install", "fake install", s);
  }
  Status Rollback(DeployContext& context) override {
    journal_->push_back("rollback " + name_);
    Status s = fail_rollback_ ? Status(ErrorCode::kIo, "gone") : Status::Ok();
    return RecordStep(context, name_, "rollback", "fake rollback", s);
  }

 private:
  std::string name_;
  std::vector<std::string>* journal_;
  bool fail_deploy_, fail_rollback_;
};

class DeployerTest : public ::testing::Test {
 protected:
  PlannedTarget Fake(const std::string& name, bool fail_deploy = false,
                     bool fail_rollback = false, std::vector<Endpoint> verify = {}) {
    PlannedTarget p;
    p.target = std::make_unique<FakeTarget>(name, &journal_, fail_deploy, fail_rollback);
    p.verify = std::move(verify);
    return p;
  }
  DeployOptions Options() {
    DeployOptions o;
    o.clock = &clock_;
    o.trust_pem = pki_.root.cert_pem;
    o.verify = [this](const std::vector<Endpoint>& endpoints, const std::vector<std::string>&,
                      std::string_view fp, const VerifyOptions&, Clock&) {
      journal_.push_back("verify " + endpoints.front().ToString());
      EXPECT_EQ(fp, material_.fingerprint_sha256);
      return verify_ok_ ? Status::Ok()
                        : Status(ErrorCode::kFailedPrecondition, "serves another certificate");
    };
    return o;
  }

  TimePoint now_ = std::chrono::system_clock::now();
  FakeClock clock_{now_};
  TestPki pki_ = TestPki::Create(now_);
  Material material_ = pki_.MakeMaterial("web", {"example.com"}, now_, 4);
  std::vector<std::string> journal_;
  bool verify_ok_ = true;
};

TEST_F(DeployerTest, DeploysEveryTargetInOrder) {
  std::vector<PlannedTarget> targets;
  targets.push_back(Fake("a", false, false, {Endpoint{"127.0.0.1", 443}}));
  targets.push_back(Fake("b"));
  DeployReport report = RunDeploy(targets, material_, Options());
  ASSERT_TRUE(report.ok()) << report.error.ToString();
  EXPECT_EQ(journal_, (std::vector<std::string>{"deploy a web v4", "verify 127.0.0.1:443",
                                                "deploy b web v4"}));
  EXPECT_EQ(report.deployed, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(report.steps.size(), 4u);  // check, install a, verify a, install b
  EXPECT_EQ(report.steps[0].kind, "check");
  EXPECT_EQ(report.steps[2].kind, "verify");
}

TEST_F(DeployerTest, FailedInstallRollsBackEveryTargetTouchedInReverse) {
  std::vector<PlannedTarget> targets;
  targets.push_back(Fake("a"));
  targets.push_back(Fake("b"));
  targets.push_back(Fake("c", /*fail_deploy=*/true));
  targets.push_back(Fake("d"));
  DeployReport report = RunDeploy(targets, material_, Options());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error.code(), ErrorCode::kIo);
  EXPECT_NE(report.error.message().find("deploy web v4 to c"), std::string::npos)
      << report.error.message();
  EXPECT_EQ(journal_, (std::vector<std::string>{"deploy a web v4", "deploy b web v4",
                                                "deploy c web v4", "rollback c",
                                                "rollback b", "rollback a"}));
  EXPECT_TRUE(report.deployed.empty());
  EXPECT_EQ(report.rolled_back, (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_TRUE(report.rollback_error.ok());
}

TEST_F(DeployerTest, FailedVerificationRollsBack) {
  verify_ok_ = false;
  std::vector<PlannedTarget> targets;
  targets.push_back(Fake("a", false, false, {Endpoint{"127.0.0.1", 8443}}));
  DeployReport report = RunDeploy(targets, material_, Options());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(journal_, (std::vector<std::string>{"deploy a web v4", "verify 127.0.0.1:8443",
                                                "rollback a"}));
  EXPECT_NE(report.error.message().find("serves another certificate"), std::string::npos);
}

TEST_F(DeployerTest, FailedRollbackIsReportedWithAHint) {
  std::vector<PlannedTarget> targets;
  targets.push_back(Fake("a", false, /*fail_rollback=*/true));
  targets.push_back(Fake("b", /*fail_deploy=*/true));
  DeployReport report = RunDeploy(targets, material_, Options());
  ASSERT_FALSE(report.ok());
  EXPECT_FALSE(report.rollback_error.ok());
  EXPECT_NE(report.rollback_error.message().find("roll back a"), std::string::npos);
  EXPECT_NE(report.error.hint().find("rollback failed"), std::string::npos);
  EXPECT_EQ(report.rolled_back, (std::vector<std::string>{"b"}));
}

TEST_F(DeployerTest, BadMaterialStopsBeforeAnyTarget) {
  Material bad = material_;
  bad.key_pem = pki_.MakeMaterial("web", {"example.com"}, now_).key_pem;
  std::vector<PlannedTarget> targets;
  targets.push_back(Fake("a"));
  DeployReport report = RunDeploy(targets, bad, Options());
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(journal_.empty());
  ASSERT_EQ(report.steps.size(), 1u);
  EXPECT_EQ(report.steps[0].kind, "check");
  EXPECT_FALSE(report.steps[0].ok);
}

TEST_F(DeployerTest, InvalidConfigIsReportedAsAStep) {
  TargetConfig config;
  config.name = "broken";
  config.type = TargetType::kFiles;
  config.directory = "relative";
  DeployReport report = RunDeploy(std::vector<TargetConfig>{config}, material_, Options());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error.code(), ErrorCode::kInvalidArgument);
  ASSERT_EQ(report.steps.size(), 1u);
  EXPECT_NE(report.steps[0].error.find("directory"), std::string::npos);
}

}  // namespace
}  // namespace certkeeper::hooks
