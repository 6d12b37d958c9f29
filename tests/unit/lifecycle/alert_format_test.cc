// What each alert target receives: the generic JSON, the Alertmanager array,
// the mail message (no header injection from certificate names or details).
#include "lifecycle/alert_format.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

namespace certkeeper::lifecycle {
namespace {

using nlohmann::json;

const TimePoint kAt = FromUnixSeconds(1'800'000'000);  // 2027-01-15T08:00:00Z

AlertNotification FormatSample() {
  AlertNotification n;
  n.alert = "ops";
  n.host = "host1";
  n.at = kAt;
  n.id = "abc123";
  n.firing = {{"expiring", "web", "expires soon \"quoted\" \xff", kAt - std::chrono::hours(1),
               std::nullopt}};
  n.resolved = {{"probe-failing", "127.0.0.1:443", "handshake failed", kAt - std::chrono::hours(2),
                 kAt - std::chrono::minutes(1)}};
  return n;
}

TEST(AlertFormat, GenericJsonHoldsEveryFieldEscaped) {
  json j = json::parse(GenericAlertJson(FormatSample()));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["alert"], "ops");
  EXPECT_EQ(j["host"], "host1");
  EXPECT_EQ(j["time"], FormatRfc3339(kAt));
  ASSERT_EQ(j["firing"].size(), 1u);
  EXPECT_EQ(j["firing"][0]["event"], "expiring");
  EXPECT_EQ(j["firing"][0]["subject"], "web");
  EXPECT_EQ(j["firing"][0]["detail"], "expires soon \"quoted\" \xef\xbf\xbd");
  EXPECT_FALSE(j["firing"][0].contains("ended_at"));
  ASSERT_EQ(j["resolved"].size(), 1u);
  EXPECT_EQ(j["resolved"][0]["ended_at"], FormatRfc3339(kAt - std::chrono::minutes(1)));
  EXPECT_EQ(j["more_pending"], 0);
}

TEST(AlertFormat, AlertmanagerArrayLabelsAndTimes) {
  json j = json::parse(AlertmanagerAlertJson(FormatSample()));
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["labels"]["alertname"], "CertificateExpiring");
  EXPECT_EQ(j[0]["labels"]["event"], "expiring");
  EXPECT_EQ(j[0]["labels"]["certificate"], "web");
  EXPECT_EQ(j[0]["labels"]["severity"], "warning");
  EXPECT_EQ(j[0]["labels"]["instance"], "host1");
  EXPECT_EQ(j[0]["labels"]["certkeeper_alert"], "ops");
  EXPECT_EQ(j[0]["startsAt"], FormatRfc3339(kAt - std::chrono::hours(1)));
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(kAt + kAlertmanagerFiringHorizon));
  EXPECT_EQ(j[0]["annotations"]["summary"], "certificate web is expiring");
  EXPECT_EQ(j[1]["labels"]["endpoint"], "127.0.0.1:443");
  EXPECT_EQ(j[1]["labels"]["severity"], "critical");
  EXPECT_EQ(j[1]["endsAt"], FormatRfc3339(kAt - std::chrono::minutes(1)));
}

TEST(AlertFormat, AlertmanagerUrlIsTheBaseOrTheFullAlertsUrl) {
  EXPECT_EQ(AlertmanagerAlertsUrl("http://127.0.0.1:9093"), "http://127.0.0.1:9093/api/v2/alerts");
  EXPECT_EQ(AlertmanagerAlertsUrl("http://127.0.0.1:9093/"), "http://127.0.0.1:9093/api/v2/alerts");
  EXPECT_EQ(AlertmanagerAlertsUrl("https://am.example/prefix"),
            "https://am.example/prefix/api/v2/alerts");
  EXPECT_EQ(AlertmanagerAlertsUrl("https://am.example/api/v2/alerts"),
            "https://am.example/api/v2/alerts");
}

TEST(AlertFormat, EmailHeadersCannotBeInjected) {
  AlertSettings alert;
  alert.name = "ops";
  alert.to = {"ops@example.com", "oncall@example.com"};
  AlertNotification n = FormatSample();
  n.resolved.clear();
  n.firing[0].subject = "web\r\nBcc: victim@example.com";
  n.firing[0].detail = "line one\r\nX-Injected: yes\n.\nend";
  n.host = "evil\r\nhost";
  std::string m = AlertEmailMessage(alert, n);
  size_t body = m.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  std::string headers = m.substr(0, body + 2);
  EXPECT_EQ(headers.find("\nBcc:"), std::string::npos) << headers;
  EXPECT_EQ(m.find("\nX-Injected"), std::string::npos) << m;
  EXPECT_EQ(m.find("\n.\r\n"), std::string::npos) << m;
  EXPECT_NE(headers.find("To: ops@example.com, oncall@example.com\r\n"), std::string::npos);
  EXPECT_NE(headers.find("From: certkeeper@evil??host\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Subject: [certkeeper] ops: 1 firing, 0 resolved (expiring "
                         "web??Bcc: victim@example.com)\r\n"),
            std::string::npos)
      << headers;
  EXPECT_NE(headers.find("Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n"), std::string::npos)
      << headers;
  EXPECT_NE(headers.find("Message-ID: <certkeeper.1800000000.abc123@evil??host>\r\n"),
            std::string::npos);
  EXPECT_NE(headers.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  // Every header line is printable ASCII.
  for (char c : headers) {
    auto b = static_cast<unsigned char>(c);
    EXPECT_TRUE(c == '\r' || c == '\n' || (b >= 0x20 && b < 0x7f)) << static_cast<int>(b);
  }
}

}  // namespace
}  // namespace certkeeper::lifecycle
