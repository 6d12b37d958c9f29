// RenderMetrics over hand-built snapshots: the exposition format (escaping,
// HELP/TYPE, order), the certificate state set, series left out when their
// value is unset, counters, and labels bounded by the configuration.
#include "lifecycle/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lifecycle/metrics_exposition.h"

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const TimePoint kNow = TimePoint(seconds(1764615600));  // 2025-12-01T19:00:00Z

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool HasLine(const std::string& text, const std::string& line) {
  auto lines = Lines(text);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// The sample lines of one family (name followed by '{' or ' ').
std::vector<std::string> Samples(const std::string& text, const std::string& family) {
  std::vector<std::string> out;
  for (const std::string& line : Lines(text)) {
    if (line.rfind(family, 0) == 0 && line.size() > family.size() &&
        (line[family.size()] == '{' || line[family.size()] == ' ')) {
      out.push_back(line);
    }
  }
  return out;
}

CertificateView LiveCertificate(const std::string& name, const std::string& ca) {
  CertificateView c;
  c.name = name;
  c.domains = {name + ".secret-domain.example"};
  c.status = "valid";
  c.status_reason = "renewal due in 59 days";
  VersionView v;
  v.n = 3;
  v.not_before = kNow - hours(24);
  v.not_after = kNow + hours(24 * 89);
  v.ca = ca;
  v.server = "https://ca.example/dir";
  v.state = "deployed";
  v.domains = c.domains;
  c.live = v;
  c.renew_at = kNow + hours(24 * 59);
  c.last_success = kNow - hours(24) + seconds(30);
  return c;
}

TEST(MetricsTest, EveryFamilyHasHelpAndTypeBeforeItsSamplesAndFamiliesAreSorted) {
  MonitorSnapshot snap;
  snap.now = kNow;
  snap.certificates = {LiveCertificate("web", "")};
  std::string text = RenderMetrics(snap);
  std::vector<std::string> families;
  std::string current;
  for (const std::string& line : Lines(text)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      families.push_back(current);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_EQ(line.substr(7, current.size() + 1), current + " ") << line;
      continue;
    }
    EXPECT_EQ(line.rfind(current, 0), 0u) << "sample outside its family: " << line;
  }
  EXPECT_TRUE(std::is_sorted(families.begin(), families.end()));
  EXPECT_EQ(std::set<std::string>(families.begin(), families.end()).size(), families.size());
  EXPECT_TRUE(HasLine(text, "# TYPE certkeeper_certificate_not_after_timestamp_seconds gauge"));
  EXPECT_TRUE(HasLine(text, "certkeeper_snapshot_timestamp_seconds 1764615600"));
  EXPECT_TRUE(HasLine(text, std::string("certkeeper_build_info{version=\"") + CERTKEEPER_VERSION +
                                "\"} 1"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MonitorSnapshot snap;
  snap.now = kNow;
  // Config validation keeps such names out; the format must hold anyway.
  snap.certificates = {LiveCertificate("a\\b\"c\nd", "")};
  std::string text = RenderMetrics(snap);
  EXPECT_TRUE(HasLine(
      text, "certkeeper_certificate_live_version{ca=\"default\",name=\"a\\\\b\\\"c\\nd\"} 3"))
      << text;
  EXPECT_EQ(EscapeLabelValue("x\\y\"z\n"), "x\\\\y\\\"z\\n");
  EXPECT_EQ(EscapeHelp("a\\b\"c\nd"), "a\\\\b\"c\\nd");
}

TEST(MetricsTest, StatusIsAStateSetWithOneSeriesPerStatus) {
  MonitorSnapshot snap;
  snap.now = kNow;
  CertificateView c = LiveCertificate("web", "le");
  c.status = "failing";
  c.consecutive_failures = 4;
  snap.certificates = {c};
  std::string text = RenderMetrics(snap);
  EXPECT_EQ(Samples(text, "certkeeper_certificate_status"),
            (std::vector<std::string>{
                "certkeeper_certificate_status{ca=\"le\",name=\"web\",status=\"due\"} 0",
                "certkeeper_certificate_status{ca=\"le\",name=\"web\",status=\"expired\"} 0",
                "certkeeper_certificate_status{ca=\"le\",name=\"web\",status=\"failing\"} 1",
                "certkeeper_certificate_status{ca=\"le\",name=\"web\",status=\"pending\"} 0",
                "certkeeper_certificate_status{ca=\"le\",name=\"web\",status=\"valid\"} 0",
            }));
  EXPECT_TRUE(
      HasLine(text, "certkeeper_certificate_consecutive_failures{ca=\"le\",name=\"web\"} 4"));
}

TEST(MetricsTest, UnsetValuesHaveNoSeries) {
  MonitorSnapshot snap;
  snap.now = kNow;
  CertificateView pending;
  pending.name = "new";
  pending.status = "pending";
  snap.certificates = {pending, LiveCertificate("web", "")};
  std::string text = RenderMetrics(snap);
  for (const char* family : {"certkeeper_certificate_not_before_timestamp_seconds",
                             "certkeeper_certificate_not_after_timestamp_seconds",
                             "certkeeper_certificate_renew_at_timestamp_seconds",
                             "certkeeper_certificate_live_version",
                             "certkeeper_certificate_last_success_timestamp_seconds"}) {
    std::vector<std::string> samples = Samples(text, family);
    ASSERT_EQ(samples.size(), 1u) << family;
    EXPECT_NE(samples[0].find("name=\"web\""), std::string::npos) << samples[0];
  }
  // Neither has a next attempt, no revocation answer, no probe, no run: the
  // families are left out altogether.
  for (const char* family : {"certkeeper_certificate_next_attempt_timestamp_seconds",
                             "certkeeper_certificate_revoked", "certkeeper_endpoint_probe_success",
                             "certkeeper_last_run_duration_seconds", "certkeeper_ca_up"}) {
    EXPECT_TRUE(Samples(text, family).empty()) << family;
    EXPECT_EQ(text.find("# TYPE " + std::string(family) + " "), std::string::npos) << family;
  }
  EXPECT_TRUE(HasLine(text, "certkeeper_certificates 2"));
  EXPECT_TRUE(HasLine(
      text,
      "certkeeper_certificate_status{ca=\"default\",name=\"new\",status=\"pending\"} 1"));
  EXPECT_TRUE(HasLine(
      text, "certkeeper_certificate_not_after_timestamp_seconds{ca=\"default\",name=\"web\"} " +
                std::to_string(1764615600 + 89 * 86400)));
}

TEST(MetricsTest, CaRequestsAreCountersAndCaLabelsNameTheConfiguredCa) {
  MonitorSnapshot snap;
  snap.now = kNow;
  CaStatusView le;
  le.ca = "le";
  le.server = "https://acme-v02.api.letsencrypt.org/directory";
  le.up = false;
  le.unreachable_runs = 2;
  le.last_error = "connect to 203.0.113.9 failed";
  le.requests = {{"newOrder", 7}, {"finalize", 5}};
  le.retry_after_until = kNow + seconds(3600) + std::chrono::milliseconds(500);
  CaStatusView unnamed;
  unnamed.server = "https://ca.internal/acme";
  snap.cas = {le, unnamed};
  std::string text = RenderMetrics(snap);
  EXPECT_TRUE(HasLine(text, "# TYPE certkeeper_ca_requests_total counter"));
  EXPECT_EQ(Samples(text, "certkeeper_ca_requests_total"),
            (std::vector<std::string>{
                "certkeeper_ca_requests_total{ca=\"le\",kind=\"finalize\"} 5",
                "certkeeper_ca_requests_total{ca=\"le\",kind=\"newOrder\"} 7",
            }));
  EXPECT_EQ(Samples(text, "certkeeper_ca_up"),
            (std::vector<std::string>{"certkeeper_ca_up{ca=\"default\"} 1",
                                      "certkeeper_ca_up{ca=\"le\"} 0"}));
  EXPECT_TRUE(HasLine(text, "certkeeper_ca_unreachable_runs{ca=\"le\"} 2"));
  EXPECT_TRUE(HasLine(text, "certkeeper_ca_retry_after_until_timestamp_seconds{ca=\"le\"} " +
                                std::to_string(1764615600 + 3600) + ".5"));
  EXPECT_TRUE(HasLine(
      text, "certkeeper_ca_info{ca=\"default\",server=\"https://ca.internal/acme\"} 1"));
  EXPECT_EQ(text.find("203.0.113.9"), std::string::npos) << "an error text became a label";
}

TEST(MetricsTest, LabelsAreBoundedByTheConfiguration) {
  MonitorSnapshot snap;
  snap.now = kNow;
  CertificateView c = LiveCertificate("web", "le");
  c.next_attempt = kNow + hours(1);
  c.next_attempt_reason = "backoff after error from peer.secret-domain.example";
  AttemptView a;
  a.error_detail = "urn:ietf:params:acme:error:dns secret-domain.example";
  c.last_attempt = a;
  snap.certificates = {c};
  ProbeView p;
  p.endpoint = "192.0.2.1:443/www.example.org";
  p.certificate = "web";
  p.at = kNow;
  p.ok = false;
  p.error = "handshake failed: alert from secret-domain.example";
  p.names = {"served.secret-domain.example"};
  p.issuer = "CN=peer-chosen-issuer";
  snap.probes = {p};
  std::string text = RenderMetrics(snap);
  EXPECT_EQ(text.find("secret-domain"), std::string::npos) << text;
  EXPECT_EQ(text.find("peer-chosen"), std::string::npos) << text;
  EXPECT_EQ(text.find("ca.example"), std::string::npos) << "the version's server is no label";
  EXPECT_TRUE(HasLine(text,
                      "certkeeper_endpoint_probe_success{certificate=\"web\","
                      "endpoint=\"192.0.2.1:443/www.example.org\"} 0"));
}

TEST(MetricsTest, EndpointSeriesFollowWhatTheProbeKnows) {
  MonitorSnapshot snap;
  snap.now = kNow;
  ProbeView served;
  served.endpoint = "127.0.0.1:8443";
  served.certificate = "web";
  served.at = kNow - seconds(60);
  served.ok = true;
  served.handshake_seconds = 0.0125;
  served.not_after = kNow + hours(24);
  served.chain_valid = true;
  served.names_match = true;
  served.live_match = "no";
  ProbeView unmanaged = served;
  unmanaged.endpoint = "127.0.0.1:9443";
  unmanaged.certificate = "";
  unmanaged.live_match = "";
  ProbeView down;
  down.endpoint = "127.0.0.1:10443";
  down.at = kNow;
  snap.probes = {served, unmanaged, down};
  std::string text = RenderMetrics(snap);
  EXPECT_EQ(Samples(text, "certkeeper_endpoint_matches_inventory"),
            (std::vector<std::string>{"certkeeper_endpoint_matches_inventory{certificate=\"web\","
                                      "endpoint=\"127.0.0.1:8443\"} 0"}));
  EXPECT_TRUE(HasLine(text, "certkeeper_endpoint_handshake_seconds{certificate=\"web\","
                            "endpoint=\"127.0.0.1:8443\"} 0.0125"));
  EXPECT_TRUE(HasLine(text, "certkeeper_endpoint_chain_valid{endpoint=\"127.0.0.1:9443\"} 1"));
  EXPECT_TRUE(HasLine(text, "certkeeper_endpoint_probe_success{endpoint=\"127.0.0.1:10443\"} 0"));
  EXPECT_EQ(Samples(text, "certkeeper_endpoint_handshake_seconds").size(), 2u);
  EXPECT_EQ(Samples(text, "certkeeper_endpoint_certificate_not_after_timestamp_seconds").size(),
            2u);
}

TEST(MetricsTest, RevokedComesFromTheLiveVersionsAnswers) {
  MonitorSnapshot snap;
  snap.now = kNow;
  snap.certificates = {LiveCertificate("good", ""), LiveCertificate("bad", ""),
                       LiveCertificate("unasked", ""), LiveCertificate("old-revoked", ""),
                       LiveCertificate("errored", "")};
  auto answer = [](const std::string& name, int version, const std::string& method,
                   const std::string& status) {
    RevocationView r;
    r.certificate = name;
    r.version = version;
    r.method = method;
    r.status = status;
    r.checked_at = kNow - seconds(10);
    return r;
  };
  snap.revocations = {answer("good", 3, "crl", "good"),
                      answer("bad", 3, "ocsp", "good"),
                      answer("bad", 3, "crl", "revoked"),
                      answer("old-revoked", 2, "crl", "revoked"),
                      answer("errored", 3, "ocsp", "error")};
  std::string text = RenderMetrics(snap);
  EXPECT_EQ(Samples(text, "certkeeper_certificate_revoked"),
            (std::vector<std::string>{
                "certkeeper_certificate_revoked{ca=\"default\",name=\"bad\"} 1",
                "certkeeper_certificate_revoked{ca=\"default\",name=\"good\"} 0",
            }));
  EXPECT_TRUE(HasLine(text,
                      "certkeeper_certificate_revocation_checked_timestamp_seconds{ca=\"default\","
                      "method=\"ocsp\",name=\"errored\"} 1764615590"));
}

TEST(MetricsTest, LastRunsGiveDurationAndOutcomes) {
  MonitorSnapshot snap;
  snap.now = kNow;
  snap.last_renew = RunView{"renew",
                            kNow - seconds(90),
                            kNow - seconds(60) + std::chrono::milliseconds(250),
                            {{"renewed", 2}, {"not-due", 40}, {"failed", 1}}};
  snap.last_probe = RunView{"probe", kNow - seconds(5), kNow - seconds(4), {{"ok", 3}}};
  std::string text = RenderMetrics(snap);
  EXPECT_TRUE(HasLine(text, "certkeeper_last_run_duration_seconds{kind=\"renew\"} 30.25"));
  EXPECT_TRUE(HasLine(text, "certkeeper_last_run_duration_seconds{kind=\"probe\"} 1"));
  EXPECT_TRUE(HasLine(text, "certkeeper_last_run_outcomes{kind=\"renew\",outcome=\"not-due\"} 40"));
  EXPECT_TRUE(HasLine(text, "certkeeper_last_run_end_timestamp_seconds{kind=\"probe\"} " +
                                std::to_string(1764615600 - 4)));
}

TEST(MetricsTest, TheSameSnapshotInAnotherOrderGivesTheSameBytes) {
  MonitorSnapshot a;
  a.now = kNow;
  a.certificates = {LiveCertificate("b", "x"), LiveCertificate("a", "y"), LiveCertificate("c", "")};
  MonitorSnapshot b = a;
  std::reverse(b.certificates.begin(), b.certificates.end());
  EXPECT_EQ(RenderMetrics(a), RenderMetrics(b));
  std::vector<std::string> live = Samples(RenderMetrics(a), "certkeeper_certificate_live_version");
  EXPECT_TRUE(std::is_sorted(live.begin(), live.end()));
  EXPECT_EQ(live.size(), 3u);
}

TEST(MetricsTest, SampleValuesUseTheFormatsSpelling) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(-3), "-3");
  EXPECT_EQ(FormatSampleValue(1764615600), "1764615600");
  EXPECT_EQ(FormatSampleValue(1764615600.125), "1764615600.125");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

}  // namespace
}  // namespace certkeeper::lifecycle

namespace certkeeper::lifecycle {
namespace {

TEST(MetricsFleetTest, HostSeriesAppearInAFleetOnly) {
  MonitorSnapshot snap;
  snap.now = kNow;
  CertificateView c = LiveCertificate("web", "");
  c.fleet = true;
  c.hosts = {{"edge-1", 3, "deployed", kNow, ""}, {"edge-2", 2, "failed", kNow, "reload"}};
  snap.certificates = {c};
  std::string single = RenderMetrics(snap);
  EXPECT_TRUE(Samples(single, "certkeeper_certificate_host_deploy_ok").empty()) << single;
  EXPECT_TRUE(Samples(single, "certkeeper_host_info").empty()) << single;

  snap.host = "edge-1";
  std::string text = RenderMetrics(snap);
  EXPECT_TRUE(HasLine(text, "certkeeper_host_info{host=\"edge-1\"} 1")) << text;
  EXPECT_TRUE(HasLine(text, "certkeeper_certificate_host_version{host=\"edge-1\",name=\"web\"} 3"))
      << text;
  EXPECT_TRUE(HasLine(text, "certkeeper_certificate_host_deploy_ok{host=\"edge-1\",name=\"web\"} 1"));
  EXPECT_TRUE(HasLine(text, "certkeeper_certificate_host_deploy_ok{host=\"edge-2\",name=\"web\"} 0"));
  EXPECT_EQ(Samples(text, "certkeeper_certificate_host_version").size(), 1u) << text;
}

}  // namespace
}  // namespace certkeeper::lifecycle
