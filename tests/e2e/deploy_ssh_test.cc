// Deploying over ssh through the CLI, against a real Pebble, sshd and nginx: one
// ssh target pushes the files into a remote directory and runs a remote reload
// that leaves a marker; a second ssh target installs into nginx's directory, runs
// nginx's reload remotely and is verified by asking nginx what it serves. A
// remote reload without effect fails the verification and both remote
// directory gets its previous files back.
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
using testing::RunCertkeeper;

using namespace deploy_support;  // NOLINT: test helpers

class DeploySshTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options = WithNginx();
    options.sshd = true;
    StartEnv(options);
  }

  void SetUpTest() override {
    // Quotes, spaces and a command substitution: every remote command quotes it.
    remote_dir_ = env_->Get("SSHD_REMOTE_DIR") + "/" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                  " 'q' \"d\" $(touch pwned) ;x";
    std::filesystem::create_directories(remote_dir_);
    marker_ = remote_dir_ + "/reloaded by certkeeper";
    nginx_dir_ = env_->Get("NGINX_CERT_DIR");
  }

  // "edge": full chain and key into remote_dir_, then a remote touch of marker_.
  // "nginx": fullchain and key into nginx's directory over ssh, nginx_reload run
  // remotely (nginx's own reload when empty), verified on nginx's TLS port.
  void WriteConfig(const std::vector<std::string>& deploy,
                   std::vector<std::string> nginx_reload = {}) {
    if (nginx_reload.empty()) nginx_reload = SplitOnSpaces(env_->Get("NGINX_RELOAD"));
    auto ssh_keys = [&]() {
      return "host = \"127.0.0.1\"\nport = " + env_->Get("SSHD_PORT") +
             "\nuser = " + Toml(env_->Get("SSHD_USER")) +
             "\nidentity_file = " + Toml(env_->Get("SSHD_IDENTITY")) +
             "\nknown_hosts = " + Toml(env_->Get("SSHD_KNOWN_HOSTS")) + "\ntimeout = \"30s\"\n";
    };
    std::ofstream f(config_, std::ios::trunc);
    f << NginxWebrootConfigHead()
      << "[[certificate]]\nname = \"remote\"\n"
      << "domains = [\"remote.example.com\"]\nchallenges = [\"http-01\"]\n"
      << "deploy = " << Toml(deploy) << "\n"
      << "[[deploy]]\nname = \"edge\"\ntype = \"ssh\"\n" << ssh_keys()
      << "remote_directory = " << Toml(remote_dir_) << "\n"
      << "files = { fullchain = \"fullchain.pem\", key = \"privkey.pem\" }\n"
      << "remote_reload = " << Toml({"touch", marker_}) << "\n"
      << "[[deploy]]\nname = \"nginx\"\ntype = \"ssh\"\n" << ssh_keys()
      << "remote_directory = " << Toml(nginx_dir_) << "\n"
      << "files = { fullchain = \"fullchain.pem\", key = \"privkey.pem\" }\n"
      << "remote_reload = " << Toml(nginx_reload) << "\n"
      << "verify = [\"127.0.0.1:" << nginx_port_ << "\"]\nverify_timeout = \"3s\"\n";
  }

  json RunJson(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "-c", config_});
    CommandResult r = RunCertkeeper(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return json::parse(r.out, nullptr, false);
  }

  std::string Archived(int n, const std::string& file) {
    return Read(state_ + "/archive/remote/" + std::to_string(n) + "/" + file);
  }

  std::string SerialOf(int n) {
    auto info = ParseCertificatePem(Archived(n, "cert.pem"));
    return info.ok() ? info->serial_hex : "<unparsable version " + std::to_string(n) + ">";
  }

  // Waits (bounded) until three fresh connections in a row get `serial`: old
  // nginx workers may answer a few connections after a reload.
  bool ServesEventually(const std::string& serial) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int consecutive = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      consecutive = ServedSerial(nginx_port_, "remote.example.com") == serial ? consecutive + 1 : 0;
      if (consecutive >= 3) return true;
    }
    return false;
  }

  // nginx's directory holds version n's full chain and key, byte for byte.
  void ExpectNginxDirHolds(int n) {
    EXPECT_EQ(Read(nginx_dir_ + "/fullchain.pem"), Archived(n, "fullchain.pem")) << "v" << n;
    EXPECT_EQ(Read(nginx_dir_ + "/privkey.pem"), Archived(n, "privkey.pem")) << "v" << n;
  }

  // The steps of the newest attempt with this kind and target.
  std::vector<json> NewestSteps(const std::string& kind, const std::string& target) {
    json history = RunJson({"history", "remote"});
    std::vector<json> out;
    if (!history.is_array() || history.empty()) return out;
    for (const json& s : history[0]["steps"]) {
      if (s["kind"] == kind && s["identifier"] == target) out.push_back(s);
    }
    return out;
  }

  std::string VersionState(int n) {
    json show = RunJson({"show", "remote"});
    for (const json& v : show.value("versions", json::array())) {
      if (v["n"] == n) return v["state"].get<std::string>();
    }
    return "<no version " + std::to_string(n) + ">";
  }

  std::string remote_dir_, marker_, nginx_dir_;
};

// One session, few files: every ssh connection costs seconds on a loaded
// machine. Issue to both targets, then a failed verification rolled back over
// ssh (`deploy` after a fix is covered by the nginx and command tests).
TEST_F(DeploySshTest, PushesFilesRunsRemoteReloadVerifiesAndRollsBack) {
  WriteConfig({"edge", "nginx"});
  CommandResult r = Run({"issue", "remote"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* file : {"fullchain.pem", "privkey.pem"}) {
    EXPECT_EQ(Read(remote_dir_ + "/" + file), Read(state_ + "/live/remote/" + file)) << file;
  }
  EXPECT_FALSE(fs::Exists(remote_dir_ + "/cert.pem"));
  ExpectNginxDirHolds(1);
  EXPECT_TRUE(fs::Exists(marker_));
  struct stat st;
  ASSERT_EQ(stat((remote_dir_ + "/privkey.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::Exists(remote_dir_ + "/.privkey.pem.certkeeper-new"));
  EXPECT_TRUE(ServesEventually(SerialOf(1)));
  EXPECT_EQ(VersionState(1), "deployed");
  for (const std::string target : {"edge", "nginx"}) {
    SCOPED_TRACE(target);
    std::vector<json> reloads = NewestSteps("reload", target);
    ASSERT_EQ(reloads.size(), 1u);
    EXPECT_EQ(reloads[0]["result"], "ok");
    std::vector<json> uploads = NewestSteps("upload", target);
    ASSERT_FALSE(uploads.empty());
    for (const json& u : uploads) EXPECT_EQ(u["result"], "ok") << u.dump(2);
  }
  std::vector<json> verify = NewestSteps("verify", "nginx");
  ASSERT_EQ(verify.size(), 1u);
  EXPECT_EQ(verify[0]["result"], "ok");
  // The remote shell ran nothing from the directory's name (its working
  // directory is the login's home).
  EXPECT_FALSE(fs::Exists(env_->Get("SSHD_REMOTE_DIR") + "/pwned"));
  if (const char* home = getenv("HOME")) {
    EXPECT_FALSE(fs::Exists(std::string(home) + "/pwned"));
  }

  // The remote reload "succeeds" but nginx keeps serving version 1.
  WriteConfig({"nginx"}, {"/bin/true"});
  r = Run({"renew", "--force", "remote"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  ExpectNginxDirHolds(1);
  EXPECT_TRUE(ServesEventually(SerialOf(1)));
  EXPECT_EQ(VersionState(2), "deploy_failed");
  verify = NewestSteps("verify", "nginx");
  ASSERT_EQ(verify.size(), 1u);
  EXPECT_EQ(verify[0]["result"], "failed");
  std::vector<json> rollback = NewestSteps("rollback", "nginx");
  ASSERT_FALSE(rollback.empty());
  for (const json& step : rollback) EXPECT_EQ(step["result"], "ok") << step.dump(2);

}

// Another user of the remote host who can write remote_directory plants
// symlinks there. A symlink at .certkeeper-prev fails the deploy before any
// file is touched, and its target (a directory elsewhere) keeps its mode and
// content; symlinks at the live names are replaced by the new files, never
// written through.
TEST_F(DeploySshTest, SymlinksPlantedInTheRemoteDirectoryAreNotFollowed) {
  std::string elsewhere = dir_.path() + "/elsewhere";
  std::filesystem::create_directories(elsewhere);
  ASSERT_EQ(chmod(elsewhere.c_str(), 0755), 0);
  ASSERT_TRUE(fs::WriteFileAtomic(elsewhere + "/victim", "not yours").ok());
  ASSERT_TRUE(fs::WriteFileAtomic(elsewhere + "/.complete", "").ok());
  auto expect_elsewhere_untouched = [&]() {
    struct stat st;
    ASSERT_EQ(stat(elsewhere.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(elsewhere)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{".complete", "victim"}));
    EXPECT_EQ(Read(elsewhere + "/victim"), "not yours");
  };
  auto plant = [](const std::string& target, const std::string& link) {
    ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0) << link;
    if (geteuid() == 0) {
      ASSERT_EQ(lchown(link.c_str(), 65534, 65534), 0);
    }
  };
  std::string prev = remote_dir_ + "/.certkeeper-prev";
  plant(elsewhere, prev);
  WriteConfig({"edge"});
  CommandResult r = Run({"issue", "remote"});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find(".certkeeper-prev"), std::string::npos) << r.out << r.err;
  expect_elsewhere_untouched();
  EXPECT_FALSE(fs::Exists(remote_dir_ + "/fullchain.pem"));

  ASSERT_EQ(unlink(prev.c_str()), 0);
  plant(elsewhere, remote_dir_ + "/fullchain.pem");
  plant(elsewhere + "/victim", remote_dir_ + "/privkey.pem");
  r = Run({"renew", "--force", "remote"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* file : {"fullchain.pem", "privkey.pem"}) {
    struct stat st;
    ASSERT_EQ(lstat((remote_dir_ + "/" + file).c_str(), &st), 0) << file;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << file;
    EXPECT_EQ(Read(remote_dir_ + "/" + file), Read(state_ + "/live/remote/" + file)) << file;
  }
  expect_elsewhere_untouched();
}

}  // namespace
}  // namespace certkeeper
