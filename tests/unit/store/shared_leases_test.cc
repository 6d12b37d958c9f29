// SharedLeases over the inventory's lease rows: two "hosts" (two connections
// to one inventory, two state directories) never hold one certificate at
// once; a claim is renewed while held, released when destroyed, and lost
// when it could not be renewed before another host took it. Run against
// SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/fs.h"
#include "store/lease.h"
#include "tests/e2e/child_process.h"
#include "tests/unit/store/store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::seconds;

class SharedLeasesTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto second = OpenAgain();
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    other_inv_ = std::move(*second);
    edge1_ = SharedLeases(dir_.path(), inv_.get(), "edge-1", &clock_);
    edge2_ = SharedLeases(other_dir_.path(), other_inv_.get(), "edge-2", &clock_);
  }
  void TearDown() override {
    edge1_.reset();
    edge2_.reset();
  }

  fs::TempDir other_dir_;
  std::unique_ptr<SqlInventory> other_inv_;
  std::unique_ptr<Leases> edge1_;
  std::unique_ptr<Leases> edge2_;
};

TEST_F(SharedLeasesTest, ACertificateHasOneHolderAcrossHosts) {
  auto claim = edge1_->Claim("web", seconds(60));
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  EXPECT_TRUE((*claim)->Check().ok());

  auto refused = edge2_->Claim("web", seconds(60));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kLocked);
  EXPECT_NE(refused.status().ToString().find("edge-1"), std::string::npos)
      << refused.status().ToString();
  // Within one host too: two jobs never hold one certificate.
  EXPECT_EQ(edge1_->Claim("web", seconds(60)).status().code(), ErrorCode::kLocked);
  // Other certificates proceed in parallel.
  auto api = edge2_->Claim("api", seconds(60));
  EXPECT_TRUE(api.ok()) << api.status().ToString();

  claim->reset();  // released: free at once
  auto taken = edge2_->Claim("web", seconds(60));
  EXPECT_TRUE(taken.ok()) << taken.status().ToString();
}

TEST_F(SharedLeasesTest, AClaimIsRenewedWhileHeld) {
  auto claim = edge1_->Claim("web", seconds(30));
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  // Past a third of the ttl the renewing thread extends the lease; two
  // thirds of the ttl later it would have run out without that.
  clock_.Advance(seconds(11));
  bool renewed = child_process::WaitFor(
      [&] {
        auto leases = inv_->ListLeases();
        return leases.ok() && leases->size() == 1 &&
               (*leases)[0].expires_at >= clock_.Now() + seconds(29);
      },
      std::chrono::milliseconds(20000));
  ASSERT_TRUE(renewed);
  clock_.Advance(seconds(25));  // 36 s after the claim: alive only if renewed
  EXPECT_EQ(edge2_->Claim("web", seconds(30)).status().code(), ErrorCode::kLocked);
  EXPECT_TRUE((*claim)->Check().ok());
}

TEST_F(SharedLeasesTest, AHostThatStoppedRenewingLosesItsClaim) {
  // edge-1 takes the lease and then its process "dies": the lease row stays
  // without anyone renewing it.
  auto taken = inv_->TryLease("web", "edge-1", "dead-token", clock_.Now(),
                              clock_.Now() + seconds(30));
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(edge2_->Claim("web", seconds(30)).status().code(), ErrorCode::kLocked);
  clock_.Advance(seconds(31));
  auto resumed = edge2_->Claim("web", seconds(30));
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_TRUE((*resumed)->Check().ok());
}

TEST_F(SharedLeasesTest, AClaimTakenOverAfterItRanOutReportsLost) {
  auto claim = edge1_->Claim("web", seconds(30));
  ASSERT_TRUE(claim.ok());
  // The clock jumps past the ttl before the renewing thread ran (a host
  // paused for longer than its lease): edge-2 takes the lease over.
  clock_.Advance(seconds(31));
  auto other = other_inv_->TryLease("web", "edge-2", "edge-2-token", clock_.Now(),
                                    clock_.Now() + seconds(30));
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->token, "edge-2-token");
  bool lost = child_process::WaitFor([&] { return !(*claim)->Check().ok(); }, std::chrono::milliseconds(20000));
  ASSERT_TRUE(lost);
  EXPECT_EQ((*claim)->Check().code(), ErrorCode::kLocked);
  claim->reset();  // releasing a lost claim leaves edge-2's lease alone
  auto leases = inv_->ListLeases();
  ASSERT_TRUE(leases.ok());
  ASSERT_EQ(leases->size(), 1u);
  EXPECT_EQ((*leases)[0].token, "edge-2-token");
}

TEST_F(SharedLeasesTest, TheRunLeaseStaysThisStateDirectorysFlock) {
  ASSERT_TRUE(edge1_->AcquireRun().ok());
  EXPECT_TRUE(edge1_->HoldsRun());
  auto same_dir = SharedLeases(dir_.path(), inv_.get(), "edge-1", &clock_);
  EXPECT_EQ(same_dir->AcquireRun().code(), ErrorCode::kLocked);
  EXPECT_TRUE(edge2_->AcquireRun().ok()) << "another host's state directory is its own";
}

}  // namespace
}  // namespace certkeeper::store::testing
