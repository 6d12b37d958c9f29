// The alert state machine over a real (temporary) SQLite inventory and a fake
// clock: fires once, resolves once, groups, stays quiet, backs off after a
// failed delivery and never fails the evaluation because a target failed.
#include "lifecycle/alerts.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/fs.h"
#include "lifecycle/config_check.h"
#include "store/sql_inventory.h"

namespace certkeeper::lifecycle {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// Records every notification; fails while `fail` is set.
class RecordingSender : public AlertSender {
 public:
  Status Send(const AlertSettings& alert, const AlertNotification& n) override {
    sent.push_back(n);
    if (fail || alert.name == failing_alert) {
      return Status(ErrorCode::kUnavailable, "target down");
    }
    return Status::Ok();
  }
  std::vector<AlertNotification> sent;
  bool fail = false;
  std::string failing_alert;
};

class AlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inv = store::SqlInventory::Open(dir_.path() + "/certkeeper.db");
    ASSERT_TRUE(inv.ok()) << inv.status().ToString();
    inventory_ = std::move(*inv);
    AlertSettings alert;
    alert.name = "ops";
    alert.type = "command";
    alert.failures = 1;
    config_.alerts = {alert};
    ctx_.config = &config_;
    ctx_.clock = &clock_;
    ctx_.inventory = inventory_.get();
  }

  // A snapshot in which the named certificates fail to renew.
  MonitorSnapshot Failing(const std::vector<std::string>& names) {
    MonitorSnapshot s;
    s.now = clock_.Now();
    for (const std::string& name : names) {
      CertificateView c;
      c.name = name;
      c.consecutive_failures = 1;
      s.certificates.push_back(c);
    }
    return s;
  }

  AlertReport Evaluate(const MonitorSnapshot& s) {
    auto r = Alerter(ctx_, &sender_).Evaluate(s);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : AlertReport{};
  }

  std::vector<store::AlertState> Rows() {
    auto rows = inventory_->ListAlertStates();
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<store::AlertState>{};
  }

  fs::TempDir dir_;
  FakeClock clock_{FromUnixSeconds(1'800'000'000)};
  Config config_;
  EngineContext ctx_;
  std::unique_ptr<store::SqlInventory> inventory_;
  RecordingSender sender_;
};

TEST_F(AlertsTest, FiresOnceOverTwoEvaluationsInTheSameCondition) {
  AlertReport first = Evaluate(Failing({"web"}));
  ASSERT_EQ(sender_.sent.size(), 1u);
  EXPECT_EQ(sender_.sent[0].firing.size(), 1u);
  EXPECT_EQ(sender_.sent[0].firing[0].event, "renewal-failing");
  EXPECT_EQ(sender_.sent[0].firing[0].subject, "web");
  ASSERT_EQ(first.deliveries.size(), 1u);
  EXPECT_EQ(first.deliveries[0].firing, 1);
  clock_.Advance(minutes(10));
  AlertReport second = Evaluate(Failing({"web"}));
  EXPECT_EQ(sender_.sent.size(), 1u);
  EXPECT_TRUE(second.deliveries.empty());
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, "firing");
  EXPECT_TRUE(rows[0].notified);
  EXPECT_EQ(rows[0].since, FromUnixSeconds(1'800'000'000));
}

TEST_F(AlertsTest, ResolvesOnceWhenTheConditionEnds) {
  Evaluate(Failing({"web"}));
  clock_.Advance(minutes(5));
  Evaluate(Failing({}));
  ASSERT_EQ(sender_.sent.size(), 2u);
  EXPECT_TRUE(sender_.sent[1].firing.empty());
  ASSERT_EQ(sender_.sent[1].resolved.size(), 1u);
  EXPECT_EQ(sender_.sent[1].resolved[0].subject, "web");
  EXPECT_EQ(sender_.sent[1].resolved[0].ended_at, clock_.Now());
  EXPECT_TRUE(Rows().empty());
  Evaluate(Failing({}));
  EXPECT_EQ(sender_.sent.size(), 2u);
}

TEST_F(AlertsTest, GroupsEveryConditionOfARunInOneNotification) {
  Evaluate(Failing({"web", "api", "mail"}));
  ASSERT_EQ(sender_.sent.size(), 1u);
  EXPECT_EQ(sender_.sent[0].firing.size(), 3u);
  // One ends and another starts in the same run: one notification with both.
  Evaluate(Failing({"web", "api", "db"}));
  ASSERT_EQ(sender_.sent.size(), 2u);
  ASSERT_EQ(sender_.sent[1].firing.size(), 1u);
  EXPECT_EQ(sender_.sent[1].firing[0].subject, "db");
  ASSERT_EQ(sender_.sent[1].resolved.size(), 1u);
  EXPECT_EQ(sender_.sent[1].resolved[0].subject, "mail");
}

TEST_F(AlertsTest, QuietWindowSuppressesAndSendsWhatIsStillPendingAfter) {
  config_.alerts[0].quiet_until = clock_.Now() + minutes(30);
  Evaluate(Failing({"web", "api"}));
  clock_.Advance(minutes(10));
  // "api" started and ended inside the window: nobody hears of it.
  Evaluate(Failing({"web"}));
  EXPECT_TRUE(sender_.sent.empty());
  EXPECT_EQ(Rows().size(), 1u);
  clock_.Advance(minutes(30));
  Evaluate(Failing({"web"}));
  ASSERT_EQ(sender_.sent.size(), 1u);
  ASSERT_EQ(sender_.sent[0].firing.size(), 1u);
  EXPECT_EQ(sender_.sent[0].firing[0].subject, "web");
  EXPECT_EQ(sender_.sent[0].firing[0].since, FromUnixSeconds(1'800'000'000));
}

TEST_F(AlertsTest, FailedDeliveryStaysPendingWithBackoffAndNeverFailsEvaluate) {
  sender_.fail = true;
  AlertReport r = Evaluate(Failing({"web"}));
  ASSERT_EQ(r.deliveries.size(), 1u);
  EXPECT_FALSE(r.deliveries[0].status.ok());
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].notified);
  EXPECT_EQ(rows[0].failures, 1);
  EXPECT_EQ(rows[0].next_try_at, clock_.Now() + minutes(1));
  EXPECT_NE(rows[0].last_error.find("target down"), std::string::npos);
  auto events = inventory_->ListEvents(std::nullopt, 0);
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->front().kind, "alert-failed");

  // Inside the backoff: not even tried.
  clock_.Advance(seconds(30));
  Evaluate(Failing({"web"}));
  EXPECT_EQ(sender_.sent.size(), 1u);
  // After it: tried again, fails again, the wait doubles.
  clock_.Advance(seconds(31));
  Evaluate(Failing({"web"}));
  EXPECT_EQ(sender_.sent.size(), 2u);
  rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].failures, 2);
  EXPECT_EQ(rows[0].next_try_at, clock_.Now() + minutes(2));
  // The target is back: the firing goes out once, the failures are cleared.
  sender_.fail = false;
  clock_.Advance(minutes(3));
  Evaluate(Failing({"web"}));
  ASSERT_EQ(sender_.sent.size(), 3u);
  rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].notified);
  EXPECT_EQ(rows[0].failures, 0);
  EXPECT_FALSE(rows[0].next_try_at.has_value());
}

TEST_F(AlertsTest, AFailingTargetDoesNotKeepTheOtherAlertsFromTheirNotification) {
  AlertSettings second = config_.alerts[0];
  second.name = "second";
  config_.alerts.push_back(second);
  sender_.failing_alert = "ops";
  AlertReport r = Evaluate(Failing({"web"}));
  ASSERT_EQ(r.deliveries.size(), 2u);
  EXPECT_FALSE(r.deliveries[0].status.ok());
  EXPECT_TRUE(r.deliveries[1].status.ok()) << r.deliveries[1].status.ToString();
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[0].notified);  // "ops": pending, retried later
  EXPECT_TRUE(rows[1].notified);   // "second": delivered
}

TEST_F(AlertsTest, RolledBackIsReadFromTheNewestDeliveryNotALaterDeferral) {
  config_.alerts[0].events = {"rolled-back"};
  store::CertificateSpec spec;
  spec.name = "web";
  spec.domains = {"web.example.com"};
  spec.key_type = "ec256";
  spec.challenges = {"http-01"};
  spec.deploy_targets = {"nginx"};
  spec.server = "https://ca.example/dir";
  ASSERT_TRUE(inventory_->PutCertificate(spec).ok());
  store::Attempt deliver;
  deliver.certificate = "web";
  deliver.started_at = clock_.Now();
  deliver.server = "https://ca.example/dir";
  deliver.reason = "deliver version 2";
  auto id = inventory_->StartAttempt(deliver);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  store::AttemptStep step;
  step.at = clock_.Now();
  step.kind = "rollback";
  step.identifier = "nginx";
  ASSERT_TRUE(inventory_->AddAttemptStep(*id, step).ok());
  store::AttemptEnd end;
  end.finished_at = clock_.Now();
  end.outcome = store::AttemptOutcome::kFailed;
  ASSERT_TRUE(inventory_->FinishAttempt(*id, end).ok());
  clock_.Advance(minutes(1));
  store::Attempt deferral = deliver;
  deferral.started_at = clock_.Now();
  auto later = inventory_->StartAttempt(deferral);
  ASSERT_TRUE(later.ok());
  end.finished_at = clock_.Now();
  end.outcome = store::AttemptOutcome::kDeferred;
  ASSERT_TRUE(inventory_->FinishAttempt(*later, end).ok());

  MonitorSnapshot s = Failing({});
  CertificateView c;
  c.name = "web";
  c.deploy = {"nginx"};
  VersionView live, newest;
  live.n = 1;
  newest.n = 2;
  newest.state = "deploy_failed";
  c.live = live;
  c.newest = newest;
  c.last_attempt = AttemptView{};  // the deferral
  s.certificates = {c};
  Evaluate(s);
  ASSERT_EQ(sender_.sent.size(), 1u);
  ASSERT_EQ(sender_.sent[0].firing.size(), 1u);
  EXPECT_EQ(sender_.sent[0].firing[0].event, "rolled-back");
}

TEST_F(AlertsTest, AConditionThatEndsBeforeItsFiringWasDeliveredIsDroppedSilently) {
  sender_.fail = true;
  Evaluate(Failing({"web"}));
  sender_.fail = false;
  clock_.Advance(minutes(2));
  Evaluate(Failing({}));
  EXPECT_EQ(sender_.sent.size(), 1u);  // only the failed try
  EXPECT_TRUE(Rows().empty());
}

TEST_F(AlertsTest, AConditionBackBeforeItsResolvedWasDeliveredIsNotSentAgain) {
  Evaluate(Failing({"web"}));
  sender_.fail = true;
  Evaluate(Failing({}));  // the resolved fails to go out
  sender_.fail = false;
  clock_.Advance(minutes(2));
  Evaluate(Failing({"web"}));
  EXPECT_EQ(sender_.sent.size(), 2u);
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, "firing");
  EXPECT_TRUE(rows[0].notified);
}

TEST_F(AlertsTest, NotificationsAreBoundedAndTheRestFollowsInTheNextRun) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kMaxConditionsPerNotification + 5; ++i) {
    names.push_back("c" + std::to_string(1000 + i));
  }
  Evaluate(Failing(names));
  ASSERT_EQ(sender_.sent.size(), 1u);
  EXPECT_EQ(sender_.sent[0].firing.size(), kMaxConditionsPerNotification);
  EXPECT_EQ(sender_.sent[0].more_pending, 5u);
  Evaluate(Failing(names));
  ASSERT_EQ(sender_.sent.size(), 2u);
  EXPECT_EQ(sender_.sent[1].firing.size(), 5u);
  Evaluate(Failing(names));
  EXPECT_EQ(sender_.sent.size(), 2u);
}

TEST_F(AlertsTest, RowsOfAnAlertNoLongerConfiguredAreDeleted) {
  Evaluate(Failing({"web"}));
  config_.alerts[0].name = "renamed";
  sender_.fail = true;  // the renamed alert's own firing fails; it is kept
  Evaluate(Failing({"web"}));
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].alert, "renamed");
}

TEST(AlertRetryDelay, DoublesFromOneMinuteToOneHour) {
  const std::vector<std::pair<int, Duration>> rows = {
      {1, minutes(1)}, {2, minutes(2)}, {3, minutes(4)}, {6, minutes(32)},
      {7, minutes(60)}, {50, minutes(60)}};
  for (const auto& [failures, want] : rows) EXPECT_EQ(AlertRetryDelay(failures), want) << failures;
}

TEST(AlertConfig, PlainHttpWebhookOnlyToThisHost) {
  const std::vector<std::pair<std::string, bool>> rows = {
      {"http://127.0.0.1:9093", true},         {"http://localhost/hook", true},
      {"http://[::1]:9093/api/v2/alerts", true}, {"https://alerts.example.com/hook", true},
      {"http://alerts.example.com/hook", false}, {"http://127.0.0.1.example.com/", false},
      {"http://localhostile.example/", false}};
  for (const auto& [url, ok] : rows) {
    Config config;
    config.state_dir = "/var/lib/certkeeper";
    AlertSettings a;
    a.name = "hook";
    a.type = "webhook";
    a.url = url;
    config.alerts = {a};
    EXPECT_EQ(CheckConfig(config).ok(), ok) << url << ": " << CheckConfig(config).ToString();
  }
}

}  // namespace
}  // namespace certkeeper::lifecycle
