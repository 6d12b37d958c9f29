// Reconciliation at the start of a run: whatever an interrupted run left, once a
// run holds the lock the inventory's live version and live/<name> agree, by the
// rules in lifecycle/engine_reconcile.cc. One row per state a crash (or an older
// certkeeper that recorded "deployed" before switching live/) can leave.
#include <gtest/gtest.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <thread>
#include <ostream>
#include <memory>
#include <string>
#include <vector>

#include "base/fault_injection.h"
#include "base/fs.h"
#include "lifecycle/engine.h"
#include "lifecycle/state_layout.h"
#include "store/sql_inventory.h"
#include "tests/unit/acme/fake_ca.h"
#include "tests/unit/hooks/test_pki.h"
#include "tests/unit/lifecycle/engine_test_fixture.h"

namespace certkeeper::lifecycle {
namespace {


class EngineReconcileTest : public testing::EngineTest<> {
 public:
  // Version n of "web": complete files in archive/, and recorded in `state`
  // unless record is false.
  void AddVersion(int n, store::VersionState state, bool record = true, bool files = true);
  // `renew --all`, every certificate decided `decision` without an error.
  // With "not-due" (nothing due, nothing to repair): the kind of run that
  // leaves a settled record.
  void RunNothingDue(const std::string& decision = "not-due");
  bool Settled() const { return fs::Exists(config_.state_dir + "/.settled"); }
  // Waits (bounded) until the file system's clock has moved past live/'s
  // times: until then no run trusts them enough to record them.
  void WaitForFileClockPastLive();
  // Version 1 imported (with version 2's files, unrecorded, when
  // `with_v2_files`), then a run that changes nothing: a settled record.
  void SettleVersionOne(bool with_v2_files = false);

 protected:
  void SetUp() override {
    SetUpEngineTest();
    layout_ = std::make_unique<StateLayout>(config_.state_dir);
  }

  // Version 1 of "web", imported: recorded deployed, live/web -> version 1.
  void ImportVersionOne(Engine& engine) {
    hooks::Material m = pki_.MakeMaterial("web", {"web.example.com"}, now_);
    ImportMaterial(engine, "web", m);
  }

  std::string StateOf(int n) {
    auto inventory = store::SqlInventory::Open(layout_->db_path());
    if (!inventory.ok()) return inventory.status().ToString();
    auto v = (*inventory)->GetVersion("web", n);
    return v.ok() ? std::string(store::VersionStateName(v->state)) : "<none>";
  }

  int RecordedLive() {
    auto inventory = store::SqlInventory::Open(layout_->db_path());
    if (!inventory.ok()) return -1;
    auto v = (*inventory)->LiveVersion("web");
    return v.ok() ? v->n : 0;
  }

  std::unique_ptr<StateLayout> layout_;
};

void EngineReconcileTest::AddVersion(int n, store::VersionState state, bool record,
                                     bool files) {
  hooks::Material m = pki_.MakeMaterial("web", {"web.example.com"}, now_, n);
  if (files) {
    ASSERT_TRUE(layout_->WriteVersion("web", n, {m.key_pem, m.cert_pem, m.chain_pem}).ok());
  }
  if (!record) return;
  auto info = ParseCertificatePem(m.cert_pem);
  ASSERT_TRUE(info.ok());
  store::Version v;
  v.certificate = "web";
  v.n = n;
  v.serial = info->serial_hex;
  v.not_before = info->not_before;
  v.not_after = info->not_after;
  v.issuer = info->issuer;
  v.fingerprint_sha256 = info->sha256_fingerprint;
  v.domains = {"web.example.com"};
  v.key_type = "ec256";
  v.directory = layout_->VersionDir("web", n);
  v.state = state == store::VersionState::kDeployFailed ? store::VersionState::kIssued : state;
  auto inventory = store::SqlInventory::Open(layout_->db_path());
  ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
  ASSERT_TRUE((*inventory)->AddVersion(v).ok());
  if (state == store::VersionState::kDeployFailed) {
    ASSERT_TRUE((*inventory)->SetVersionState("web", n, state).ok());
  }
}

void EngineReconcileTest::RunNothingDue(const std::string& decision) {
  auto engine = OpenEngine();
  ASSERT_NE(engine, nullptr);
  RenewOptions all;
  all.all = true;
  auto report = engine->Renew(all);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  for (const CertificateOutcome& c : report->certificates) {
    ASSERT_TRUE(c.error.ok()) << c.name << ": " << c.error.ToString();
    ASSERT_EQ(c.decision, decision) << c.name;
  }
}

void EngineReconcileTest::WaitForFileClockPastLive() {
  const std::string live = config_.state_dir + "/live";
  const std::string probe = dir_.path() + "/clock-probe";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto nanos = [](const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; };
  for (;;) {
    struct stat dir, now;
    ASSERT_EQ(lstat(live.c_str(), &dir), 0) << strerror(errno);
    unlink(probe.c_str());
    ASSERT_TRUE(fs::WriteFileAtomic(probe, "").ok());
    ASSERT_EQ(stat(probe.c_str(), &now), 0);
    if (nanos(now.st_ctim) > nanos(dir.st_ctim) && nanos(now.st_ctim) > nanos(dir.st_mtim)) return;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the file clock did not move on";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void EngineReconcileTest::SettleVersionOne(bool with_v2_files) {
  {
    auto engine = OpenEngine();
    ASSERT_NE(engine, nullptr);
    ImportVersionOne(*engine);
  }
  ASSERT_FALSE(Settled());  // the import changed live/
  if (with_v2_files) AddVersion(2, store::VersionState::kIssued, /*record=*/false);
  if (HasFatalFailure()) return;
  WaitForFileClockPastLive();
  RunNothingDue();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(Settled());
}

struct Row {
  const char* name;
  // Leaves the state an interrupted run would; version 1 is live and recorded.
  std::function<void(EngineReconcileTest&, StateLayout&)> interrupt;
  int live_after;            // live/web and the inventory's live version after the next run
  const char* v2_state;      // the state of version 2 afterwards
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

class ReconcileRows : public EngineReconcileTest,
                      public ::testing::WithParamInterface<Row> {
 protected:
  // The row's interruption, then the next run, then its expectations.
  void InterruptAndExpectTheNextRunToRepair() {
    const Row& row = GetParam();
    row.interrupt(*this, *layout_);
    if (HasFatalFailure()) return;
    // Any command that takes the run lock reconciles first; an empty import
    // does nothing else.
    auto engine = OpenEngine();
    ASSERT_NE(engine, nullptr);
    auto imported = engine->Import({});
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    EXPECT_EQ(layout_->LiveVersionNumber("web"), row.live_after);
    EXPECT_EQ(RecordedLive(), row.live_after);
    EXPECT_EQ(StateOf(2), row.v2_state);
  }
};

TEST_P(ReconcileRows, NextRunMakesInventoryAndLiveAgree) {
  {
    auto engine = OpenEngine();
    ASSERT_NE(engine, nullptr);
    ImportVersionOne(*engine);
  }
  ASSERT_EQ(layout_->LiveVersionNumber("web"), 1);
  InterruptAndExpectTheNextRunToRepair();
}

// The same interruptions after a run that left a settled record: whatever
// changed after it, through the engine's writes or behind them, the next run
// still sees and repairs.
TEST_P(ReconcileRows, NextRunAfterASettledRunMakesInventoryAndLiveAgree) {
  SettleVersionOne();
  if (HasFatalFailure()) return;
  InterruptAndExpectTheNextRunToRepair();
}

INSTANTIATE_TEST_SUITE_P(
    Interruptions, ReconcileRows,
    ::testing::Values(
        Row{"Consistent",
            [](EngineReconcileTest& t, StateLayout&) {
              t.AddVersion(2, store::VersionState::kIssued);
            },
            1, "issued"},
        Row{"SwitchedLiveButNotRecorded",
            [](EngineReconcileTest& t, StateLayout& layout) {
              t.AddVersion(2, store::VersionState::kIssued);
              ASSERT_TRUE(layout.SwitchLive("web", 2).ok());
            },
            2, "deployed"},
        Row{"RecordedDeployedButLiveNotSwitched",
            [](EngineReconcileTest& t, StateLayout&) {
              t.AddVersion(2, store::VersionState::kDeployed);
            },
            2, "deployed"},
        Row{"RecordedDeployedByADeployThatRolledBack",
            [](EngineReconcileTest& t, StateLayout& layout) {
              t.AddVersion(2, store::VersionState::kDeployed);
              ASSERT_TRUE(layout.RecordDeployIntent("web", 2).ok());
            },
            1, "deploy_failed"},
        Row{"SwitchedLiveButNotRecordedWithIntent",
            [](EngineReconcileTest& t, StateLayout& layout) {
              t.AddVersion(2, store::VersionState::kIssued);
              ASSERT_TRUE(layout.RecordDeployIntent("web", 2).ok());
              ASSERT_TRUE(layout.SwitchLive("web", 2).ok());
            },
            2, "deployed"},
        Row{"LiveAtAVersionNeverRecorded",
            [](EngineReconcileTest& t, StateLayout& layout) {
              t.AddVersion(2, store::VersionState::kIssued, /*record=*/false);
              ASSERT_TRUE(layout.SwitchLive("web", 2).ok());
            },
            1, "<none>"},
        Row{"LiveAtAVersionWhoseDeployFailed",
            [](EngineReconcileTest& t, StateLayout& layout) {
              t.AddVersion(2, store::VersionState::kDeployFailed);
              ASSERT_TRUE(layout.SwitchLive("web", 2).ok());
            },
            1, "deploy_failed"},
        Row{"LiveAtAVersionWithIncompleteFiles",
            [](EngineReconcileTest& t, StateLayout& layout) {
              t.AddVersion(2, store::VersionState::kIssued);
              ASSERT_EQ(unlink((layout.VersionDir("web", 2) + "/cert.pem").c_str()), 0);
              ASSERT_TRUE(layout.SwitchLive("web", 2).ok());
            },
            1, "issued"},
        Row{"LiveSymlinkMissing",
            [](EngineReconcileTest&, StateLayout& layout) {
              ASSERT_EQ(unlink(layout.LiveDir("web").c_str()), 0);
            },
            1, "<none>"}),
    [](const ::testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

// A run that changes nothing records what it found; the next one, finding
// live/ and the inventory as recorded, skips the per-certificate checks
// (here visible as a leftover it does not look for), and records again. Once
// the record is gone, the next run checks everything.
TEST_F(EngineReconcileTest, ASettledRunSkipsTheChecksUntilSomethingChanges) {
  SettleVersionOne();
  if (HasFatalFailure()) return;
  struct stat record;
  ASSERT_EQ(stat((config_.state_dir + "/.settled").c_str(), &record), 0);
  EXPECT_EQ(record.st_mode & 07777, 0600u);

  // Written behind the engine's back (no BeginChange), which nothing but a
  // test does: only a complete scan can find it.
  const std::string leftover = layout_->ArchiveDir("web") + "/pending.key.tmp-abcdefghij";
  ASSERT_TRUE(fs::WritePrivateFile(leftover, "x").ok());
  RunNothingDue();
  if (HasFatalFailure()) return;
  EXPECT_TRUE(fs::Exists(leftover));
  EXPECT_TRUE(Settled());

  ASSERT_EQ(unlink((config_.state_dir + "/.settled").c_str()), 0);
  RunNothingDue();
  if (HasFatalFailure()) return;
  EXPECT_FALSE(fs::Exists(leftover));
  EXPECT_TRUE(Settled());
}

// A change of live/ made by something else than certkeeper's own writes
// changes live/'s times: the next run checks every link.
TEST_F(EngineReconcileTest, ASettledRecordDoesNotHideAChangeOfLiveBehindTheEngine) {
  SettleVersionOne(/*with_v2_files=*/true);
  if (HasFatalFailure()) return;
  // live/web -> version 2, which the inventory does not know.
  const std::string live = layout_->LiveDir("web");
  ASSERT_EQ(symlink("../archive/web/2", (live + ".other").c_str()), 0);
  ASSERT_EQ(rename((live + ".other").c_str(), live.c_str()), 0);
  ASSERT_EQ(layout_->LiveVersionNumber("web"), 2);

  RunNothingDue();
  if (HasFatalFailure()) return;
  EXPECT_EQ(layout_->LiveVersionNumber("web"), 1);
  EXPECT_EQ(RecordedLive(), 1);
}

// A change of the inventory's live versions alone (another process, another
// host's copy of the inventory) changes the digest: the next run checks.
TEST_F(EngineReconcileTest, ASettledRecordDoesNotHideAChangeOfTheInventory) {
  SettleVersionOne(/*with_v2_files=*/true);
  if (HasFatalFailure()) return;
  AddVersion(2, store::VersionState::kDeployed, /*record=*/true, /*files=*/false);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(Settled());  // nothing under live/ or archive/ changed

  auto engine = OpenEngine();
  ASSERT_NE(engine, nullptr);
  auto imported = engine->Import({});
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(layout_->LiveVersionNumber("web"), 2);
  EXPECT_EQ(RecordedLive(), 2);
}

// A deploy intent is written through BeginChange, which removes the record
// first: the next run finds the intent and finishes the delivery.
TEST_F(EngineReconcileTest, ADeployIntentAfterASettledRunIsFinished) {
  SettleVersionOne();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(layout_->RecordDeployIntent("web", 1).ok());
  EXPECT_FALSE(Settled());

  auto engine = OpenEngine();
  ASSERT_NE(engine, nullptr);
  auto deployed = engine->Deploy("web");
  ASSERT_TRUE(deployed.ok()) << deployed.status().ToString();
  EXPECT_TRUE(deployed->error.ok()) << deployed->error.ToString();
  auto intent = layout_->DeployIntent("web");
  ASSERT_TRUE(intent.ok()) << intent.status().ToString();
  EXPECT_EQ(*intent, 0);
}

// A run whose start found everything agreeing but that then changed live/
// (it deployed version 2) leaves no record.
TEST_F(EngineReconcileTest, ARunThatChangesSomethingLeavesNoRecord) {
  {
    auto engine = OpenEngine();
    ASSERT_NE(engine, nullptr);
    ImportVersionOne(*engine);
  }
  AddVersion(2, store::VersionState::kIssued);
  if (HasFatalFailure()) return;
  WaitForFileClockPastLive();
  RunNothingDue("deploy-pending");
  if (HasFatalFailure()) return;
  EXPECT_EQ(layout_->LiveVersionNumber("web"), 2);
  EXPECT_FALSE(Settled());
  // The next run, with nothing to do, records again.
  WaitForFileClockPastLive();
  RunNothingDue();
  if (HasFatalFailure()) return;
  EXPECT_TRUE(Settled());
}

// Reconcile's read of the versions serves the delivery check of the same
// command only: a later command of one engine (serve runs many) reads them
// again, or a version recorded in between would go unseen by its plan.
TEST_F(EngineReconcileTest, ALaterCommandOfOneEngineSeesVersionsRecordedSince) {
  {
    auto engine = OpenEngine();
    ASSERT_NE(engine, nullptr);
    ImportVersionOne(*engine);
  }
  auto engine = OpenEngine();
  ASSERT_NE(engine, nullptr);
  auto imported = engine->Import({});  // takes the lock: reconciles, all consistent
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  // Version 2 recorded (issued, not deployed) after that command.
  AddVersion(2, store::VersionState::kIssued);
  if (HasFatalFailure()) return;

  RenewOptions all;
  all.all = true;
  auto report = engine->Renew(all);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->certificates.size(), 1u);
  // The plan saw version 2 and deployed it (with a stale read: "not-due").
  EXPECT_EQ(report->certificates[0].decision, "deploy-pending");
  EXPECT_EQ(layout_->LiveVersionNumber("web"), 2);
  EXPECT_EQ(RecordedLive(), 2);
}

// A deploy killed half-way through installing version 2 left one file of it in
// the target directory. The next deploy of version 2 fails at its last step
// (live/ cannot be switched: a full disk), so its targets are rolled back: they
// must hold the recorded live version 1 again, not the leftover file that was
// there when that deploy started.
TEST_F(EngineReconcileTest, RollbackAfterAnInterruptedInstallRestoresTheLiveVersion) {
  std::string target_dir = dir_.path() + "/target";
  ASSERT_TRUE(fs::MakeDirs(target_dir, 0700).ok());
  hooks::TargetConfig files;
  files.name = "files";
  files.type = hooks::TargetType::kFiles;
  files.directory = target_dir;
  config_.deploy = {files};
  CertificateSpec spec;
  spec.name = "web";
  spec.domains = {"web.example.com"};
  spec.deploy = {"files"};
  config_.certificates = {spec};
  std::string roots = dir_.path() + "/roots.pem";
  ASSERT_TRUE(fs::WriteFileAtomic(roots, pki_.root.cert_pem).ok());
  config_.acme.issuer_roots = roots;
  {
    auto engine = OpenEngine();
    ASSERT_NE(engine, nullptr);
    ImportVersionOne(*engine);
    auto deployed = engine->Deploy("web");
    ASSERT_TRUE(deployed.ok() && deployed->error.ok())
        << (deployed.ok() ? deployed->error : deployed.status()).ToString();
  }
  const std::string v1 = *fs::ReadFile(layout_->VersionDir("web", 1) + "/fullchain.pem");
  ASSERT_EQ(*fs::ReadFile(target_dir + "/fullchain.pem"), v1);
  AddVersion(2, store::VersionState::kIssued);
  if (HasFatalFailure()) return;
  // What a kill after the first installed file leaves: that file, and the intent.
  ASSERT_TRUE(fs::WriteFileAtomic(target_dir + "/fullchain.pem",
                                  *fs::ReadFile(layout_->VersionDir("web", 2) + "/fullchain.pem"))
                  .ok());
  ASSERT_TRUE(layout_->RecordDeployIntent("web", 2).ok());

  auto engine = OpenEngine();
  ASSERT_NE(engine, nullptr);
  fs::ArmFault({fs::FaultOp::kRename, 1, ENOSPC, layout_->LiveDir("web")});
  auto deployed = engine->Deploy("web");
  fs::DisarmFault();
  ASSERT_TRUE(deployed.ok()) << deployed.status().ToString();
  EXPECT_FALSE(deployed->error.ok());
  EXPECT_NE(deployed->error.ToString().find(strerror(ENOSPC)), std::string::npos)
      << deployed->error.ToString();
  for (const char* file : {"fullchain.pem", "cert.pem", "chain.pem", "privkey.pem"}) {
    EXPECT_EQ(*fs::ReadFile(target_dir + "/" + file),
              *fs::ReadFile(layout_->VersionDir("web", 1) + "/" + file))
        << file << " is not the live version's";
  }
  EXPECT_EQ(layout_->LiveVersionNumber("web"), 1);
  EXPECT_EQ(RecordedLive(), 1);
  EXPECT_EQ(StateOf(2), "deploy_failed");

  // Without the fault the same deploy finishes.
  auto again = engine->Deploy("web");
  ASSERT_TRUE(again.ok() && again->error.ok())
      << (again.ok() ? again->error : again.status()).ToString();
  EXPECT_EQ(*fs::ReadFile(target_dir + "/fullchain.pem"),
            *fs::ReadFile(layout_->VersionDir("web", 2) + "/fullchain.pem"));
  EXPECT_EQ(layout_->LiveVersionNumber("web"), 2);
  EXPECT_EQ(RecordedLive(), 2);
  EXPECT_FALSE(fs::Exists(layout_->ArchiveDir("web") + "/deploying"));
}

// Two certificates whose targets share one server: "api"'s reload succeeds
// only while "web"'s target holds a consistent version (as nginx refuses a
// reload while one key does not match its certificate). A deploy of "web" v2
// was killed after its first file. The next run that delivers anything
// delivers "web"'s live version again first; when that fails, the run says so.
class InterruptedDeliveryTest : public EngineReconcileTest,
                                public ::testing::WithParamInterface<bool> {};

TEST_P(InterruptedDeliveryTest, AnotherCertificatesDeployFinishesTheInterruptedOneFirst) {
  const bool restore_fails = GetParam();
  const std::string web_dir = dir_.path() + "/web-target", api_dir = dir_.path() + "/api-target";
  ASSERT_TRUE(fs::MakeDirs(web_dir, 0700).ok());
  ASSERT_TRUE(fs::MakeDirs(api_dir, 0700).ok());
  hooks::TargetConfig web_files;
  web_files.name = "web-files";
  web_files.directory = web_dir;
  web_files.reload = {restore_fails ? "/bin/false" : "/bin/true"};
  hooks::TargetConfig api_files;
  api_files.name = "api-files";
  api_files.directory = api_dir;
  // When "web" cannot be repaired, "api" is on a server of its own, so that its
  // deploy succeeds and what fails the run is "web" alone.
  api_files.reload = {"/usr/bin/cmp", "-s", web_dir + "/fullchain.pem",
                      layout_->VersionDir("web", 1) + "/fullchain.pem"};
  if (restore_fails) api_files.reload = {"/bin/true"};
  config_.deploy = {web_files, api_files};
  CertificateSpec web, api;
  web.name = "web";
  web.domains = {"web.example.com"};
  web.deploy = {"web-files"};
  api.name = "api";
  api.domains = {"api.example.com"};
  api.deploy = {"api-files"};
  config_.certificates = {web, api};
  std::string roots = dir_.path() + "/roots.pem";
  ASSERT_TRUE(fs::WriteFileAtomic(roots, pki_.root.cert_pem).ok());
  config_.acme.issuer_roots = roots;
  {
    auto engine = OpenEngine();
    ASSERT_NE(engine, nullptr);
    ImportVersionOne(*engine);
    hooks::Material m = pki_.MakeMaterial("api", {"api.example.com"}, now_);
    std::string from = dir_.path() + "/import/api";
    ASSERT_TRUE(fs::MakeDirs(from, 0700).ok());
    ASSERT_TRUE(fs::WriteFileAtomic(from + "/fullchain.pem", m.fullchain_pem).ok());
    ASSERT_TRUE(fs::WritePrivateFile(from + "/privkey.pem", m.key_pem).ok());
    ASSERT_TRUE(engine->Import({from}).ok());
  }
  for (const char* file : {"fullchain.pem", "cert.pem", "chain.pem", "privkey.pem"}) {
    ASSERT_TRUE(fs::WriteFileAtomic(web_dir + "/" + file,
                                    *fs::ReadFile(layout_->VersionDir("web", 1) + "/" + file))
                    .ok());
  }
  AddVersion(2, store::VersionState::kIssued);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(fs::WriteFileAtomic(web_dir + "/fullchain.pem",
                                  *fs::ReadFile(layout_->VersionDir("web", 2) + "/fullchain.pem"))
                  .ok());
  ASSERT_TRUE(layout_->RecordDeployIntent("web", 2).ok());

  auto engine = OpenEngine();
  ASSERT_NE(engine, nullptr);
  auto deployed = engine->Deploy("api");
  ASSERT_TRUE(deployed.ok()) << deployed.status().ToString();
  if (restore_fails) {
    // "web" could not be repaired: the run fails and names it; its intent stays.
    EXPECT_EQ(deployed->outcome, "deployed");
    EXPECT_FALSE(deployed->error.ok());
    EXPECT_NE(deployed->error.ToString().find("web"), std::string::npos)
        << deployed->error.ToString() << "\nhint: " << deployed->error.hint();
    EXPECT_TRUE(fs::Exists(layout_->ArchiveDir("web") + "/deploying"));
    return;
  }
  EXPECT_TRUE(deployed->error.ok()) << deployed->error.ToString();
  EXPECT_EQ(deployed->outcome, "deployed");
  EXPECT_EQ(*fs::ReadFile(web_dir + "/fullchain.pem"),
            *fs::ReadFile(layout_->VersionDir("web", 1) + "/fullchain.pem"));
  EXPECT_FALSE(fs::Exists(layout_->ArchiveDir("web") + "/deploying"));
  EXPECT_EQ(RecordedLive(), 1);
  EXPECT_EQ(StateOf(2), "issued");  // delivered later by the normal path
  auto history = engine->History("web");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_FALSE(history->empty());
  EXPECT_EQ(history->front().reason,
            "restore version 1 after the deploy of version 2 was interrupted");
  EXPECT_EQ(history->front().outcome, "success");
}

INSTANTIATE_TEST_SUITE_P(Restore, InterruptedDeliveryTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Fails" : "Succeeds");
                         });

}  // namespace
}  // namespace certkeeper::lifecycle
