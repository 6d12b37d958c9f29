// A CA's Retry-After against a scripted CA behind the HttpClient seam: a rate
// limit that would hold the renewal past the certificate's expiry is a failure
// that says so (in this run and the next ones, also with --force), a short rate
// limit is an ordinary deferral, and a 503's Retry-After does not outlive the
// run as a CA limit that binds --force.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "lifecycle/engine.h"
#include "store/sql_inventory.h"
#include "tests/unit/acme/fake_ca.h"
#include "tests/unit/hooks/test_pki.h"
#include "tests/unit/lifecycle/engine_test_fixture.h"

namespace certkeeper::lifecycle {
namespace {

using acme::HttpResponse;
using std::chrono::hours;

constexpr Duration kDay = hours(24);

class EngineCaWaitTest : public testing::EngineTest<> {
 protected:
  void SetUp() override {
    SetUpEngineTest(200 * kDay);
    ca_->offer_renewal_info = false;
    UseFailingSolver();
    engine_ = OpenEngine();
  }

  // A live 90-day certificate "web" with `left` of its life remaining.
  TimePoint ImportCertificate(Duration left) {
    TimePoint not_after = now_ + left;
    hooks::Material m = pki_.MakeMaterialWithValidity("web", {"web.example.com"},
                                                      not_after - 90 * kDay, not_after);
    ImportMaterial(*engine_, "web", m);
    return m.not_after;
  }

  // One run over everything, in a new process (a new Engine), as a timer does.
  CertificateOutcome NextRun(bool force = false) {
    engine_.reset();
    engine_ = OpenEngine();
    RenewOptions options;
    if (force) {
      options.names = {"web"};
      options.force = true;
    } else {
      options.all = true;
    }
    auto report = engine_->Renew(options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    if (!report.ok() || report->certificates.size() != 1) {
      ADD_FAILURE() << "expected one certificate in the report";
      return {};
    }
    if (report->certificates.front().outcome == "failed") {
      EXPECT_TRUE(report->any_failed());
    }
    return report->certificates.front();
  }

  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineCaWaitTest, RateLimitPastExpiryIsAFailureThatSaysSoEveryRun) {
  TimePoint not_after = ImportCertificate(10 * kDay);
  ca_->rate_limit_new_order = "31536000";  // a year
  CertificateOutcome first = NextRun();
  EXPECT_EQ(first.outcome, "failed");
  const std::string message = first.error.ToString();
  EXPECT_EQ(first.error.code(), ErrorCode::kRateLimited) << message;
  EXPECT_NE(message.find("rateLimited"), std::string::npos) << message;
  EXPECT_NE(message.find("asked to wait until"), std::string::npos) << message;
  EXPECT_NE(message.find("expiry at " + FormatRfc3339(not_after)), std::string::npos) << message;
  EXPECT_NE(first.error.hint().find("another CA"), std::string::npos) << first.error.hint();
  // The wait is bounded: a week at most, not a year.
  ASSERT_TRUE(first.error.retry_after().has_value());
  EXPECT_LE(*first.error.retry_after(), now_ + 7 * kDay);
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);

  // The next runs, before the CA's time: no request, and still a failure (not
  // a silent "deferred"), also with --force.
  for (bool force : {false, true}) {
    clock_->Advance(hours(1));
    CertificateOutcome next = NextRun(force);
    EXPECT_EQ(next.outcome, "failed") << "force " << force << ": " << next.reason;
    std::string why = next.error.ToString();
    EXPECT_NE(why.find("asked to wait until"), std::string::npos) << why;
    EXPECT_NE(why.find(FormatRfc3339(not_after)), std::string::npos) << why;
    EXPECT_EQ(ca_->CountPath("/new-order"), 1) << "force " << force;
  }
  auto history = engine_->History("web");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_FALSE(history->empty());
  EXPECT_EQ(history->front().outcome, "failed");
}

// An inventory written before Retry-After was bounded may hold a wait a year
// out: the next run cuts it to a week once (so it ends), and a certificate
// with plenty of life left is deferred, not failed.
TEST_F(EngineCaWaitTest, YearLongStoredWaitIsCutToAWeekOnce) {
  ImportCertificate(60 * kDay);
  engine_.reset();
  {
    auto inventory = store::SqlInventory::Open(config_.state_dir + "/certkeeper.db");
    ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
    store::Schedule sched;
    sched.ca_retry_after = now_ + 365 * kDay;
    ASSERT_TRUE((*inventory)->SetSchedule("web", sched).ok());
  }
  CertificateOutcome first = NextRun(/*force=*/true);
  EXPECT_EQ(first.outcome, "deferred") << first.error.ToString();
  EXPECT_NE(first.reason.find(FormatRfc3339(now_ + 7 * kDay)), std::string::npos)
      << first.reason;
  clock_->Advance(kDay);
  CertificateOutcome next = NextRun(/*force=*/true);
  EXPECT_EQ(next.outcome, "deferred") << next.error.ToString();
  EXPECT_NE(next.reason.find(FormatRfc3339(now_ + 7 * kDay)), std::string::npos)
      << next.reason;
  EXPECT_EQ(ca_->CountPath("/new-order"), 0);
}

TEST_F(EngineCaWaitTest, ShortRateLimitWellBeforeExpiryIsADeferral) {
  ImportCertificate(25 * kDay);  // due (less than a third left), 9-day margin
  ca_->rate_limit_new_order = "3600";
  EXPECT_EQ(NextRun().outcome, "failed");  // the run that got the 429
  ca_->rate_limit_new_order.reset();
  clock_->Advance(hours(0) + std::chrono::minutes(10));
  CertificateOutcome next = NextRun(/*force=*/true);
  EXPECT_EQ(next.outcome, "deferred") << next.error.ToString();
  EXPECT_NE(next.reason.find("CA asked to retry after"), std::string::npos) << next.reason;
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
}

TEST_F(EngineCaWaitTest, UnavailableRetryAfterDoesNotBindTheNextForcedRun) {
  ImportCertificate(25 * kDay);
  bool down = true;
  ca_->intercept = [&](const acme::HttpRequest& r) -> std::optional<HttpResponse> {
    if (!down || r.method != "POST" || r.url != ca_->Url("/new-order")) return std::nullopt;
    HttpResponse p;
    p.status = 503;
    p.headers.Add("Content-Type", "application/problem+json");
    p.headers.Add("Retry-After", "86400");
    p.body = R"({"type":"urn:ietf:params:acme:error:serverInternal","detail":"maintenance"})";
    return p;
  };
  CertificateOutcome first = NextRun();
  EXPECT_EQ(first.outcome, "failed");
  EXPECT_EQ(first.error.code(), ErrorCode::kUnavailable) << first.error.ToString();
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
  auto shown = engine_->Show("web");
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  // At most a short backoff floor, not the CA's day.
  ASSERT_TRUE(shown->next_attempt.has_value());
  EXPECT_LE(*shown->next_attempt, now_ + hours(1) + std::chrono::minutes(1))
      << FormatRfc3339(*shown->next_attempt);

  // The operator forces a renewal minutes later: the CA is asked again.
  down = false;
  clock_->Advance(std::chrono::minutes(5));
  CertificateOutcome forced = NextRun(/*force=*/true);
  EXPECT_NE(forced.outcome, "deferred") << forced.reason;
  EXPECT_EQ(ca_->CountPath("/new-order"), 2) << forced.outcome << ": " << forced.reason;
}

}  // namespace
}  // namespace certkeeper::lifecycle
