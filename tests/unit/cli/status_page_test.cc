// The status page: hostile names and errors escaped everywhere, failing and
// expiring certificates first, the lifetime bar's positions, the DOM hooks.
#include "cli/status_page.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/cli/serve_fixtures.h"

namespace certkeeper::cli {
namespace {

using testing::Cert;
using testing::Day;
using testing::Snapshot;

const std::string kScript = "<script>alert(1)</script>";

// Positions of data-certificate="..." in page order.
std::vector<std::string> RowOrder(const std::string& page) {
  std::vector<std::string> names;
  const std::string key = "data-certificate=\"";
  for (size_t at = page.find(key); at != std::string::npos; at = page.find(key, at + 1)) {
    size_t start = at + key.size();
    names.push_back(page.substr(start, page.find('"', start) - start));
  }
  return names;
}

TEST(StatusPageTest, EscapesHostileNamesErrorsAndCaText) {
  auto c = Cert("web", "failing", -10, {"a.example.com", kScript});
  c.status_reason = "reason " + kScript;
  lifecycle::AttemptView a;
  a.outcome = "failed";
  a.started_at = Day(-1);
  a.error_type = "urn:ietf:params:acme:error:<blink>";
  a.error_detail = "detail \"quoted\" 'single' & " + kScript + " \xFF";
  c.last_attempt = a;
  c.live->issuer = "CN=\"><img src=x onerror=alert(2)>";
  auto snap = Snapshot({c});
  lifecycle::CaStatusView ca;
  ca.ca = "evil<ca>";
  ca.server = "https://ca.example/\"><script>";
  ca.up = false;
  ca.last_error = kScript;
  snap.cas.push_back(ca);
  lifecycle::ProbeView p;
  p.endpoint = "ep\"<x>";
  p.address = "127.0.0.1:443";
  p.sni = "<sni>";
  p.error = kScript;
  snap.probes.push_back(p);

  std::string page = RenderStatusPage(snap);
  EXPECT_EQ(page.find("<script"), std::string::npos) << page;
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("<blink>"), std::string::npos);
  EXPECT_EQ(page.find("<ca>"), std::string::npos);
  EXPECT_EQ(page.find("<sni>"), std::string::npos);
  EXPECT_EQ(page.find("\"quoted\""), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("&quot;quoted&quot; &#39;single&#39; &amp;"), std::string::npos);
  EXPECT_NE(page.find("\xEF\xBF\xBD"), std::string::npos) << "invalid UTF-8 replaced";
  EXPECT_EQ(page.find('\xFF'), std::string::npos);
  EXPECT_NE(page.find("data-ca=\"evil&lt;ca&gt;\" data-up=\"no\""), std::string::npos);
  EXPECT_NE(page.find("data-endpoint=\"ep&quot;&lt;x&gt;\" data-ok=\"no\""), std::string::npos);
}

TEST(StatusPageTest, FailingAndExpiringFirstThenByExpiry) {
  // now = day 0. valid-late expires day 80, valid-soon day 40; expiring is
  // past its renewal time; expired ended; failing would expire last.
  auto snap = Snapshot({Cert("valid-late", "valid", -10), Cert("valid-soon", "valid", -50),
                        Cert("failing", "failing", -5), Cert("expiring", "due", -70),
                        Cert("expired", "expired", -100), Cert("pending", "pending", 0)});
  snap.certificates[5].live.reset();
  std::vector<std::string> order = RowOrder(RenderStatusPage(snap));
  EXPECT_EQ(order, (std::vector<std::string>{"failing", "expired", "expiring", "pending",
                                             "valid-soon", "valid-late"}));
}

TEST(StatusPageTest, ValidCertificatePastItsRenewalTimeCountsAsExpiring) {
  auto snap = Snapshot({Cert("a", "valid", -10), Cert("b", "valid", -65)});
  EXPECT_EQ(Urgency(snap.certificates[1], snap.now), "expiring");
  EXPECT_EQ(RowOrder(RenderStatusPage(snap)), (std::vector<std::string>{"b", "a"}));
}

TEST(StatusPageTest, BarPositions) {
  struct Row {
    const char* name;
    int now_day;
    double now_percent;
    double renew_percent;
  };
  const Row rows[] = {
      {"at issuance", 0, 0, 200.0 / 3},
      {"a third in", 30, 100.0 / 3, 200.0 / 3},
      {"at the end", 90, 100, 200.0 / 3},
      {"after expiry clamps", 120, 100, 200.0 / 3},
      {"before issuance clamps", -5, 0, 200.0 / 3},
  };
  for (const Row& r : rows) {
    LifetimeBar bar = ComputeLifetimeBar(Day(0), Day(90), Day(r.now_day), Day(60));
    EXPECT_NEAR(bar.now_percent, r.now_percent, 1e-9) << r.name;
    ASSERT_TRUE(bar.renew_percent.has_value()) << r.name;
    EXPECT_NEAR(*bar.renew_percent, r.renew_percent, 1e-9) << r.name;
  }
  EXPECT_FALSE(ComputeLifetimeBar(Day(0), Day(90), Day(1), std::nullopt).renew_percent);
  EXPECT_EQ(ComputeLifetimeBar(Day(5), Day(5), Day(4), std::nullopt).now_percent, 0);
}

TEST(StatusPageTest, BarIsDrawnWhereComputed) {
  // Issued 30 days ago of 90: now at a third, renewal at two thirds.
  std::string page = RenderStatusPage(Snapshot({Cert("web", "valid", -30)}));
  EXPECT_NE(page.find("data-now=\"33.33\" data-renew=\"66.67\""), std::string::npos) << page;
  EXPECT_NE(page.find("class=\"mark now\" style=\"left:33.33%\""), std::string::npos);
  EXPECT_NE(page.find("class=\"mark renew\" style=\"left:66.67%\""), std::string::npos);
}

TEST(StatusPageTest, EveryCertificateHasItsStatusHookAndNoScript) {
  auto snap = Snapshot({Cert("a", "valid", -10), Cert("b", "failing", -10),
                        Cert("c", "due", -70)});
  std::string page = RenderStatusPage(snap);
  EXPECT_NE(page.find("data-certificate=\"a\" data-status=\"valid\""), std::string::npos);
  EXPECT_NE(page.find("data-certificate=\"b\" data-status=\"failing\""), std::string::npos);
  EXPECT_NE(page.find("data-certificate=\"c\" data-status=\"due\""), std::string::npos);
  EXPECT_NE(page.find("<body data-health=\"degraded\""), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos) << "no outside resource";
  EXPECT_EQ(page.find("https://"), std::string::npos);
}

TEST(StatusPageTest, HealthyInventorySaysSo) {
  std::string page = RenderStatusPage(Snapshot({Cert("a", "valid", -10)}));
  EXPECT_NE(page.find("<body data-health=\"ok\""), std::string::npos);
  EXPECT_EQ(page.find("Needs attention"), std::string::npos);
}

TEST(StatusPageTest, LargeInventoryDrawsTheMostUrgentAndSaysHowManyMore) {
  std::vector<lifecycle::CertificateView> certs;
  for (size_t i = 0; i < kStatusPageMaxCertificates + 5; ++i) {
    certs.push_back(Cert("c" + std::to_string(i), "valid", -10));
  }
  certs.push_back(Cert("broken", "failing", -10));
  std::string page = RenderStatusPage(Snapshot(certs));
  std::vector<std::string> order = RowOrder(page);
  ASSERT_EQ(order.size(), kStatusPageMaxCertificates);
  EXPECT_EQ(order[0], "broken");
  EXPECT_NE(page.find("6 more certificates"), std::string::npos);
}

}  // namespace
}  // namespace certkeeper::cli
