// Which conditions an [[alert]] sees in a snapshot: one row per case, each
// naming the rule it proves.
#include "lifecycle/alert_conditions.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;

const TimePoint kNow = FromUnixSeconds(1'800'000'000);
constexpr hours kDay{24};

// A certificate issued 30 of 90 days ago, renewal due in 30 days: nothing holds.
CertificateView Healthy(const std::string& name) {
  CertificateView c;
  c.name = name;
  VersionView live;
  live.n = 1;
  live.state = "deployed";
  live.not_before = kNow - 30 * kDay;
  live.not_after = kNow + 60 * kDay;
  c.live = live;
  c.renew_at = kNow + 30 * kDay;
  return c;
}

ProbeView GoodProbe(const std::string& key) {
  ProbeView p;
  p.endpoint = key;
  p.address = key;
  p.sni = "web.example.com";
  p.certificate = "web";
  p.ok = true;
  p.chain_valid = true;
  p.names_match = true;
  p.live_match = "yes";
  return p;
}

MonitorSnapshot Base() {
  MonitorSnapshot s;
  s.now = kNow;
  s.certificates = {Healthy("web")};
  CaStatusView ca;
  ca.ca = "le";
  ca.server = "https://ca.example/dir";
  s.cas = {ca};
  s.probes = {GoodProbe("127.0.0.1:443")};
  return s;
}

struct Row {
  const char* name;
  std::function<void(MonitorSnapshot&, AlertSettings&)> change;
  std::vector<std::pair<std::string, std::string>> want;  // (event, subject)
};

std::vector<std::pair<std::string, std::string>> Keys(const std::vector<AlertCondition>& cs) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& c : cs) out.emplace_back(c.event, c.subject);
  return out;
}

TEST(AlertConditions, Table) {
  const std::vector<Row> rows = {
      {"a healthy snapshot holds nothing", [](MonitorSnapshot&, AlertSettings&) {}, {}},
      {"expiring: past renew_at + grace",
       [](MonitorSnapshot& s, AlertSettings&) { s.certificates[0].renew_at = kNow - 25 * hours(1); },
       {{"expiring", "web"}}},
      {"not expiring: past renew_at but within the grace",
       [](MonitorSnapshot& s, AlertSettings&) { s.certificates[0].renew_at = kNow - hours(23); },
       {}},
      {"not expiring: 21% of the lifetime left is above the fraction",
       [](MonitorSnapshot& s, AlertSettings&) {
         s.certificates[0].live->not_after = kNow + 8 * kDay;  // 8 of 38 days
         s.certificates[0].live->not_before = kNow - 30 * kDay;
       },
       {}},
      {"expiring: 5% of the lifetime left",
       [](MonitorSnapshot& s, AlertSettings&) {
         s.certificates[0].live->not_before = kNow - 95 * kDay;
         s.certificates[0].live->not_after = kNow + 5 * kDay;
       },
       {{"expiring", "web"}}},
      {"expiring: a larger fraction configured",
       [](MonitorSnapshot& s, AlertSettings& a) {
         a.expiring_fraction = 0.5;
         s.certificates[0].live->not_after = kNow + 20 * kDay;
       },
       {{"expiring", "web"}}},
      {"expiring: expired",
       [](MonitorSnapshot& s, AlertSettings&) {
         s.certificates[0].live->not_after = kNow - hours(1);
         s.certificates[0].renew_at.reset();
       },
       {{"expiring", "web"}}},
      {"renewal-failing at the threshold",
       [](MonitorSnapshot& s, AlertSettings&) { s.certificates[0].consecutive_failures = 3; },
       {{"renewal-failing", "web"}}},
      {"renewal-failing not below it",
       [](MonitorSnapshot& s, AlertSettings&) { s.certificates[0].consecutive_failures = 2; },
       {}},
      {"deploy-failed: the newest version did not go live",
       [](MonitorSnapshot& s, AlertSettings&) {
         VersionView v = *s.certificates[0].live;
         v.n = 2;
         v.state = "deploy_failed";
         s.certificates[0].newest = v;
         AttemptView a;
         a.steps = {{"verify", "", "nginx", "failed", "served the old one", "", kNow}};
         s.certificates[0].last_attempt = a;
       },
       {{"deploy-failed", "web"}}},
      {"rolled-back: deploy-failed and a rollback step that succeeded",
       [](MonitorSnapshot& s, AlertSettings&) {
         VersionView v = *s.certificates[0].live;
         v.n = 2;
         v.state = "deploy_failed";
         s.certificates[0].newest = v;
         AttemptView a;
         a.steps = {{"verify", "", "nginx", "failed", "old", "", kNow},
                    {"rollback", "", "nginx", "ok", "", "", kNow}};
         s.certificates[0].last_attempt = a;
       },
       {{"deploy-failed", "web"}, {"rolled-back", "web"}}},
      {"revoked: the live version's state",
       [](MonitorSnapshot& s, AlertSettings&) { s.certificates[0].live->state = "revoked"; },
       {{"revoked", "web"}}},
      {"revoked: an OCSP answer for the live version",
       [](MonitorSnapshot& s, AlertSettings&) {
         RevocationView r;
         r.certificate = "web";
         r.version = 1;
         r.method = "ocsp";
         r.status = "revoked";
         s.revocations = {r};
       },
       {{"revoked", "web"}}},
      {"not revoked: the answer for an older version came days ago",
       [](MonitorSnapshot& s, AlertSettings&) {
         RevocationView r;
         r.certificate = "web";
         r.version = 0;
         r.status = "revoked";
         r.checked_at = kNow - std::chrono::hours(48);
         s.revocations = {r};
       },
       {}},
      {"revoked: a version the same run replaced, answered an hour ago",
       [](MonitorSnapshot& s, AlertSettings&) {
         RevocationView r;
         r.certificate = "web";
         r.version = 0;
         r.method = "crl";
         r.status = "revoked";
         r.checked_at = kNow - std::chrono::hours(1);
         s.revocations = {r};
       },
       {{"revoked", "web"}}},
      {"revoked: no version is live any more",
       [](MonitorSnapshot& s, AlertSettings&) {
         RevocationView r;
         r.certificate = "web";
         r.version = 1;
         r.method = "ocsp";
         r.status = "revoked";
         r.checked_at = kNow;
         s.certificates[0].live.reset();
         s.revocations = {r};
       },
       {{"revoked", "web"}}},
      {"ca-unreachable at the threshold, named by the CA",
       [](MonitorSnapshot& s, AlertSettings&) { s.cas[0].unreachable_runs = 3; },
       {{"ca-unreachable", "le"}}},
      {"ca-unreachable of the unnamed CA is named by its server",
       [](MonitorSnapshot& s, AlertSettings& a) {
         s.cas[0].ca = "";
         s.cas[0].unreachable_runs = 1;
         a.ca_unreachable_runs = 1;
       },
       {{"ca-unreachable", "https://ca.example/dir"}}},
      {"endpoint-mismatch",
       [](MonitorSnapshot& s, AlertSettings&) { s.probes[0].live_match = "no"; },
       {{"endpoint-mismatch", "127.0.0.1:443"}}},
      {"probe-failing: no handshake",
       [](MonitorSnapshot& s, AlertSettings&) { s.probes[0].ok = false; },
       {{"probe-failing", "127.0.0.1:443"}}},
      {"probe-failing: invalid chain",
       [](MonitorSnapshot& s, AlertSettings&) { s.probes[0].chain_valid = false; },
       {{"probe-failing", "127.0.0.1:443"}}},
      {"probe-failing: names do not match",
       [](MonitorSnapshot& s, AlertSettings&) { s.probes[0].names_match = false; },
       {{"probe-failing", "127.0.0.1:443"}}},
      {"events filter keeps only the chosen events",
       [](MonitorSnapshot& s, AlertSettings& a) {
         s.certificates[0].consecutive_failures = 5;
         s.probes[0].ok = false;
         a.events = {"probe-failing"};
       },
       {{"probe-failing", "127.0.0.1:443"}}},
      {"certificates filter drops other certificates and their endpoints, not CAs",
       [](MonitorSnapshot& s, AlertSettings& a) {
         s.certificates[0].consecutive_failures = 5;
         s.probes[0].ok = false;
         s.cas[0].unreachable_runs = 9;
         a.certificates = {"other"};
       },
       {{"ca-unreachable", "le"}}},
      {"sorted by event order, then subject",
       [](MonitorSnapshot& s, AlertSettings&) {
         s.certificates.push_back(Healthy("api"));
         s.certificates[0].consecutive_failures = 3;
         s.certificates[1].consecutive_failures = 3;
         s.certificates[0].live->not_after = kNow - hours(1);
       },
       {{"expiring", "web"}, {"renewal-failing", "api"}, {"renewal-failing", "web"}}},
  };
  for (const Row& row : rows) {
    MonitorSnapshot s = Base();
    AlertSettings a;
    a.name = "ops";
    row.change(s, a);
    EXPECT_EQ(Keys(AlertConditions(s, a)), row.want) << row.name;
  }
}

TEST(AlertConditions, ARollbackStaysRolledBackAfterADeferralWithoutSteps) {
  MonitorSnapshot s = Base();
  VersionView v = *s.certificates[0].live;
  v.n = 2;
  v.state = "deploy_failed";
  s.certificates[0].newest = v;
  s.certificates[0].deploy = {"nginx"};
  s.certificates[0].last_attempt = AttemptView{};  // a deferral: no steps
  AlertSettings a;
  EXPECT_EQ(Keys(AlertConditions(s, a)),
            (std::vector<std::pair<std::string, std::string>>{{"deploy-failed", "web"}}));
  DeliverySteps deliveries;
  deliveries["web"] = {{"files", "", "nginx", "failed", "disk full", "", kNow},
                       {"rollback", "", "nginx", "ok", "", "", kNow}};
  auto cs = AlertConditions(s, a, deliveries);
  EXPECT_EQ(Keys(cs), (std::vector<std::pair<std::string, std::string>>{
                          {"deploy-failed", "web"}, {"rolled-back", "web"}}));
  EXPECT_NE(cs[0].detail.find("files nginx failed: disk full"), std::string::npos)
      << cs[0].detail;
}

TEST(AlertConditions, DeliveryStepsAreChecksVerificationsRollbacksAndTargetSteps) {
  CertificateView c;
  c.deploy = {"nginx"};
  EXPECT_TRUE(IsDeliveryStep({"verify", "", "", "ok", "", "", kNow}, c));
  EXPECT_TRUE(IsDeliveryStep({"deploy-check", "", "", "failed", "", "", kNow}, c));
  EXPECT_TRUE(IsDeliveryStep({"rollback", "", "x", "ok", "", "", kNow}, c));
  EXPECT_TRUE(IsDeliveryStep({"reload", "", "nginx", "ok", "", "", kNow}, c));
  EXPECT_FALSE(IsDeliveryStep({"order", "", "", "ok", "", "", kNow}, c));
  EXPECT_FALSE(IsDeliveryStep({"validation", "http-01", "web.example.com", "ok", "", "", kNow}, c));
}

TEST(AlertConditions, DetailsSayWhyAndAreBounded) {
  MonitorSnapshot s = Base();
  s.certificates[0].consecutive_failures = 4;
  AttemptView a;
  a.error_detail = std::string(5000, 'x') + "\xff";
  s.certificates[0].last_attempt = a;
  s.certificates[0].renew_at = kNow - 2 * kDay;
  AlertSettings alert;
  auto cs = AlertConditions(s, alert);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_NE(cs[0].detail.find("renewal was due at"), std::string::npos) << cs[0].detail;
  EXPECT_NE(cs[1].detail.find("4 failed attempts in a row"), std::string::npos);
  EXPECT_LE(cs[1].detail.size(), kMaxConditionDetailBytes);
}

}  // namespace
}  // namespace certkeeper::lifecycle
