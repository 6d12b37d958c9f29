// Which SQLite commits sync the write-ahead log (docs/store.md, "What is
// synced, and when"), seen through the file-system fault seam: the inventory's
// syncs go through a SQLite VFS that fails the nth sync of certkeeper.db-wal
// when a plan is armed, so "this call synced" is "this call failed with the
// injected EIO", and "this call did not sync" is "the plan never fired".
#include <gtest/gtest.h>
#include <errno.h>
#include <string.h>

#include <chrono>
#include <functional>
#include <string>

#include "base/fault_injection.h"
#include "store/sql_inventory.h"
#include "tests/unit/store/store_test_util.h"

namespace certkeeper::store {
namespace {

using std::chrono::seconds;
using testing::SampleSpec;
using testing::SampleVersion;
using testing::T0;

constexpr const char* kLog = "certkeeper.db-wal";

class SyncPolicyTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    // Armed with a plan that never fires before the inventory opens, so that
    // the connection uses the fault VFS (as certkeeper does with
    // CERTKEEPER_FAULT); the schema's commits are synced before any row.
    fs::ArmFault({fs::FaultOp::kSync, 1, EIO, "no such path"});
    StoreTest::SetUp();
    AddCertificate("web");
  }
  void TearDown() override { fs::DisarmFault(); }

  // Fails the nth sync of the log from now on.
  void FailLogSync(int nth) { fs::ArmFault({fs::FaultOp::kSync, nth, EIO, kLog}); }

  int64_t StartAttempt() {
    Attempt a;
    a.certificate = "web";
    a.started_at = T0();
    a.server = "https://ca/dir";
    a.reason = "due";
    auto id = inv_->StartAttempt(a);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : -1;
  }
};

// What a run writes while it talks to the CA: history and hints, written
// without a sync of their own.
TEST_F(SyncPolicyTest, AttemptsStepsEventsSchedulesBudgetsAndPendingOrdersDoNotSync) {
  FailLogSync(1);
  int64_t attempt = StartAttempt();
  ASSERT_GT(attempt, 0);
  EXPECT_TRUE(inv_->AddAttemptStep(attempt, {0, T0(), "validation", "http-01",
                                             "web.example.com", StepResult::kOk, "", ""})
                  .ok());
  EXPECT_TRUE(inv_->SetPendingOrder("web", {"https://ca/order/1", "/state/pending.key", T0()})
                  .ok());
  EXPECT_TRUE(inv_->RecordRequest({"https://ca/dir", "https://ca/acct/1",
                                   RequestKind::kNewOrder, "web.example.com", T0()})
                  .ok());
  Schedule schedule;
  schedule.next_attempt_at = T0() + seconds(3600);
  EXPECT_TRUE(inv_->SetSchedule("web", schedule).ok());
  EXPECT_TRUE(inv_->AddEvent({0, T0(), "web", "issued", "version 1"}).ok());
  AttemptEnd end;
  end.finished_at = T0() + seconds(1);
  end.outcome = AttemptOutcome::kSuccess;
  EXPECT_TRUE(inv_->FinishAttempt(attempt, end).ok());
  EXPECT_TRUE(inv_->PutCertificate(SampleSpec("api")).ok());
  EXPECT_EQ(fs::InjectedFaultCount(), 0) << "one of them synced the log";
}

// The records the crash recovery trusts, or that record what the CA did
// already: each one syncs the log before it returns OK.
struct SyncedRow {
  const char* name;
  std::function<Status(SqlInventory&)> write;
};

class SyncedWrites : public SyncPolicyTest, public ::testing::WithParamInterface<SyncedRow> {};

TEST_P(SyncedWrites, SyncTheLogAndReportAFailedSyncWithItsCause) {
  // Version 1 exists for the rows that change it.
  ASSERT_TRUE(inv_->AddVersion(SampleVersion("web", 1)).ok());
  FailLogSync(1);
  Status s = GetParam().write(*inv_);
  ASSERT_FALSE(s.ok()) << "the write did not sync the log";
  EXPECT_EQ(fs::InjectedFaultCount(), 1);
  EXPECT_EQ(s.code(), ErrorCode::kIo) << s.ToString();
  EXPECT_NE(s.ToString().find(strerror(EIO)), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find(db_path() + "-wal"), std::string::npos) << s.ToString();
  // One sync failed, not the log: the next synced write goes through.
  Status next = inv_->PutAccount({"https://other/dir", "https://other/acct/9", "/k9", "",
                                  "valid", {}});
  EXPECT_TRUE(next.ok()) << next.ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Rows, SyncedWrites,
    ::testing::Values(
        SyncedRow{"AddVersion",
                  [](SqlInventory& inv) { return inv.AddVersion(SampleVersion("web", 2)); }},
        SyncedRow{"SetVersionStateDeployed",
                  [](SqlInventory& inv) {
                    return inv.SetVersionState("web", 1, VersionState::kDeployed);
                  }},
        SyncedRow{"RevokeVersion",
                  [](SqlInventory& inv) {
                    return inv.RevokeVersion("web", 1, T0(), "keyCompromise");
                  }},
        SyncedRow{"PutAccount",
                  [](SqlInventory& inv) {
                    return inv.PutAccount(
                        {"https://ca/dir", "https://ca/acct/1", "/k1", "", "valid", {}});
                  }}),
    [](const ::testing::TestParamInfo<SyncedRow>& info) { return std::string(info.param.name); });

// A transaction that records a version with the order's steps and budgets is
// one commit and one sync: the first sync fails it, a second one never comes.
TEST_F(SyncPolicyTest, ATransactionWithASyncedWriteSyncsOnceForAll) {
  int64_t attempt = StartAttempt();
  auto record = [&](int n) {
    return inv_->Transaction([&]() -> Status {
      CK_RETURN_IF_ERROR(inv_->AddAttemptStep(
          attempt, {0, T0(), "finalize", "", "", StepResult::kOk, "", ""}).status());
      CK_RETURN_IF_ERROR(inv_->AddVersion(SampleVersion("web", n)));
      CK_RETURN_IF_ERROR(inv_->ClearPendingOrder("web"));
      return inv_->RecordRequest({"https://ca/dir", "https://ca/acct/1",
                                  RequestKind::kCertificate, "web.example.com", T0()});
    });
  };
  FailLogSync(2);
  ASSERT_TRUE(record(1).ok());
  EXPECT_EQ(fs::InjectedFaultCount(), 0) << "the transaction synced more than once";
  FailLogSync(1);
  EXPECT_FALSE(record(2).ok()) << "the transaction did not sync";
  EXPECT_EQ(fs::InjectedFaultCount(), 1);
}

// Nothing waits beyond the inventory's life: closing it syncs what the lazy
// commits wrote.
TEST_F(SyncPolicyTest, ClosingTheInventorySyncsTheLazyCommits) {
  ASSERT_GT(StartAttempt(), 0);
  EXPECT_TRUE(inv_->AddEvent({0, T0(), "web", "issued", "version 1"}).ok());
  FailLogSync(1);
  inv_.reset();
  EXPECT_EQ(fs::InjectedFaultCount(), 1) << "the log was not synced at close";
  // What was committed is there, whatever the sync said.
  auto reopened = OpenAgain();
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto attempts = (*reopened)->ListAttempts("web", 10);
  ASSERT_TRUE(attempts.ok()) << attempts.status().ToString();
  EXPECT_EQ(attempts->size(), 1u);
}

}  // namespace
}  // namespace certkeeper::store
