#include "hooks/command_target.h"

#include <gtest/gtest.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>

#include "base/fs.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

using testing::TestPki;

// Parses the NUL-separated output of `env -0`.
std::map<std::string, std::string> ParseEnv(const std::string& dump) {
  std::map<std::string, std::string> env;
  size_t pos = 0;
  while (pos < dump.size()) {
    size_t end = dump.find('\0', pos);
    if (end == std::string::npos) end = dump.size();
    std::string entry = dump.substr(pos, end - pos);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
    pos = end + 1;
  }
  return env;
}

class CommandTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    env_file_ = fs::JoinPath(tmp_.path(), "env.dump");
    argv_file_ = fs::JoinPath(tmp_.path(), "argv.dump");
    // The program under test: records its environment and arguments, nothing else.
    std::string script = "#!/bin/sh\n/usr/bin/env -0 > '" + env_file_ +
                         "'\nprintf '%s\\n' \"$@\" > '" + argv_file_ + "'\n";
    program_ = fs::JoinPath(tmp_.path(), "dump-env");
    ASSERT_TRUE(fs::WriteFileAtomic(program_, script, testing::WithMode(0755)).ok());
    config_.name = "push";
    config_.type = TargetType::kCommand;
    config_.command = {program_, "--flag", "two words"};
    material_.files_dir = "/var/lib/certkeeper/archive/web/3";
  }

  fs::TempDir tmp_;
  std::string env_file_, argv_file_, program_;
  TargetConfig config_;
  TestPki pki_ = TestPki::Create(std::chrono::system_clock::now());
  Material material_ = pki_.MakeMaterial("web", {"example.com", "www.example.com"},
                                         std::chrono::system_clock::now(), 3);
  DeployContext context_;
};

TEST_F(CommandTargetTest, ProgramGetsExactlyTheDocumentedEnvironment) {
  CommandTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto dump = fs::ReadFile(env_file_);
  ASSERT_TRUE(dump.ok());
  std::map<std::string, std::string> env = ParseEnv(*dump);
  std::map<std::string, std::string> ours;
  for (const auto& [k, v] : env) {
    if (k.rfind("CERTKEEPER_", 0) == 0) ours[k] = v;
  }
  std::map<std::string, std::string> expected = {
      {"CERTKEEPER_NAME", "web"},
      {"CERTKEEPER_DOMAINS", "example.com www.example.com"},
      {"CERTKEEPER_VERSION", "3"},
      {"CERTKEEPER_CERT_PATH", "/var/lib/certkeeper/archive/web/3/cert.pem"},
      {"CERTKEEPER_CHAIN_PATH", "/var/lib/certkeeper/archive/web/3/chain.pem"},
      {"CERTKEEPER_FULLCHAIN_PATH", "/var/lib/certkeeper/archive/web/3/fullchain.pem"},
      {"CERTKEEPER_KEY_PATH", "/var/lib/certkeeper/archive/web/3/privkey.pem"},
      {"CERTKEEPER_FINGERPRINT", material_.fingerprint_sha256},
      {"CERTKEEPER_NOT_AFTER", FormatRfc3339(material_.not_after)},
  };
  for (const auto& [k, v] : expected) EXPECT_EQ(ours[k], v) << k;
  // Nothing else named CERTKEEPER_* appears, except what this process inherited.
  std::set<std::string> expected_keys;
  for (const auto& [k, v] : expected) expected_keys.insert(k);
  for (char** e = environ; *e != nullptr; ++e) {
    std::string key(*e, strcspn(*e, "="));
    if (key.rfind("CERTKEEPER_", 0) == 0) expected_keys.insert(key);
  }
  std::set<std::string> keys;
  for (const auto& [k, v] : ours) keys.insert(k);
  EXPECT_EQ(keys, expected_keys);
  auto argv = fs::ReadFile(argv_file_);
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(*argv, "--flag\ntwo words\n");
  ASSERT_EQ(context_.steps.size(), 1u);
  EXPECT_EQ(context_.steps[0].kind, "command");
  EXPECT_TRUE(context_.steps[0].ok);
}

TEST_F(CommandTargetTest, HostileDomainsReachTheProgramAsInertData) {
  std::string marker1 = fs::JoinPath(tmp_.path(), "pwned1");
  std::string marker2 = fs::JoinPath(tmp_.path(), "pwned2");
  std::string marker3 = fs::JoinPath(tmp_.path(), "pwned3");
  material_.domains = {"a.example.com;touch " + marker1, "$(touch " + marker2 + ")",
                       "`touch " + marker3 + "`"};
  material_.name = "web'; touch " + marker1 + "; '";
  CommandTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto dump = fs::ReadFile(env_file_);
  ASSERT_TRUE(dump.ok());
  std::map<std::string, std::string> env = ParseEnv(*dump);
  EXPECT_EQ(env["CERTKEEPER_DOMAINS"], material_.domains[0] + " " + material_.domains[1] +
                                           " " + material_.domains[2]);
  EXPECT_EQ(env["CERTKEEPER_NAME"], material_.name);
  EXPECT_FALSE(fs::Exists(marker1));
  EXPECT_FALSE(fs::Exists(marker2));
  EXPECT_FALSE(fs::Exists(marker3));
}

TEST_F(CommandTargetTest, NonZeroExitFailsWithTheTailOfStderr) {
  std::string script = fs::JoinPath(tmp_.path(), "fail");
  ASSERT_TRUE(fs::WriteFileAtomic(script,
                                  "#!/bin/sh\necho progress\necho 'upload refused: quota' >&2\n"
                                  "exit 7\n",
                                  testing::WithMode(0755)).ok());
  config_.command = {script};
  CommandTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("upload refused: quota"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("7"), std::string::npos) << s.message();
  ASSERT_EQ(context_.steps.size(), 1u);
  EXPECT_NE(context_.steps[0].output.find("progress"), std::string::npos);
}

TEST_F(CommandTargetTest, TimeoutKillsAHangingCommand) {
  config_.command = {"/bin/sleep", "60"};
  config_.timeout = std::chrono::milliseconds(300);
  CommandTarget target(config_);
  auto start = std::chrono::steady_clock::now();
  Status s = target.Deploy(material_, context_);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kDeadlineExceeded) << s.ToString();
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST_F(CommandTargetTest, RollbackDeliversThePreviousVersionAgain) {
  Material previous = pki_.MakeMaterial("web", {"example.com"},
                                        std::chrono::system_clock::now(), 2);
  context_.previous = &previous;
  CommandTarget target(config_);
  ASSERT_TRUE(target.Deploy(material_, context_).ok());
  ASSERT_TRUE(target.Rollback(context_).ok());
  auto dump = fs::ReadFile(env_file_);
  ASSERT_TRUE(dump.ok());
  std::map<std::string, std::string> env = ParseEnv(*dump);
  EXPECT_EQ(env["CERTKEEPER_VERSION"], "2");
  EXPECT_EQ(env["CERTKEEPER_FINGERPRINT"], previous.fingerprint_sha256);
  EXPECT_EQ(context_.steps.back().kind, "rollback");
}

TEST_F(CommandTargetTest, RollbackWithoutPreviousVersionRunsNothing) {
  CommandTarget target(config_);
  ASSERT_TRUE(target.Deploy(material_, context_).ok());
  ASSERT_TRUE(fs::RemoveAll(env_file_).ok());
  ASSERT_TRUE(target.Rollback(context_).ok());
  EXPECT_FALSE(fs::Exists(env_file_));
  EXPECT_EQ(context_.steps.back().kind, "rollback");
}

}  // namespace
}  // namespace certkeeper::hooks
