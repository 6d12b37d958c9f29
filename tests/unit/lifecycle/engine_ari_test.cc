// Renewal information (RFC 9773) on timer runs, against a scripted CA behind the
// HttpClient seam: the window is fetched for each live certificate, a renewal
// time is chosen inside it and kept, the CA is asked again only after its
// Retry-After, a past window renews with "replaces", and a CA without
// renewalInfo (or with a broken one) costs no request on the next run.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "acme/client.h"
#include "lifecycle/engine.h"
#include "tests/unit/acme/fake_ca.h"
#include "tests/unit/hooks/test_pki.h"
#include "tests/unit/lifecycle/engine_test_fixture.h"

namespace certkeeper::lifecycle {
namespace {

using acme::HttpResponse;
using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;

class EngineAriTest : public testing::EngineTest<> {
 protected:
  void SetUp() override {
    SetUpEngineTest();
    ca_->intercept = [this](const acme::HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.method != "GET" || r.url.rfind(ca_->Url("/ari/"), 0) != 0) return std::nullopt;
      ari_urls_.push_back(r.url);
      return ari_answer_;
    };
    SetWindow(now_ + hours(24 * 30), now_ + hours(24 * 32), "21600");
    // Renewals in these tests reach newOrder and then fail at the solver.
    UseFailingSolver();
    engine_ = OpenEngine();
  }

  void SetWindow(TimePoint start, TimePoint end, const std::string& retry_after) {
    HttpResponse r;
    r.status = 200;
    r.headers.Add("Content-Type", "application/json");
    if (!retry_after.empty()) r.headers.Add("Retry-After", retry_after);
    r.body = json{{"suggestedWindow",
                   {{"start", FormatRfc3339(start)}, {"end", FormatRfc3339(end)}}}}
                 .dump();
    ari_answer_ = r;
  }

  // A live certificate "name" for name.example.com, issued by the test PKI
  // (with an authority key identifier, as RFC 9773 §4.1 needs).
  std::string ImportCertificate(const std::string& name) {
    hooks::Material m = pki_.MakeMaterial(name, {name + ".example.com"}, now_);
    ImportMaterial(*engine_, name, m);
    return m.cert_pem;
  }

  CertificateOutcome RenewOne(Engine& engine, bool dry_run = false) {
    RenewOptions options;
    options.all = true;
    options.dry_run = dry_run;
    auto report = engine.Renew(options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    if (!report.ok() || report->certificates.size() != 1) {
      ADD_FAILURE() << "expected one certificate in the report";
      return {};
    }
    return report->certificates.front();
  }

  // The next timer run, in a new process: checks that it finds nothing due
  // and sends the CA no request at all, not even for the directory.
  std::unique_ptr<Engine> NextRunAsksNothing() {
    engine_.reset();
    size_t before = ca_->requests.size();
    auto next = OpenEngine();
    if (next == nullptr) return nullptr;
    EXPECT_EQ(RenewOne(*next).outcome, "not-due");
    EXPECT_EQ(ca_->requests.size(), before);
    return next;
  }

  HttpResponse ari_answer_;
  std::vector<std::string> ari_urls_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineAriTest, WindowIsFetchedStoredAndAskedAgainOnlyAfterRetryAfter) {
  std::string cert_pem = ImportCertificate("web");
  CertificateOutcome out = RenewOne(*engine_);
  EXPECT_EQ(out.outcome, "not-due");
  EXPECT_NE(out.reason.find("renewal information window"), std::string::npos) << out.reason;
  ASSERT_EQ(ari_urls_.size(), 1u);
  auto id = acme::AriCertificateId(cert_pem);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(ari_urls_[0], ca_->Url("/ari/") + *id);

  auto view = engine_->Show("web");
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_TRUE(view->renewal_info.has_value());
  const auto& ri = *view->renewal_info;
  EXPECT_EQ(ri.window_start, now_ + hours(24 * 30));
  EXPECT_EQ(ri.window_end, now_ + hours(24 * 32));
  EXPECT_GE(ri.renew_at, ri.window_start);
  EXPECT_LT(ri.renew_at, ri.window_end);
  EXPECT_EQ(ri.next_fetch, now_ + hours(6));  // Retry-After: 21600
  ASSERT_TRUE(view->next_attempt.has_value());
  EXPECT_EQ(*view->next_attempt, ri.renew_at);
  EXPECT_NE(view->next_attempt_reason.find("renewal information"), std::string::npos)
      << view->next_attempt_reason;

  // The next timer run, before Retry-After.
  auto second = NextRunAsksNothing();
  ASSERT_NE(second, nullptr);

  // After Retry-After the CA is asked again; an unchanged window keeps the
  // chosen time (RFC 9773 §4.2).
  clock_->Advance(hours(7));
  EXPECT_EQ(RenewOne(*second).outcome, "not-due");
  EXPECT_EQ(ari_urls_.size(), 2u);
  // At the remembered renewalInfo URL: the directory was fetched once, by the
  // first run.
  EXPECT_EQ(ca_->CountPath("/dir"), 1);
  auto again = second->Show("web");
  ASSERT_TRUE(again.ok() && again->renewal_info.has_value());
  EXPECT_EQ(again->renewal_info->renew_at, ri.renew_at);
  EXPECT_EQ(again->renewal_info->next_fetch, now_ + hours(7) + hours(6));
}

TEST_F(EngineAriTest, WindowMovedIntoThePastRenewsAndTheOrderNamesTheReplacedCertificate) {
  std::string cert_pem = ImportCertificate("web");
  EXPECT_EQ(RenewOne(*engine_).outcome, "not-due");

  // The CA moves the window (say, a mass revocation is coming).
  SetWindow(now_ - hours(48), now_ - hours(24), "");
  clock_->Advance(hours(7));
  CertificateOutcome out = RenewOne(*engine_);
  EXPECT_NE(out.reason.find("renewal information window"), std::string::npos) << out.reason;
  // The solver is /bin/false: the renewal fails after newOrder, and the old
  // certificate stays live.
  EXPECT_EQ(out.outcome, "failed");
  auto id = acme::AriCertificateId(cert_pem);
  ASSERT_TRUE(id.ok());
  bool sent_replaces = false;
  for (const json& p : ca_->payloads) {
    if (p.is_object() && p.contains("identifiers")) {
      ASSERT_TRUE(p.contains("replaces")) << p.dump();
      EXPECT_EQ(p["replaces"], *id);
      sent_replaces = true;
    }
  }
  EXPECT_TRUE(sent_replaces);
  auto view = engine_->Show("web");
  ASSERT_TRUE(view.ok() && view->live.has_value());
  EXPECT_EQ(view->live->n, 1);
}

TEST_F(EngineAriTest, AlreadyReplacedIsRetriedOnceWithoutReplaces) {
  ImportCertificate("web");
  SetWindow(now_ - hours(48), now_ - hours(24), "");
  int new_orders = 0;
  auto ari = ca_->intercept;
  ca_->intercept = [&, ari](const acme::HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.method == "POST" && r.url == ca_->Url("/new-order") && new_orders++ == 0) {
      HttpResponse p;
      p.status = 409;
      p.headers.Add("Content-Type", "application/problem+json");
      p.body = R"({"type":"urn:ietf:params:acme:error:alreadyReplaced",)"
               R"("detail":"the certificate was replaced by another order","status":409})";
      return p;
    }
    return ari(r);
  };
  CertificateOutcome out = RenewOne(*engine_);
  EXPECT_EQ(new_orders, 2) << out.error.ToString();
  int orders_seen = 0;
  for (const json& p : ca_->payloads) {
    if (p.is_object() && p.contains("identifiers")) {
      EXPECT_FALSE(p.contains("replaces")) << p.dump();
      ++orders_seen;
    }
  }
  EXPECT_EQ(orders_seen, 1);
}

TEST_F(EngineAriTest, EveryCertificateOfAParallelRunGetsItsOwnWindowAndOneDirectoryFetch) {
  for (const char* name : {"a", "b", "c", "d"}) ImportCertificate(name);
  RenewOptions options;
  options.all = true;
  options.jobs = 4;
  auto report = engine_->Renew(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->certificates.size(), 4u);
  for (const auto& c : report->certificates) EXPECT_EQ(c.outcome, "not-due") << c.name;
  EXPECT_EQ(ari_urls_.size(), 4u);
  EXPECT_EQ(ca_->CountPath("/dir"), 1);
  auto list = engine_->List();
  ASSERT_TRUE(list.ok());
  for (const auto& c : *list) EXPECT_TRUE(c.renewal_info.has_value()) << c.name;
}

TEST_F(EngineAriTest, CaWithoutRenewalInfoCostsOneDirectoryFetchThenNothing) {
  ca_->offer_renewal_info = false;
  ImportCertificate("web");
  CertificateOutcome out = RenewOne(*engine_);
  EXPECT_EQ(out.outcome, "not-due");
  EXPECT_EQ(out.reason.find("renewal information"), std::string::npos) << out.reason;
  EXPECT_TRUE(ari_urls_.empty());
  EXPECT_EQ(ca_->CountPath("/dir"), 1);

  auto second = NextRunAsksNothing();
  ASSERT_NE(second, nullptr);
  auto view = second->Show("web");
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(view->renewal_info.has_value());
}

TEST_F(EngineAriTest, BrokenRenewalInfoFallsBackToTheLocalWindowAndHonoursRetryAfter) {
  ImportCertificate("web");
  struct Case {
    const char* meaning;
    int status;
    std::string body;
    std::string retry_after;
    Duration next_fetch;  // after the failed fetch
  };
  const Case cases[] = {
      {"503 with Retry-After", 503, R"({"type":"urn:ietf:params:acme:error:serverInternal"})",
       "3600", hours(1)},
      {"not JSON", 200, "<html>maintenance</html>", "", hours(6)},
      {"an inverted window", 200,
       json{{"suggestedWindow",
             {{"start", FormatRfc3339(now_ + hours(48))}, {"end", FormatRfc3339(now_)}}}}
           .dump(),
       "", hours(6)},
      {"Retry-After 0 is not a tight loop", 500, "{}", "0", minutes(1)},
  };
  for (const Case& c : cases) {
    HttpResponse r;
    r.status = c.status;
    r.headers.Add("Content-Type", "application/json");
    if (!c.retry_after.empty()) r.headers.Add("Retry-After", c.retry_after);
    r.body = c.body;
    ari_answer_ = r;
    // Past any next fetch time the previous case left (at most a day away).
    clock_->Advance(hours(25));
    size_t asked = ari_urls_.size();
    TimePoint at = clock_->Now();
    CertificateOutcome out = RenewOne(*engine_);
    EXPECT_EQ(out.outcome, "not-due") << c.meaning;
    EXPECT_EQ(ari_urls_.size(), asked + 1) << c.meaning;
    // Before the next fetch time nothing is asked; then it is.
    clock_->Advance(c.next_fetch - std::chrono::seconds(1));
    RenewOne(*engine_);
    EXPECT_EQ(ari_urls_.size(), asked + 1) << c.meaning;
    clock_->Set(at + c.next_fetch);
    RenewOne(*engine_);
    EXPECT_EQ(ari_urls_.size(), asked + 2) << c.meaning;
    auto view = engine_->Show("web");
    ASSERT_TRUE(view.ok());
    EXPECT_FALSE(view->renewal_info.has_value()) << c.meaning;
    EXPECT_EQ(view->status, "valid") << c.meaning;
  }
}

TEST_F(EngineAriTest, AnUnavailableCaIsAskedAtMostThreeTimesPerRun) {
  for (const char* name : {"a", "b", "c", "d", "e", "f"}) ImportCertificate(name);
  HttpResponse down;
  down.status = 503;
  down.headers.Add("Content-Type", "application/problem+json");
  down.body = R"({"type":"urn:ietf:params:acme:error:serverInternal","status":503})";
  ari_answer_ = down;
  RenewOptions options;
  options.all = true;
  auto report = engine_->Renew(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->certificates.size(), 6u);
  for (const auto& c : report->certificates) EXPECT_EQ(c.outcome, "not-due") << c.name;
  EXPECT_EQ(ari_urls_.size(), 3u);

  // The next run tries again (a CA down for one run is not down forever); the
  // three asked already wait for their next fetch time.
  report = engine_->Renew(options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(ari_urls_.size(), 6u);
}

TEST_F(EngineAriTest, DryRunAsksTheCaNothing) {
  ImportCertificate("web");
  CertificateOutcome out = RenewOne(*engine_, /*dry_run=*/true);
  EXPECT_EQ(out.outcome, "not-due");
  EXPECT_TRUE(ca_->requests.empty());
}

}  // namespace
}  // namespace certkeeper::lifecycle
