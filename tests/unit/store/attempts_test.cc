// Attempts with their steps, interrupted attempts, and the audit trail.
#include <string>
#include <vector>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::seconds;

class AttemptsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    AddCertificate("web");
  }
  int64_t Start(const std::string& cert, TimePoint at, const std::string& reason) {
    Attempt a;
    a.certificate = cert;
    a.started_at = at;
    a.server = "https://ca/dir";
    a.reason = reason;
    auto id = inv_->StartAttempt(a);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : -1;
  }
};

TEST_F(AttemptsTest, LatestAttemptsGivesEachCertificatesNewestWithItsSteps) {
  AddCertificate("api");
  AddCertificate("idle");  // no attempt: absent from the map
  int64_t old_web = Start("web", T0(), "old");
  ASSERT_TRUE(inv_->AddAttemptStep(old_web, {0, T0(), "validation", "http-01", "web.example.com",
                                             StepResult::kFailed, "old step", ""})
                  .ok());
  int64_t new_web = Start("web", T0() + seconds(10), "new");
  ASSERT_TRUE(inv_->AddAttemptStep(new_web, {0, T0() + seconds(11), "validation", "dns-01",
                                             "web.example.com", StepResult::kOk, "", ""})
                  .ok());
  ASSERT_TRUE(inv_->AddAttemptStep(new_web, {0, T0() + seconds(12), "hook", "", "nginx",
                                             StepResult::kOk, "", "reloaded"})
                  .ok());
  // Started earlier but recorded later: the newest is by start time, as
  // ListAttempts orders them.
  int64_t api_new = Start("api", T0() + seconds(30), "api new");
  Start("api", T0() + seconds(20), "api older, recorded last");

  auto latest = inv_->LatestAttempts();
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_FALSE(latest->count("idle"));
  const Attempt& web = latest->at("web");
  EXPECT_EQ(web.id, new_web);
  ASSERT_EQ(web.steps.size(), 2u);
  EXPECT_EQ(web.steps[0].challenge_type, "dns-01");
  EXPECT_EQ(web.steps[1].output, "reloaded");
  EXPECT_EQ(latest->at("api").id, api_new);
  EXPECT_TRUE(latest->at("api").steps.empty());

  // The same answer as the per-certificate query.
  for (const char* name : {"web", "api"}) {
    auto one = inv_->ListAttempts(name, 1);
    ASSERT_TRUE(one.ok() && one->size() == 1u);
    EXPECT_EQ(one->front().id, latest->at(name).id) << name;
    EXPECT_EQ(one->front().steps.size(), latest->at(name).steps.size()) << name;
  }
}

TEST_F(AttemptsTest, FullAttemptRoundTrips) {
  int64_t id = Start("web", T0(), "not yet issued");
  AttemptStep check{0, T0() + seconds(1), "self-check", "http-01", "web.example.com",
                    StepResult::kFailed, "port 80 in use", ""};
  AttemptStep validate{0, T0() + seconds(2), "validation", "dns-01", "web.example.com",
                       StepResult::kOk, "", ""};
  AttemptStep hook{0, T0() + seconds(3), "hook", "", "local-nginx", StepResult::kOk, "",
                   "reloaded\n"};
  EXPECT_EQ(*inv_->AddAttemptStep(id, check), 1);
  EXPECT_EQ(*inv_->AddAttemptStep(id, validate), 2);
  EXPECT_EQ(*inv_->AddAttemptStep(id, hook), 3);

  auto running = inv_->GetAttempt(id);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->outcome, AttemptOutcome::kRunning);
  EXPECT_FALSE(running->finished_at.has_value());

  AttemptEnd end;
  end.finished_at = T0() + seconds(4);
  end.outcome = AttemptOutcome::kSuccess;
  end.version = 1;
  ASSERT_TRUE(inv_->FinishAttempt(id, end).ok());

  auto a = inv_->GetAttempt(id);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->certificate, "web");
  EXPECT_EQ(a->reason, "not yet issued");
  EXPECT_EQ(a->server, "https://ca/dir");
  EXPECT_EQ(a->started_at, T0());
  EXPECT_EQ(a->finished_at, T0() + seconds(4));
  EXPECT_EQ(a->outcome, AttemptOutcome::kSuccess);
  EXPECT_EQ(a->version, 1);
  ASSERT_EQ(a->steps.size(), 3u);
  EXPECT_EQ(a->steps[0].kind, "self-check");
  EXPECT_EQ(a->steps[0].result, StepResult::kFailed);
  EXPECT_EQ(a->steps[0].error, "port 80 in use");
  EXPECT_EQ(a->steps[1].challenge_type, "dns-01");
  EXPECT_EQ(a->steps[2].identifier, "local-nginx");
  EXPECT_EQ(a->steps[2].output, "reloaded\n");
  EXPECT_EQ(a->steps[2].at, T0() + seconds(3));
}

TEST_F(AttemptsTest, FailedAttemptKeepsProblemAndRetryAfter) {
  int64_t id = Start("web", T0(), "expires in 10d");
  AttemptEnd end;
  end.finished_at = T0() + seconds(9);
  end.outcome = AttemptOutcome::kFailed;
  end.error_type = "urn:ietf:params:acme:error:rateLimited";
  end.error_detail = "too many certificates";
  end.retry_after = T0() + std::chrono::hours(3);
  ASSERT_TRUE(inv_->FinishAttempt(id, end).ok());
  auto a = inv_->GetAttempt(id);
  EXPECT_EQ(a->error_type, end.error_type);
  EXPECT_EQ(a->error_detail, end.error_detail);
  EXPECT_EQ(a->retry_after, end.retry_after);
  EXPECT_FALSE(a->version.has_value());
}

TEST_F(AttemptsTest, FinishedAttemptCannotBeFinishedOrExtendedAgain) {
  int64_t id = Start("web", T0(), "forced");
  AttemptEnd end{T0(), AttemptOutcome::kDeferred, "", "", std::nullopt, std::nullopt};
  ASSERT_TRUE(inv_->FinishAttempt(id, end).ok());
  end.outcome = AttemptOutcome::kSuccess;
  EXPECT_EQ(inv_->FinishAttempt(id, end).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(inv_->GetAttempt(id)->outcome, AttemptOutcome::kDeferred);
  EXPECT_EQ(inv_->AddAttemptStep(id, AttemptStep{0, T0(), "order", "", "",
                                                 StepResult::kOk, "", ""})
                .status()
                .code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(inv_->FinishAttempt(id + 100, end).code(), ErrorCode::kNotFound);
  end.outcome = AttemptOutcome::kRunning;
  EXPECT_EQ(inv_->FinishAttempt(id, end).code(), ErrorCode::kInvalidArgument);
}

TEST_F(AttemptsTest, AttemptForUnknownCertificateIsRefused) {
  Attempt a;
  a.certificate = "nope";
  a.server = "https://ca/dir";
  EXPECT_EQ(inv_->StartAttempt(a).status().code(), ErrorCode::kNotFound);
}

TEST_F(AttemptsTest, ListIsNewestFirstPerCertificateWithLimit) {
  AddCertificate("api");
  int64_t first = Start("web", T0(), "not yet issued");
  int64_t other = Start("api", T0() + seconds(5), "not yet issued");
  int64_t second = Start("web", T0() + seconds(10), "forced");
  auto all = inv_->ListAttempts("web", 0);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, second);
  EXPECT_EQ((*all)[1].id, first);
  auto one = inv_->ListAttempts("web", 1);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, second);
  EXPECT_EQ(inv_->ListAttempts("api", 0)->front().id, other);
}

TEST_F(AttemptsTest, InterruptedAttemptsAreClosedAsFailed) {
  int64_t finished = Start("web", T0(), "forced");
  ASSERT_TRUE(inv_->FinishAttempt(finished, AttemptEnd{T0(), AttemptOutcome::kSuccess, "", "",
                                                       std::nullopt, 1})
                  .ok());
  int64_t left_running = Start("web", T0() + seconds(1), "expires in 10d");

  // A new process opens the same inventory after the old one was killed.
  inv_.reset();
  auto reopened = OpenAgain();
  ASSERT_TRUE(reopened.ok());
  SqlInventory& inv = **reopened;
  TimePoint now = T0() + std::chrono::hours(1);
  EXPECT_EQ(*inv.CloseInterruptedAttempts(now, std::nullopt), 1);
  EXPECT_EQ(*inv.CloseInterruptedAttempts(now, std::nullopt), 0);


  auto closed = inv.GetAttempt(left_running);
  EXPECT_EQ(closed->outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(closed->error_type, "interrupted");
  EXPECT_FALSE(closed->error_detail.empty());
  EXPECT_EQ(closed->finished_at, now);
  EXPECT_EQ(inv.GetAttempt(finished)->outcome, AttemptOutcome::kSuccess);
}

TEST_F(AttemptsTest, LongOutputIsCutKeepingTheEnd) {
  int64_t id = Start("web", T0(), "forced");
  std::string output(kMaxStepOutputBytes * 3, 'x');
  output += "the real error";
  AttemptStep step{0, T0(), "hook", "", "", StepResult::kFailed, "exit 1", output};
  ASSERT_TRUE(inv_->AddAttemptStep(id, step).ok());
  std::string stored = inv_->GetAttempt(id)->steps.at(0).output;
  EXPECT_LE(stored.size(), kMaxStepOutputBytes);
  EXPECT_EQ(stored.rfind("the real error"), stored.size() - 14);
  EXPECT_EQ(stored.find("bytes cut]"), stored.find(']') - 9);

  std::string short_output = "short";
  step.output = short_output;
  ASSERT_TRUE(inv_->AddAttemptStep(id, step).ok());
  EXPECT_EQ(inv_->GetAttempt(id)->steps.at(1).output, short_output);
}


TEST_F(AttemptsTest, InAFleetAHostClosesOnlyItsOwnInterruptedAttempts) {
  AddCertificate("web");
  Attempt mine;
  mine.certificate = "web";
  mine.started_at = clock_.Now();
  mine.server = "https://ca/dir";
  mine.host = "edge-1";
  Attempt theirs = mine;
  theirs.host = "edge-2";
  auto my_id = inv_->StartAttempt(mine);
  auto their_id = inv_->StartAttempt(theirs);
  ASSERT_TRUE(my_id.ok() && their_id.ok());
  auto closed = inv_->CloseInterruptedAttempts(clock_.Now(), std::string_view("edge-1"));
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(*closed, 1);
  EXPECT_EQ(inv_->GetAttempt(*my_id)->outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(inv_->GetAttempt(*their_id)->outcome, AttemptOutcome::kRunning);
}

class EventsTest : public StoreTest {};

TEST_F(EventsTest, ListNewestFirstFilteredByCertificate) {
  ASSERT_TRUE(inv_->AddEvent({0, T0(), "web", "issued", "version 1 issued"}).ok());
  ASSERT_TRUE(inv_->AddEvent({0, T0() + seconds(1), std::nullopt, "account",
                              "account registered"})
                  .ok());
  ASSERT_TRUE(inv_->AddEvent({0, T0() + seconds(2), "web", "deployed", "to local-nginx"})
                  .ok());
  auto web = inv_->ListEvents(std::string("web"), 0);
  ASSERT_EQ(web->size(), 2u);
  EXPECT_EQ((*web)[0].kind, "deployed");
  EXPECT_EQ((*web)[1].kind, "issued");
  auto all = inv_->ListEvents(std::nullopt, 0);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_FALSE((*all)[1].certificate.has_value());
  EXPECT_EQ((*all)[1].at, T0() + seconds(1));
  EXPECT_EQ(inv_->ListEvents(std::nullopt, 1)->size(), 1u);
  EXPECT_EQ(inv_->AddEvent({0, T0(), std::nullopt, "", "x"}).status().code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace certkeeper::store::testing
