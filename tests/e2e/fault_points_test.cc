// A renewal through every fault point, with the real certkeeper binary against
// Pebble and a files deploy target in a real nginx. Each row starts from a
// certificate whose version 1 is live, deployed and served, then runs
// `renew --force` with one fault armed from the environment: a crash (SIGKILL)
// at a numbered step (CERTKEEPER_CRASH_AT), or ENOSPC/EIO on one write, fsync,
// rename or mkdir (CERTKEEPER_FAULT). Afterwards:
//  (1) every version the inventory records has complete files in archive/;
//  (2) live/ and what nginx serves are the previous version, unless the crash
//      came after the new one was reloaded or switched (then the new one);
//  (3) the inventory's live version equals live/ (after a failed run at once;
//      after a crash once the next run has taken the lock);
//  (4) the next run without the fault finishes the job: the newest version is
//      live, deployed, in the target directory and served.
// A failed run names the cause ("No space left on device").
// The inventory's own writes get a sweep instead of rows: each sync of its
// write-ahead log during a renewal fails in turn.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
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

enum class Kind { kCrash, kFault };
enum class After { kOld, kNew };  // which version live/ (or nginx) has after the fault

struct FaultRow {
  const char* name;
  Kind kind;
  // CERTKEEPER_CRASH_AT, or CERTKEEPER_FAULT with {state}, {certs}, {cert} and
  // {key} replaced by the state dir, nginx's certificate directory and the
  // target's file names.
  const char* value;
  After live_after = After::kOld;
  After served_after = After::kOld;
  const char* message = "";  // a failed run's output contains this (strerror text)
};

void PrintTo(const FaultRow& row, std::ostream* os) { *os << row.name; }

// glibc's strerror(ENOSPC) and strerror(EIO).
constexpr const char* kNoSpace = "No space left on device";
constexpr const char* kIoError = "Input/output error";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class FaultPointsBase : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options = WithNginx();
    options.env = {{"PEBBLE_WFE_NONCEREJECT", "0"}};
    StartEnv(options);
  }

  void SetUpTest() override {
    std::ofstream f(config_, std::ios::trunc);
    f << NginxWebrootConfigHead()
      << "[[certificate]]\nname = \"site\"\n"
      << "domains = [\"site.example.com\", \"www.site.example.com\"]\n"
      << "challenges = [\"http-01\"]\n"
      << "deploy = [\"nginx\"]\n"
      << "[[deploy]]\nname = \"nginx\"\ntype = \"files\"\n"
      << "directory = " << Toml(env_->Get("NGINX_CERT_DIR")) << "\n"
      << "files = { fullchain = " << Toml(BaseName(nginx_cert_))
      << ", key = " << Toml(BaseName(nginx_key_)) << " }\n"
      << "mode = \"0600\"\n"
      << "reload = " << Toml(SplitOnSpaces(env_->Get("NGINX_RELOAD"))) << "\n"
      << "verify = [\"127.0.0.1:" << nginx_port_ << "\"]\n"
      << "verify_timeout = \"3s\"\n";
  }

  std::string Archived(int n, const std::string& file) {
    return Read(state_ + "/archive/site/" + std::to_string(n) + "/" + file);
  }
  std::string SerialOf(int n) {
    auto info = ParseCertificatePem(Archived(n, "cert.pem"));
    return info.ok() ? info->serial_hex : "<unparsable version " + std::to_string(n) + ">";
  }

  // The version live/site points at, 0 when none.
  int LiveLink() {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(state_ + "/live/site", ec);
    return ec ? 0 : std::atoi(target.filename().c_str());
  }

  // The recorded versions: n -> state.
  std::map<int, std::string> Recorded() {
    CommandResult r = Run({"--json", "show", "site"});
    std::map<int, std::string> out;
    json show = json::parse(r.out, nullptr, false);
    if (!show.is_object() || !show.contains("versions")) {
      ADD_FAILURE() << "show failed: " << r.out << r.err;
      return out;
    }
    for (const json& v : show["versions"]) out[v["n"].get<int>()] = v["state"].get<std::string>();
    return out;
  }
  // The newest version recorded as deployed, 0 when none.
  static int LiveOf(const std::map<int, std::string>& recorded) {
    int live = 0;
    for (const auto& [n, state] : recorded) {
      if (state == "deployed") live = n;
    }
    return live;
  }

  // (1) every recorded version has its four files, a parsable certificate,
  // the fullchain of it and its chain, and the key that matches it.
  void ExpectComplete(const std::map<int, std::string>& recorded) {
    for (const auto& [n, state] : recorded) {
      std::string cert = Archived(n, "cert.pem");
      auto key = PrivateKey::FromPem(Archived(n, "privkey.pem"));
      ASSERT_TRUE(key.ok()) << "version " << n << " (" << state << "): " << key.status().ToString();
      EXPECT_TRUE(KeyMatchesCertificate(*key, cert).ok()) << "version " << n;
      EXPECT_EQ(Archived(n, "fullchain.pem"), cert + Archived(n, "chain.pem")) << "version " << n;
    }
  }

  // nginx's directory holds version n's files.
  void ExpectTargetHolds(int n) {
    EXPECT_TRUE(Read(nginx_cert_) == Archived(n, "fullchain.pem"))
        << nginx_cert_ << " is not version " << n << "'s fullchain";
    EXPECT_TRUE(Read(nginx_key_) == Archived(n, "privkey.pem"))
        << nginx_key_ << " is not version " << n << "'s key";
  }

  std::string Expand(const std::string& value) {
    std::string out = Replace(value, "{state}", state_);
    out = Replace(out, "{certs}", env_->Get("NGINX_CERT_DIR"));
    out = Replace(out, "{cert}", BaseName(nginx_cert_));
    return Replace(out, "{key}", BaseName(nginx_key_));
  }
};

class FaultPointsTest : public FaultPointsBase,
                        public ::testing::WithParamInterface<FaultRow> {};

TEST_P(FaultPointsTest, RenewalThroughTheFaultKeepsTheInvariants) {
  const FaultRow& row = GetParam();
  CommandResult issued = Run({"issue", "site"});
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  ASSERT_EQ(LiveLink(), 1);
  ASSERT_TRUE(ServesEventually(SerialOf(1)));

  testing::EnvVars env;
  if (row.kind == Kind::kCrash) {
    env.push_back({"CERTKEEPER_CRASH_AT", row.value});
  } else {
    env.push_back({"CERTKEEPER_FAULT", Expand(row.value)});
  }
  CommandResult faulted = Run({"renew", "--force", "site"}, env);
  const std::string output = faulted.out + faulted.err;
  if (row.kind == Kind::kCrash) {
    ASSERT_EQ(faulted.exit_code, -1) << "the run was not killed:\n" << output;
    std::string point = row.value;
    point = point.substr(0, point.find(':'));
    ASSERT_NE(output.find("crash point " + point + " reached"), std::string::npos) << output;
  } else {
    ASSERT_EQ(faulted.exit_code, 2) << output;
    EXPECT_NE(output.find(row.message), std::string::npos)
        << "the error does not name the cause \"" << row.message << "\":\n" << output;
  }

  // (1) and (2).
  std::map<int, std::string> recorded = Recorded();
  ExpectComplete(recorded);
  const int old_n = 1;
  const int new_n = 2;
  EXPECT_EQ(LiveLink(), row.live_after == After::kOld ? old_n : new_n);
  const int served = row.served_after == After::kOld ? old_n : new_n;
  EXPECT_TRUE(ServesEventually(SerialOf(served))) << "nginx does not serve version " << served;
  if (row.kind == Kind::kFault) {
    // (3) at once, and the target holds the version live/ holds.
    EXPECT_EQ(LiveOf(recorded), old_n);
    ExpectTargetHolds(old_n);
  } else {
    // (3) once a run holds the lock: a renewal that is not due and not forced
    // reconciles (and delivers a version that is waiting), and nothing else.
    CommandResult next = Run({"renew", "site"});
    EXPECT_TRUE(next.exit_code == 0 || next.exit_code == 2) << next.out << next.err;
    recorded = Recorded();
    EXPECT_EQ(LiveOf(recorded), LiveLink()) << next.out << next.err;
    ExpectComplete(recorded);
  }

  // (4) the next run without the fault finishes the job.
  CommandResult finish = Run({"renew", "--force", "site"});
  ASSERT_EQ(finish.exit_code, 0) << finish.out << finish.err;
  recorded = Recorded();
  ASSERT_FALSE(recorded.empty());
  const int newest = recorded.rbegin()->first;
  EXPECT_GE(newest, new_n);
  EXPECT_EQ(recorded.rbegin()->second, "deployed");
  EXPECT_EQ(LiveLink(), newest);
  EXPECT_EQ(LiveOf(recorded), newest);
  ExpectComplete(recorded);
  ExpectTargetHolds(newest);
  EXPECT_TRUE(ServesEventually(SerialOf(newest))) << "nginx does not serve version " << newest;
  EXPECT_FALSE(fs::Exists(state_ + "/archive/site/deploying"));
}


INSTANTIATE_TEST_SUITE_P(
    Points, FaultPointsTest,
    ::testing::Values(
        // Crashes along issuance: nothing new is recorded or live.
        FaultRow{"CrashOrderCreated", Kind::kCrash, "issue.order-created"},
        FaultRow{"CrashAuthorized", Kind::kCrash, "issue.authorized"},
        FaultRow{"CrashFinalized", Kind::kCrash, "issue.finalized"},
        FaultRow{"CrashDownloaded", Kind::kCrash, "issue.downloaded"},
        FaultRow{"CrashFilesWritten", Kind::kCrash, "issue.files-written"},
        FaultRow{"CrashRecorded", Kind::kCrash, "issue.recorded"},
        // Crashes along the deploy.
        FaultRow{"CrashFirstFileInstalled", Kind::kCrash, "deploy.file-installed:1"},
        FaultRow{"CrashInstalled", Kind::kCrash, "deploy.installed"},
        FaultRow{"CrashReloaded", Kind::kCrash, "deploy.reloaded", After::kOld, After::kNew},
        FaultRow{"CrashVerified", Kind::kCrash, "deploy.verified", After::kOld, After::kNew},
        FaultRow{"CrashLiveSwitched", Kind::kCrash, "deploy.live-switched", After::kNew,
                 After::kNew},
        FaultRow{"CrashDeployedRecorded", Kind::kCrash, "deploy.recorded", After::kNew,
                 After::kNew},
        // Disk faults while issuing.
        FaultRow{"PendingKeyWriteNoSpace", Kind::kFault, "write:1:ENOSPC:pending.key",
                 After::kOld, After::kOld, kNoSpace},
        FaultRow{"VersionDirMkdirNoSpace", Kind::kFault, "mkdir:1:ENOSPC:/.2.tmp", After::kOld,
                 After::kOld, kNoSpace},
        FaultRow{"VersionFileWriteNoSpace", Kind::kFault, "write:1:ENOSPC:/.2.tmp/",
                 After::kOld, After::kOld, kNoSpace},
        FaultRow{"VersionFileFsyncIoError", Kind::kFault, "fsync:2:EIO:/.2.tmp/", After::kOld,
                 After::kOld, kIoError},
        FaultRow{"VersionDirRenameNoSpace", Kind::kFault, "rename:1:ENOSPC:/archive/site/2",
                 After::kOld, After::kOld, kNoSpace},
        // The first write of the run to the inventory's log: nothing starts.
        FaultRow{"InventoryWriteNoSpace", Kind::kFault, "write:1:ENOSPC:certkeeper.db-wal",
                 After::kOld, After::kOld, kNoSpace},
        // Disk faults while deploying: the targets are rolled back.
        FaultRow{"BackupWriteNoSpace", Kind::kFault, "write:1:ENOSPC:/.certkeeper-prev/",
                 After::kOld, After::kOld, kNoSpace},
        FaultRow{"TargetFullchainWriteNoSpace", Kind::kFault,
                 "write:1:ENOSPC:{certs}/.{cert}.tmp",
                 After::kOld, After::kOld, kNoSpace},
        FaultRow{"TargetKeyWriteIoError", Kind::kFault, "write:1:EIO:{certs}/.{key}.tmp",
                 After::kOld, After::kOld, kIoError},
        FaultRow{"TargetKeyRenameNoSpace", Kind::kFault, "rename:1:ENOSPC:{certs}/{key}",
                 After::kOld, After::kOld, kNoSpace},
        FaultRow{"LiveSwitchRenameNoSpace", Kind::kFault, "rename:1:ENOSPC:{state}/live/site",
                 After::kOld, After::kOld, kNoSpace},
        FaultRow{"LiveSwitchFsyncIoError", Kind::kFault, "fsync:1:EIO:{state}/live",
                 After::kOld, After::kOld, kIoError}),
    [](const ::testing::TestParamInfo<FaultRow>& info) { return std::string(info.param.name); });

// The inventory's commits: the nth fsync of certkeeper.db-wal in a renewal
// fails with EIO, for n = 1, 2, ... until a renewal passes through without
// reaching the nth (SQLite's writes go through the fault seam by a VFS). A
// commit whose sync failed may still be on disk after the process ends, so
// each step is checked after the next run has taken the lock: what live/ holds
// is what the inventory records as live, what nginx's directory holds and what
// it serves, and every recorded version is complete. Each step starts from
// what the previous one left; the last run without the fault renews.
using InventorySyncSweepTest = FaultPointsBase;

TEST_F(InventorySyncSweepTest, EveryFailedCommitOfARenewalLeavesAConsistentState) {
  CommandResult issued = Run({"issue", "site"});
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  constexpr int kMaxSyncs = 80;
  int n = 1;
  for (; n <= kMaxSyncs; ++n) {
    SCOPED_TRACE("fsync " + std::to_string(n) + " of certkeeper.db-wal fails");
    CommandResult faulted = Run({"renew", "--force", "site"},
                                {{"CERTKEEPER_FAULT",
                                  "fsync:" + std::to_string(n) + ":EIO:certkeeper.db-wal"}});
    const std::string output = faulted.out + faulted.err;
    const bool fired = output.find("injected fault") != std::string::npos;
    ASSERT_TRUE(faulted.exit_code == 0 || faulted.exit_code == 2) << output;
    if (faulted.exit_code == 2) {
      EXPECT_NE(output.find(kIoError), std::string::npos) << output;
    }
    CommandResult next = Run({"renew", "site"});
    ASSERT_TRUE(next.exit_code == 0 || next.exit_code == 2) << next.out << next.err;
    std::map<int, std::string> recorded = Recorded();
    ExpectComplete(recorded);
    const int live = LiveOf(recorded);
    ASSERT_GE(live, 1);
    EXPECT_EQ(LiveLink(), live) << output << next.out << next.err;
    ExpectTargetHolds(live);
    EXPECT_TRUE(ServesEventually(SerialOf(live))) << "nginx does not serve version " << live;
    if (HasFailure() || !fired) break;
  }
  RecordProperty("inventory_syncs_swept", n - 1);
  std::printf("inventory sweep: %d commits failed in turn\n", n - 1);
  EXPECT_GT(n, 3) << "the sweep stopped before it reached the renewal's commits";
  EXPECT_LE(n, kMaxSyncs) << "the renewal never got past the injected faults";

  CommandResult finish = Run({"renew", "--force", "site"});
  ASSERT_EQ(finish.exit_code, 0) << finish.out << finish.err;
  std::map<int, std::string> recorded = Recorded();
  ASSERT_FALSE(recorded.empty());
  const int newest = recorded.rbegin()->first;
  EXPECT_EQ(recorded.rbegin()->second, "deployed");
  EXPECT_EQ(LiveLink(), newest);
  ExpectTargetHolds(newest);
  EXPECT_TRUE(ServesEventually(SerialOf(newest)));
}

}  // namespace
}  // namespace certkeeper
