// Deploying through the CLI against a real Pebble and a real nginx: `issue` puts
// the new version into nginx's directory, reloads and verifies it; a reload that
// does not take effect or a command that fails is rolled back byte for byte and
// recorded; `deploy` and `renew --all` deliver the version that is still waiting;
// material that must not go live is refused before any target runs; command
// hooks get the documented environment verbatim, whatever the names contain.
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/fs.h"
#include "tests/e2e/deploy_support.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/testenv.h"

namespace certkeeper {
namespace {

using nlohmann::json;
using testing::CommandResult;

using namespace deploy_support;  // NOLINT: test helpers

class DeployNginxTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() { StartEnv(WithNginx()); }

  void SetUpTest() override {
    // A command hook that appends "VERSION FINGERPRINT" to argv[1] and fails
    // (exit 3, with a message on stderr) when the version is argv[2].
    recorder_ = dir_.path() + "/recorder";
    record_log_ = dir_.path() + "/recorded";
    Write(recorder_,
          "#!/bin/sh\n"
          "echo \"$CERTKEEPER_VERSION $CERTKEEPER_FINGERPRINT\" >> \"$1\"\n"
          "echo \"recorder saw version $CERTKEEPER_VERSION\"\n"
          "if [ \"$CERTKEEPER_VERSION\" = \"$2\" ]; then\n"
          "  echo \"recorder refuses version $2\" >&2\n"
          "  exit 3\n"
          "fi\n",
          0700);
  }

  // The certificate "site" delivered to `deploy`; the nginx target reloads with
  // `reload` (nginx's own reload when empty); the recorder fails on fail_version.
  void WriteConfig(const std::vector<std::string>& deploy, std::vector<std::string> reload = {},
                   int fail_version = 0) {
    if (reload.empty()) reload = SplitOnSpaces(env_->Get("NGINX_RELOAD"));
    std::ofstream f(config_, std::ios::trunc);
    f << NginxWebrootConfigHead()
      << "[[certificate]]\nname = \"site\"\n"
      << "domains = [\"site.example.com\", \"www.site.example.com\"]\n"
      << "challenges = [\"http-01\"]\n"
      << "deploy = " << Toml(deploy) << "\n"
      << "[[deploy]]\nname = \"nginx\"\ntype = \"files\"\n"
      << "directory = " << Toml(env_->Get("NGINX_CERT_DIR")) << "\n"
      << "files = { fullchain = " << Toml(BaseName(nginx_cert_))
      << ", key = " << Toml(BaseName(nginx_key_)) << " }\n"
      << "mode = \"0600\"\n"
      << "reload = " << Toml(reload) << "\n"
      << "verify = [\"127.0.0.1:" << nginx_port_ << "\"]\n"
      << "verify_timeout = \"3s\"\n"
      << "[[deploy]]\nname = \"recorder\"\ntype = \"command\"\n"
      << "command = " << Toml({recorder_, record_log_, std::to_string(fail_version)}) << "\n";
  }

  json RunJson(std::vector<std::string> args, int expected_exit = 0) {
    args.insert(args.begin(), "--json");
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return json::parse(r.out, nullptr, false);
  }

  std::string Archived(int n, const std::string& file) {
    return Read(state_ + "/archive/" + name_ + "/" + std::to_string(n) + "/" + file);
  }

  std::string SerialOf(int n) {
    auto info = ParseCertificatePem(Archived(n, "cert.pem"));
    return info.ok() ? info->serial_hex : "<unparsable version " + std::to_string(n) + ">";
  }

  // The version live/<name> points at ("" when it is not a symlink).
  std::string LiveTarget() {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(state_ + "/live/" + name_, ec);
    return ec ? "" : target.string();
  }
  std::string LiveIs(int n) { return "../archive/" + name_ + "/" + std::to_string(n); }

  json Versions() {
    json show = RunJson({"show", name_});
    return show.contains("versions") ? show["versions"] : json::array();
  }

  std::string VersionState(int n) {
    for (const json& v : Versions()) {
      if (v["n"] == n) return v["state"].get<std::string>();
    }
    return "<no version " + std::to_string(n) + ">";
  }

  std::string Fingerprint(int n) {
    auto info = ParseCertificatePem(Archived(n, "cert.pem"));
    return info.ok() ? info->sha256_fingerprint : "<unparsable version " + std::to_string(n) + ">";
  }

  // The first step of the newest attempt with this kind and target.
  json NewestStep(const std::string& kind, const std::string& target) {
    json history = RunJson({"history", name_});
    if (!history.is_array() || history.empty()) return nullptr;
    for (const json& s : history[0]["steps"]) {
      if (s["kind"] == kind && s["identifier"] == (target.empty() ? json(nullptr) : json(target))) {
        return s;
      }
    }
    return nullptr;
  }

  std::string recorder_, record_log_;
  std::string name_ = "site";
};

TEST_F(DeployNginxTest, IssueInstallsReloadsAndVerifiesInNginx) {
  WriteConfig({"nginx"});
  CommandResult r = Run({"issue", "site"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  EXPECT_EQ(Read(nginx_cert_), Archived(1, "fullchain.pem"));
  EXPECT_EQ(Read(nginx_key_), Archived(1, "privkey.pem"));
  struct stat st;
  ASSERT_EQ(stat(nginx_key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(ServesEventually(SerialOf(1))) << "nginx does not serve " << SerialOf(1);
  EXPECT_EQ(RunJson({"show", name_})["serial"], SerialOf(1));
  EXPECT_EQ(VersionState(1), "deployed");
  EXPECT_EQ(LiveTarget(), LiveIs(1));

  json history = RunJson({"history", name_});
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history[0]["outcome"], "success");
  json check = NewestStep("deploy-check", "");
  ASSERT_TRUE(check.is_object());
  EXPECT_EQ(check["result"], "ok");
  json reload = NewestStep("reload", "nginx");
  ASSERT_TRUE(reload.is_object()) << history.dump(2);
  EXPECT_EQ(reload["result"], "ok");
  json verify = NewestStep("verify", "nginx");
  ASSERT_TRUE(verify.is_object()) << history.dump(2);
  EXPECT_EQ(verify["result"], "ok");
}

TEST_F(DeployNginxTest, FailedVerifyRollsBackAndDeployOrRenewDeliversLater) {
  WriteConfig({"nginx"});
  ASSERT_EQ(Run({"issue", "site"}).exit_code, 0);
  ASSERT_TRUE(ServesEventually(SerialOf(1)));
  const std::string cert_before = Read(nginx_cert_), key_before = Read(nginx_key_);

  // The reload "succeeds" but nginx keeps serving version 1.
  WriteConfig({"nginx"}, {"/bin/true"});
  CommandResult r = Run({"renew", "--force", "site"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(Read(nginx_cert_), cert_before);
  EXPECT_EQ(Read(nginx_key_), key_before);
  EXPECT_TRUE(ServesEventually(SerialOf(1)));
  EXPECT_EQ(VersionState(2), "deploy_failed");
  EXPECT_EQ(VersionState(1), "deployed");
  EXPECT_EQ(LiveTarget(), LiveIs(1));
  json history = RunJson({"history", name_});
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history[0]["outcome"], "failed");
  json verify = NewestStep("verify", "nginx");
  ASSERT_TRUE(verify.is_object()) << history.dump(2);
  EXPECT_EQ(verify["result"], "failed");
  // The error names what nginx served instead: version 1.
  EXPECT_NE(verify["error"].get<std::string>().find(Fingerprint(1)), std::string::npos)
      << verify.dump(2);
  json rollback = NewestStep("rollback", "nginx");
  EXPECT_TRUE(rollback.is_object()) << history.dump(2);

  // Fixed config: `deploy` delivers the waiting version 2.
  WriteConfig({"nginx"});
  r = Run({"deploy", "site"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(ServesEventually(SerialOf(2)));
  EXPECT_EQ(Read(nginx_cert_), Archived(2, "fullchain.pem"));
  EXPECT_EQ(VersionState(2), "deployed");
  EXPECT_EQ(LiveTarget(), LiveIs(2));

  // A failing command after nginx: nginx is restored, and the command is run
  // again with the version that was live (2) to roll it back.
  const std::string cert_v2 = Read(nginx_cert_), key_v2 = Read(nginx_key_);
  WriteConfig({"nginx", "recorder"}, {}, /*fail_version=*/3);
  r = Run({"renew", "--force", "site"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(Read(nginx_cert_), cert_v2);
  EXPECT_EQ(Read(nginx_key_), key_v2);
  EXPECT_TRUE(ServesEventually(SerialOf(2)));
  EXPECT_EQ(VersionState(3), "deploy_failed");
  EXPECT_EQ(LiveTarget(), LiveIs(2));
  EXPECT_EQ(Read(record_log_), "3 " + Fingerprint(3) + "\n2 " + Fingerprint(2) + "\n");
  json failed = NewestStep("command", "recorder");
  ASSERT_TRUE(failed.is_object());
  EXPECT_EQ(failed["result"], "failed");
  EXPECT_NE(failed.value("output", "").find("recorder refuses version 3"), std::string::npos)
      << failed.dump(2);
  EXPECT_NE(failed["error"].get<std::string>().find("3"), std::string::npos);

  // Fixed config: `renew --all` orders nothing new while version 3 waits; within
  // the failure's backoff it defers, and forced it delivers version 3.
  WriteConfig({"nginx", "recorder"});
  json renewed = RunJson({"renew", "--all"});
  ASSERT_TRUE(renewed.is_array() && renewed.size() == 1) << renewed.dump(2);
  EXPECT_EQ(Versions().size(), 3u);
  if (renewed[0]["outcome"] == "deferred") {
    EXPECT_NE(renewed[0]["reason"].get<std::string>().find("backoff"), std::string::npos);
    EXPECT_EQ(LiveTarget(), LiveIs(2));
    renewed = RunJson({"renew", "--all", "--force"});
  }
  ASSERT_TRUE(renewed.is_array() && renewed.size() == 1) << renewed.dump(2);
  EXPECT_EQ(renewed[0]["name"], "site");
  EXPECT_EQ(renewed[0]["outcome"], "deployed") << renewed.dump(2);
  EXPECT_EQ(renewed[0]["version"]["n"], 3);
  EXPECT_EQ(Versions().size(), 3u);
  EXPECT_EQ(VersionState(3), "deployed");
  EXPECT_EQ(LiveTarget(), LiveIs(3));
  EXPECT_TRUE(ServesEventually(SerialOf(3)));
  json ok = NewestStep("command", "recorder");
  ASSERT_TRUE(ok.is_object());
  EXPECT_EQ(ok["result"], "ok");
  EXPECT_NE(ok.value("output", "").find("recorder saw version 3"), std::string::npos);
}

// Damaged material of an issued but undeployed version is refused before any
// target runs: nginx keeps its files, the command is not run, exit 2.
TEST_F(DeployNginxTest, MismatchedKeyOrMissingIntermediateIsRefusedBeforeDelivery) {
  WriteConfig({"nginx"});
  ASSERT_EQ(Run({"issue", "site"}).exit_code, 0);
  WriteConfig({"nginx", "recorder"}, {}, /*fail_version=*/2);
  ASSERT_EQ(Run({"renew", "--force", "site"}).exit_code, 2);
  ASSERT_EQ(VersionState(2), "deploy_failed");
  ASSERT_TRUE(ServesEventually(SerialOf(1)));

  WriteConfig({"nginx", "recorder"});
  const std::string cert_before = Read(nginx_cert_), key_before = Read(nginx_key_);
  const std::string log_before = Read(record_log_);
  const std::string dir = state_ + "/archive/site/2/";
  const std::string key2 = Read(dir + "privkey.pem"), chain2 = Read(dir + "chain.pem");

  struct Damage {
    std::string file, content, expected_error;
  };
  for (const Damage& damage :
       {Damage{"privkey.pem", Archived(1, "privkey.pem"), "private key does not belong"},
        Damage{"chain.pem", "", "chain does not verify"}}) {
    SCOPED_TRACE(damage.file);
    Write(dir + damage.file, damage.content);
    CommandResult r = Run({"deploy", "site"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(damage.expected_error), std::string::npos) << r.out << r.err;
    EXPECT_EQ(Read(nginx_cert_), cert_before);
    EXPECT_EQ(Read(nginx_key_), key_before);
    EXPECT_EQ(Read(record_log_), log_before);
    EXPECT_EQ(LiveTarget(), LiveIs(1));
    EXPECT_EQ(VersionState(2), "deploy_failed");
    json check = NewestStep("deploy-check", "");
    ASSERT_TRUE(check.is_object());
    EXPECT_EQ(check["result"], "failed");
    EXPECT_NE(check["error"].get<std::string>().find(damage.expected_error), std::string::npos);
    EXPECT_TRUE(NewestStep("install", "nginx").is_null());
    EXPECT_TRUE(NewestStep("command", "recorder").is_null());
    Write(dir + "privkey.pem", key2);
    Write(dir + "chain.pem", chain2, 0644);
  }
  EXPECT_TRUE(ServesEventually(SerialOf(1)));

  CommandResult r = Run({"deploy", "site"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(ServesEventually(SerialOf(2)));
  EXPECT_EQ(LiveTarget(), LiveIs(2));
}

// The command target gets the documented environment with every value verbatim,
// and nothing in a name or path reaches a shell: the state directory, the hook's
// path and its arguments carry quotes, spaces and command substitutions. Its
// output and exit status are in the history, also when it fails; `deploy` of
// the live version runs it again, and a failure there rolls back to that version.
TEST_F(DeployNginxTest, CommandHookGetsVerbatimEnvironmentAndNoShell) {
  const std::string hostile = dir_.path() + "/st ate 'q' \"dq\" $(touch pwned1) `touch pwned2`;x&";
  ASSERT_TRUE(std::filesystem::create_directory(hostile));
  state_ = hostile + "/state $(touch pwned3)";
  config_ = hostile + "/certkeeper.toml";
  name_ = "x-.-_q..z";
  const std::string hook = hostile + "/hook; touch pwned4";
  const std::string out = hostile + "/out $(touch pwned5)";
  const std::string runs = hostile + "/runs";
  const std::string fail_flag = hostile + "/fail once";
  Write(hook,
        "#!/bin/sh\n"
        "out=\"$1\"; runs=\"$2\"; flag=\"$3\"; shift 3\n"
        "echo \"$CERTKEEPER_VERSION\" >> \"$runs\"\n"
        "if [ -e \"$flag\" ]; then rm -f \"$flag\"; echo 'hook failure marker' >&2; exit 5; fi\n"
        "{ printf 'argc=%s\\n' \"$#\"; for a in \"$@\"; do printf 'arg=%s\\n' \"$a\"; done\n"
        "  env | grep '^CERTKEEPER_' | sort; } > \"$out\"\n"
        "echo 'hook stdout marker'; echo 'hook stderr marker' >&2\n",
        0700);
  const std::vector<std::string> hostile_args = {"$(touch pwned6)", "a b;touch pwned7", "'", "\"",
                                                 "*", "`touch pwned8`"};
  std::vector<std::string> argv = {hook, out, runs, fail_flag};
  argv.insert(argv.end(), hostile_args.begin(), hostile_args.end());
  {
    std::ofstream f(config_);
    f << NginxWebrootConfigHead()
      << "[[certificate]]\nname = " << Toml(name_) << "\n"
      << "domains = [\"hook.example.com\", \"www.hook.example.com\"]\n"
      << "challenges = [\"http-01\"]\ndeploy = [\"hook\"]\n"
      << "[[deploy]]\nname = \"hook\"\ntype = \"command\"\ncommand = " << Toml(argv) << "\n";
  }
  for (const std::string bad : {"$(touch pwned9)", "a b", "../x", "-rf", "x;y"}) {
    CommandResult r = Run({"issue", bad, "-d", "bad.example.com"});
    EXPECT_EQ(r.exit_code, 1) << bad << "\n" << r.out << r.err;
  }

  CommandResult r = Run({"issue", name_});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json show = RunJson({"show", name_});
  std::map<std::string, std::string> env;
  std::vector<std::string> args;
  std::string argc;
  std::istringstream lines(Read(out));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("arg=", 0) == 0) {
      args.push_back(line.substr(4));
    } else if (line.rfind("argc=", 0) == 0) {
      argc = line.substr(5);
    } else if (size_t eq = line.find('='); eq != std::string::npos) {
      env[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  EXPECT_EQ(argc, std::to_string(hostile_args.size()));
  EXPECT_EQ(args, hostile_args);
  const std::string version_dir = state_ + "/archive/" + name_ + "/1";
  EXPECT_EQ(env["CERTKEEPER_NAME"], name_);
  EXPECT_EQ(env["CERTKEEPER_DOMAINS"], "hook.example.com www.hook.example.com");
  EXPECT_EQ(env["CERTKEEPER_VERSION"], "1");
  EXPECT_EQ(env["CERTKEEPER_CERT_PATH"], version_dir + "/cert.pem");
  EXPECT_EQ(env["CERTKEEPER_CHAIN_PATH"], version_dir + "/chain.pem");
  EXPECT_EQ(env["CERTKEEPER_FULLCHAIN_PATH"], version_dir + "/fullchain.pem");
  EXPECT_EQ(env["CERTKEEPER_KEY_PATH"], version_dir + "/privkey.pem");
  EXPECT_EQ(Read(env["CERTKEEPER_CERT_PATH"]), Read(state_ + "/live/" + name_ + "/cert.pem"));
  EXPECT_EQ(Read(env["CERTKEEPER_FULLCHAIN_PATH"]),
            Read(env["CERTKEEPER_CERT_PATH"]) + Read(env["CERTKEEPER_CHAIN_PATH"]));
  auto key = PrivateKey::FromPem(Read(env["CERTKEEPER_KEY_PATH"]));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(KeyMatchesCertificate(*key, Read(env["CERTKEEPER_CERT_PATH"])).ok());
  EXPECT_EQ(env["CERTKEEPER_FINGERPRINT"], Fingerprint(1));
  EXPECT_EQ(env["CERTKEEPER_FINGERPRINT"], show["fingerprint_sha256"]);
  EXPECT_EQ(env["CERTKEEPER_NOT_AFTER"], show["not_after"]);
  json ok = NewestStep("command", "hook");
  ASSERT_TRUE(ok.is_object());
  EXPECT_EQ(ok["result"], "ok");
  EXPECT_NE(ok.value("output", "").find("hook stdout marker"), std::string::npos) << ok.dump(2);
  EXPECT_NE(ok.value("output", "").find("hook stderr marker"), std::string::npos) << ok.dump(2);
  EXPECT_EQ(Read(runs), "1\n");

  // `deploy` of the version that is already live runs the hook again.
  r = Run({"deploy", name_});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Read(runs), "1\n1\n");

  // A failing hook: exit status and stderr in the history; the rollback delivers
  // the live version again and it stays deployed.
  Write(fail_flag, "");
  r = Run({"deploy", name_});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(Read(runs), "1\n1\n1\n1\n");
  json history = RunJson({"history", name_});
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history[0]["outcome"], "failed");
  json failed = NewestStep("command", "hook");
  ASSERT_TRUE(failed.is_object()) << history.dump(2);
  EXPECT_EQ(failed["result"], "failed");
  EXPECT_NE(failed.value("output", "").find("hook failure marker"), std::string::npos)
      << failed.dump(2);
  EXPECT_NE(failed["error"].get<std::string>().find("exit status 5"), std::string::npos)
      << failed.dump(2);
  json rollback = NewestStep("rollback", "hook");
  ASSERT_TRUE(rollback.is_object()) << history.dump(2);
  EXPECT_EQ(rollback["result"], "ok");
  EXPECT_EQ(VersionState(1), "deployed");
  EXPECT_EQ(LiveTarget(), LiveIs(1));

  // No injected command ran anywhere: no file named pwned<N> appeared.
  auto injected = [](const std::filesystem::path& p) {
    std::string f = p.filename().string();
    return f.size() == 6 && f.rfind("pwned", 0) == 0;
  };
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    EXPECT_FALSE(injected(entry.path())) << entry.path();
  }
  for (const auto& entry : std::filesystem::directory_iterator(".")) {
    EXPECT_FALSE(injected(entry.path())) << entry.path();
  }
}

}  // namespace
}  // namespace certkeeper
