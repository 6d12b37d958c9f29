// Several threads writing through one inventory, and two connections (as two
// processes would have) updating the same rows.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

constexpr int kThreads = 4;
constexpr int kPerThread = 25;

// Adds one to the shared certificate's failure counter: a read-modify-write
// that loses updates unless the transaction is atomic.
Status Increment(Inventory& inv) {
  return inv.Transaction([&]() -> Status {
    CK_ASSIGN_OR_RETURN(Certificate cert, inv.GetCertificate("shared"));
    Schedule schedule = cert.schedule;
    ++schedule.consecutive_failures;
    return inv.SetSchedule("shared", schedule);
  });
}

class ConcurrencyTest : public StoreTest {};

TEST_F(ConcurrencyTest, FourWritersLoseNothing) {
  AddCertificate("shared");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = "c" + std::to_string(t) + "-" + std::to_string(i);
        bool ok = inv_->PutCertificate(SampleSpec(name)).ok();
        Attempt a;
        a.certificate = name;
        a.server = "https://ca/dir";
        a.started_at = T0();
        auto id = inv_->StartAttempt(a);
        ok = ok && id.ok();
        if (id.ok()) {
          ok = ok && inv_->AddAttemptStep(*id, AttemptStep{0, T0(), "order", "", name,
                                                           StepResult::kOk, "", ""})
                         .ok();
          ok = ok && inv_->FinishAttempt(*id, AttemptEnd{T0(), AttemptOutcome::kSuccess,
                                                         "", "", std::nullopt, std::nullopt})
                         .ok();
        }
        ok = ok && inv_->AddVersion(SampleVersion(name, 1)).ok();
        ok = ok && inv_->RecordRequest({"https://ca/dir", "https://ca/acct/1",
                                        RequestKind::kNewOrder, "", T0()})
                       .ok();
        ok = ok && inv_->AddEvent({0, T0(), name, "issued", "version 1"}).ok();
        ok = ok && Increment(*inv_).ok();
        if (!ok) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  const int total = kThreads * kPerThread;
  EXPECT_EQ(inv_->ListCertificates(false)->size(), static_cast<size_t>(total + 1));
  EXPECT_EQ(inv_->GetCertificate("shared")->schedule.consecutive_failures, total);
  EXPECT_EQ(*inv_->CountSince("https://ca/dir", "", RequestKind::kNewOrder, "", T0()), total);
  EXPECT_EQ(inv_->ListEvents(std::nullopt, 0)->size(), static_cast<size_t>(total));
  for (int t = 0; t < kThreads; ++t) {
    std::string name = "c" + std::to_string(t) + "-0";
    auto attempts = inv_->ListAttempts(name, 0);
    ASSERT_EQ(attempts->size(), 1u) << name;
    EXPECT_EQ((*attempts)[0].steps.size(), 1u);
    EXPECT_EQ(inv_->LatestVersion(name)->n, 1);
  }
}

TEST_F(ConcurrencyTest, TwoConnectionsSerialiseTransactions) {
  AddCertificate("shared");
  auto second = OpenAgain();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    Inventory& inv = t % 2 == 0 ? static_cast<Inventory&>(*inv_) : **second;
    threads.emplace_back([&failures, &inv] {
      for (int i = 0; i < kPerThread; ++i) {
        Status s = Increment(inv);
        if (!s.ok()) {
          ADD_FAILURE() << s.ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*second)->GetCertificate("shared")->schedule.consecutive_failures,
            kThreads * kPerThread);
}

}  // namespace
}  // namespace certkeeper::store::testing
