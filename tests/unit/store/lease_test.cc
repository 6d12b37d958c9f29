// The lease seam over the state directory's flock (store/lease.h, FileLeases):
// the run lease is re-entrant in one object and refused to a second object and
// to a second process, naming the holder; claims need the run lease and are
// exclusive per certificate; destruction releases.
#include <unistd.h>

#include <chrono>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "store/lease.h"
#include "store/run_lock.h"
#include "tests/unit/store/child_process.h"

namespace certkeeper::store {
namespace {

using std::chrono::minutes;
using testing::TrueInChild;

const std::string& OwnPid() {
  static const std::string pid = "PID " + std::to_string(getpid());
  return pid;
}

TEST(FileLeasesTest, AcquireRunTwiceInOneObjectIsOk) {
  fs::TempDir dir;
  std::unique_ptr<Leases> leases = FileLeases(dir.path());
  EXPECT_FALSE(leases->HoldsRun());
  Status first = leases->AcquireRun();
  ASSERT_TRUE(first.ok()) << first.ToString();
  Status second = leases->AcquireRun();
  EXPECT_TRUE(second.ok()) << second.ToString();
  EXPECT_TRUE(leases->HoldsRun());
}

TEST(FileLeasesTest, SecondObjectOnSameDirectoryIsLockedAndNamesHolder) {
  fs::TempDir dir;
  std::unique_ptr<Leases> first = FileLeases(dir.path());
  ASSERT_TRUE(first->AcquireRun().ok());

  std::unique_ptr<Leases> second = FileLeases(dir.path());
  Status refused = second->AcquireRun();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), ErrorCode::kLocked);
  EXPECT_NE(refused.message().find(OwnPid()), std::string::npos) << refused.message();
  EXPECT_EQ(refused.where(), RunLockPath(dir.path()));
  EXPECT_FALSE(refused.hint().empty());
  EXPECT_FALSE(second->HoldsRun());
  EXPECT_TRUE(first->HoldsRun());
}

TEST(FileLeasesTest, SecondProcessIsRefusedAndNamesHolder) {
  fs::TempDir dir;
  std::unique_ptr<Leases> held = FileLeases(dir.path());
  ASSERT_TRUE(held->AcquireRun().ok());
  EXPECT_TRUE(TrueInChild([&] {
    std::unique_ptr<Leases> other = FileLeases(dir.path());
    Status s = other->AcquireRun();
    return s.code() == ErrorCode::kLocked && s.message().find(OwnPid()) != std::string::npos &&
           !other->HoldsRun() &&
           other->Claim("web", minutes(5)).status().code() != ErrorCode::kOk;
  })) << "a second process got the run lease, or was not told who holds it";
}

TEST(FileLeasesTest, ClaimNeedsTheRunLeaseAndNamesTheCertificate) {
  fs::TempDir dir;
  std::unique_ptr<Leases> leases = FileLeases(dir.path());
  auto before = leases->Claim("web", minutes(5));
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(before.status().where(), RunLockPath(dir.path()));

  ASSERT_TRUE(leases->AcquireRun().ok());
  auto after = leases->Claim("web", minutes(5));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ((*after)->certificate(), "web");
}

TEST(FileLeasesTest, ClaimIsExclusivePerCertificateUntilReleased) {
  fs::TempDir dir;
  std::unique_ptr<Leases> leases = FileLeases(dir.path());
  ASSERT_TRUE(leases->AcquireRun().ok());
  auto web = leases->Claim("web", minutes(5));
  ASSERT_TRUE(web.ok()) << web.status().ToString();

  // Two jobs of one run must not work on one certificate at once.
  auto again = leases->Claim("web", minutes(5));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kLocked);
  EXPECT_NE(again.status().message().find("web"), std::string::npos)
      << again.status().message();
  auto api = leases->Claim("api", minutes(5));
  EXPECT_TRUE(api.ok()) << api.status().ToString();

  web->reset();
  auto released = leases->Claim("web", minutes(5));
  EXPECT_TRUE(released.ok()) << released.status().ToString();
}

TEST(FileLeasesTest, OneOfManyThreadsClaimingOneCertificateGetsIt) {
  fs::TempDir dir;
  std::unique_ptr<Leases> leases = FileLeases(dir.path());
  ASSERT_TRUE(leases->AcquireRun().ok());
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::vector<Result<std::unique_ptr<CertificateClaim>>> claims;
  for (int i = 0; i < kThreads; ++i) claims.emplace_back(Status(ErrorCode::kInternal, "not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      claims[i] = leases->Claim("web", minutes(5));
    });
  }
  for (std::thread& t : threads) t.join();
  int held = 0;
  for (const auto& claim : claims) {
    if (claim.ok()) {
      ++held;
    } else {
      EXPECT_EQ(claim.status().code(), ErrorCode::kLocked) << claim.status().ToString();
    }
  }
  EXPECT_EQ(held, 1);
}

TEST(FileLeasesTest, ClaimRejectsAnEmptyNameAndANonPositiveTtl) {
  fs::TempDir dir;
  std::unique_ptr<Leases> leases = FileLeases(dir.path());
  ASSERT_TRUE(leases->AcquireRun().ok());
  EXPECT_EQ(leases->Claim("", minutes(5)).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(leases->Claim("web", Duration::zero()).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(FileLeasesTest, DestructionReleasesTheRunLease) {
  fs::TempDir dir;
  {
    std::unique_ptr<Leases> first = FileLeases(dir.path());
    ASSERT_TRUE(first->AcquireRun().ok());
    ASSERT_EQ(FileLeases(dir.path())->AcquireRun().code(), ErrorCode::kLocked);
  }
  std::unique_ptr<Leases> next = FileLeases(dir.path());
  Status s = next->AcquireRun();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(TrueInChild([&] {
    return FileLeases(dir.path())->AcquireRun().code() == ErrorCode::kLocked;
  }));
  next.reset();
  EXPECT_TRUE(TrueInChild([&] { return FileLeases(dir.path())->AcquireRun().ok(); }))
      << "another process could not take the released run lease";
}

TEST(FileLeasesTest, ClaimOutlivingItsLeasesIsReleasedSafely) {
  fs::TempDir dir;
  std::unique_ptr<Leases> leases = FileLeases(dir.path());
  ASSERT_TRUE(leases->AcquireRun().ok());
  auto claim = leases->Claim("web", minutes(5));
  ASSERT_TRUE(claim.ok());
  leases.reset();  // the run lease goes first; the claim is destroyed after
  EXPECT_EQ((*claim)->certificate(), "web");
  claim->reset();
  EXPECT_TRUE(FileLeases(dir.path())->AcquireRun().ok());
}

}  // namespace
}  // namespace certkeeper::store
