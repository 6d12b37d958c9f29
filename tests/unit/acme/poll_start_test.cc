// How the first re-check of a poll is timed (PollStart): at the solver's
// event, after the first delay, at the server's Retry-After, and the ordinary
// schedule when the solver has nothing to wait on.
#include <gtest/gtest.h>

#include "acme/client.h"
#include "tests/unit/acme/fake_ca.h"

namespace certkeeper::acme {
namespace {

using std::chrono::milliseconds;
using testing::FakeCa;

class PollStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cert_key = PrivateKey::Generate(KeyType::kEc256);
    ASSERT_TRUE(cert_key.ok());
    ca_ = std::make_shared<FakeCa>(
        testing::MakeCertificate(*cert_key, {"example.com"}, std::string("\x01", 1)));
    ClientOptions options;
    options.directory_url = ca_->directory_url();
    options.clock = &clock_;
    auto client = Client::Create(options, ca_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    client_->SetAccountKey(*PrivateKey::Generate(KeyType::kEc256), "");
    ASSERT_TRUE(client_->NewAccount({.terms_of_service_agreed = true}).ok());
  }

  // An order whose one authorization's challenge was answered.
  std::string RespondedAuthorization() {
    auto order = client_->NewOrder({.identifiers = {"example.com"}});
    EXPECT_TRUE(order.ok());
    order_ = *order;
    auto authz = client_->GetAuthorization(order->authorizations[0]);
    EXPECT_TRUE(authz.ok());
    EXPECT_TRUE(client_->RespondToChallenge(authz->challenges[0].url).ok());
    client_->mutable_stats().Reset();
    return authz->url;
  }

  TimePoint Deadline() { return clock_.Now() + std::chrono::seconds(30); }

  FakeClock clock_{FromUnixSeconds(1'900'000'000)};
  std::shared_ptr<FakeCa> ca_;
  std::unique_ptr<Client> client_;
  Order order_;
};

TEST_F(PollStartTest, TheFirstPollGoesOutRightAfterTheSolversEvent) {
  const std::string url = RespondedAuthorization();
  int waits = 0;
  PollStart start;
  start.wait = [&](TimePoint) {
    ++waits;
    clock_.Advance(milliseconds(1));  // the solver saw the CA's requests
    return true;
  };
  const TimePoint began = clock_.Now();
  auto done = client_->PollAuthorization(url, Deadline(), start);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->status, "valid");
  EXPECT_EQ(waits, 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kPollAuthorization), 1);
  EXPECT_EQ(clock_.Now() - began, milliseconds(1));
}

TEST_F(PollStartTest, TooEarlyAfterTheEventFallsBackToTheSchedule) {
  ca_->authz_pending_polls = 2;
  const std::string url = RespondedAuthorization();
  PollStart start;
  start.wait = [&](TimePoint) {
    clock_.Advance(milliseconds(1));
    return true;
  };
  const TimePoint began = clock_.Now();
  auto done = client_->PollAuthorization(url, Deadline(), start);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(client_->stats().Get(RequestKind::kPollAuthorization), 3);
  // 1 ms of waiting, then poll_initial (never tighter) and its double.
  EXPECT_EQ(clock_.Now() - began, milliseconds(1 + 2 + 4));
}

TEST_F(PollStartTest, ALongWaitContinuesTheScheduleAtItsLength) {
  ca_->authz_pending_polls = 1;
  const std::string url = RespondedAuthorization();
  PollStart start;
  start.wait = [&](TimePoint) {
    clock_.Advance(milliseconds(300));  // the solver's timeout: no request came
    return true;
  };
  const TimePoint began = clock_.Now();
  auto done = client_->PollAuthorization(url, Deadline(), start);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(clock_.Now() - began, milliseconds(300 + 300));
}

TEST_F(PollStartTest, ASolverThatSeesNothingLeavesTheOrdinarySchedule) {
  ca_->authz_pending_polls = 3;
  const std::string url = RespondedAuthorization();
  PollStart start;
  start.wait = [&](TimePoint) { return false; };
  const TimePoint began = clock_.Now();
  auto done = client_->PollAuthorization(url, Deadline(), start);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(client_->stats().Get(RequestKind::kPollAuthorization), 4);
  EXPECT_EQ(clock_.Now() - began, milliseconds(2 + 4 + 8 + 16));
}

TEST_F(PollStartTest, AfterFinalizeTheFirstOrderPollComesEarlyThenDoubles) {
  const std::string url = RespondedAuthorization();
  ASSERT_TRUE(client_->PollAuthorization(url, Deadline()).ok());
  ASSERT_TRUE(client_->PollOrder(order_.url, Deadline()).ok());
  auto csr = CreateCsrDer(*PrivateKey::Generate(KeyType::kEc256), {"example.com"});
  ASSERT_TRUE(csr.ok());
  ca_->order_processing_polls = 2;
  auto finalized = client_->Finalize(order_, *csr);
  ASSERT_TRUE(finalized.ok()) << finalized.status().ToString();
  ASSERT_EQ(finalized->status, "processing");
  EXPECT_FALSE(finalized->retry_after.has_value());
  PollStart start = client_->OrderPollStart(*finalized);
  ASSERT_TRUE(start.first_delay.has_value());
  EXPECT_FALSE(start.retry_at.has_value());
  client_->mutable_stats().Reset();
  const TimePoint began = clock_.Now();
  auto valid = client_->PollOrder(order_.url, Deadline(), start);
  ASSERT_TRUE(valid.ok()) << valid.status().ToString();
  EXPECT_EQ(valid->status, "valid");
  EXPECT_EQ(client_->stats().Get(RequestKind::kPollOrder), 3);
  EXPECT_EQ(clock_.Now() - began,
            std::chrono::duration_cast<Duration>(ClientOptions().order_poll_first) +
                milliseconds(2 + 4));
}

TEST_F(PollStartTest, TheServersRetryAfterOnFinalizeComesFirst) {
  const std::string url = RespondedAuthorization();
  ASSERT_TRUE(client_->PollAuthorization(url, Deadline()).ok());
  ASSERT_TRUE(client_->PollOrder(order_.url, Deadline()).ok());
  auto csr = CreateCsrDer(*PrivateKey::Generate(KeyType::kEc256), {"example.com"});
  ASSERT_TRUE(csr.ok());
  ca_->order_processing_polls = 1;
  ca_->finalize_retry_after = "2";
  ca_->poll_retry_after = "2";
  auto finalized = client_->Finalize(order_, *csr);
  ASSERT_TRUE(finalized.ok()) << finalized.status().ToString();
  ASSERT_TRUE(finalized->retry_after.has_value());
  EXPECT_EQ(*finalized->retry_after, clock_.Now() + std::chrono::seconds(2));
  PollStart start = client_->OrderPollStart(*finalized);
  ASSERT_TRUE(start.retry_at.has_value());
  const TimePoint began = clock_.Now();
  auto valid = client_->PollOrder(order_.url, Deadline(), start);
  ASSERT_TRUE(valid.ok()) << valid.status().ToString();
  // Retry-After on finalize, then (still processing) on the poll's answer.
  EXPECT_EQ(clock_.Now() - began, std::chrono::seconds(2 + 2));
}

class OrderPollLearningTest : public PollStartTest {
 protected:
  // A new order, finalized and polled from OrderPollStart; the CA decides it
  // after `processing_polls` looks. The first wait it was given.
  std::chrono::microseconds FinalizeAndPoll(int processing_polls) {
    const std::string url = RespondedAuthorization();
    EXPECT_TRUE(client_->PollAuthorization(url, Deadline()).ok());
    EXPECT_TRUE(client_->PollOrder(order_.url, Deadline()).ok());
    auto csr = CreateCsrDer(*PrivateKey::Generate(KeyType::kEc256), {"example.com"});
    EXPECT_TRUE(csr.ok());
    ca_->order_processing_polls = processing_polls;
    auto finalized = client_->Finalize(order_, *csr);
    EXPECT_TRUE(finalized.ok()) << finalized.status().ToString();
    PollStart start = client_->OrderPollStart(*finalized);
    EXPECT_TRUE(start.first_delay.has_value());
    auto valid = client_->PollOrder(order_.url, Deadline(), start);
    EXPECT_TRUE(valid.ok()) << valid.status().ToString();
    return start.first_delay.value_or(std::chrono::microseconds(0));
  }
};

TEST_F(OrderPollLearningTest, TheFirstLookComesSoonerWhileTheOrderIsDecidedByThen) {
  EXPECT_EQ(FinalizeAndPoll(0), ClientOptions().order_poll_first);
  EXPECT_EQ(FinalizeAndPoll(0), ClientOptions().order_poll_first / 2);
  EXPECT_EQ(FinalizeAndPoll(0), ClientOptions().order_poll_first / 4);  // the floor
  EXPECT_EQ(FinalizeAndPoll(0), ClientOptions().order_poll_floor);
  EXPECT_EQ(FinalizeAndPoll(0), ClientOptions().order_poll_floor);
}

TEST_F(OrderPollLearningTest, AFirstLookTooEarlyDoublesTheWaitForGood) {
  EXPECT_EQ(FinalizeAndPoll(0), ClientOptions().order_poll_first);
  EXPECT_EQ(FinalizeAndPoll(1), ClientOptions().order_poll_first / 2);  // too early
  // The look at the ready order, then the one too early and the next.
  EXPECT_EQ(client_->stats().Get(RequestKind::kPollOrder), 1 + 2);
  EXPECT_EQ(FinalizeAndPoll(0), ClientOptions().order_poll_first);
  EXPECT_EQ(FinalizeAndPoll(0), ClientOptions().order_poll_first);  // not lowered again
}

TEST_F(OrderPollLearningTest, ARetryAfterIsNotLearnedFrom) {
  ca_->finalize_retry_after = "1";
  const std::string url = RespondedAuthorization();
  ASSERT_TRUE(client_->PollAuthorization(url, Deadline()).ok());
  ASSERT_TRUE(client_->PollOrder(order_.url, Deadline()).ok());
  auto csr = CreateCsrDer(*PrivateKey::Generate(KeyType::kEc256), {"example.com"});
  ASSERT_TRUE(csr.ok());
  auto finalized = client_->Finalize(order_, *csr);
  ASSERT_TRUE(finalized.ok());
  PollStart start = client_->OrderPollStart(*finalized);
  EXPECT_FALSE(start.after_first_look);
  ASSERT_TRUE(client_->PollOrder(order_.url, Deadline(), start).ok());
  ca_->finalize_retry_after.clear();
  EXPECT_EQ(FinalizeAndPoll(0), ClientOptions().order_poll_first);
}

}  // namespace
}  // namespace certkeeper::acme
