#include "lifecycle/alert_format.h"

#include <cstdio>
#include <ctime>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/text.h"

namespace certkeeper::lifecycle {

namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json ItemJson(const AlertItem& item) {
  json j = {{"event", item.event},
            {"subject", item.subject},
            {"detail", item.detail},
            {"since", FormatRfc3339(item.since)}};
  if (item.ended_at) j["ended_at"] = FormatRfc3339(*item.ended_at);
  return j;
}

std::string SubjectLabel(std::string_view event) {
  if (event == "ca-unreachable") return "ca";
  if (event == "endpoint-mismatch" || event == "probe-failing") return "endpoint";
  return "certificate";
}

std::string Summary(const AlertItem& item) {
  static const std::pair<std::string_view, std::string_view> kWhat[] = {
      {"expiring", "is expiring"},
      {"renewal-failing", "fails to renew"},
      {"deploy-failed", "failed to deploy"},
      {"rolled-back", "was rolled back"},
      {"revoked", "is revoked"},
      {"ca-unreachable", "is unreachable"},
      {"endpoint-mismatch", "serves a certificate other than the live one"},
      {"probe-failing", "fails its probe"}};
  for (const auto& [event, what] : kWhat) {
    if (item.event == event) return SubjectLabel(event) + " " + item.subject + " " + std::string(what);
  }
  return item.event + " " + item.subject;
}

json AlertmanagerItem(const AlertNotification& n, const AlertItem& item, bool resolved) {
  json labels = {{"alertname", AlertName(item.event)},
                 {"event", item.event},
                 {SubjectLabel(item.event), item.subject},
                 {"severity", AlertSeverity(item.event)},
                 {"instance", n.host},
                 {"certkeeper_alert", n.alert}};
  if (n.test) labels["test"] = "true";
  TimePoint ends = resolved ? item.ended_at.value_or(n.at) : n.at + kAlertmanagerFiringHorizon;
  return {{"labels", labels},
          {"annotations", {{"summary", Summary(item)}, {"description", item.detail}}},
          {"startsAt", FormatRfc3339(item.since)},
          {"endsAt", FormatRfc3339(ends)}};
}

// One line of the mail body: no control character (a detail cannot start
// a header or a line of its own), valid UTF-8.
std::string BodyLine(std::string_view text) {
  std::string clean = SanitizeUtf8(text);
  for (char& c : clean) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return clean;
}

}  // namespace

std::string AlertName(std::string_view event) {
  static const std::pair<std::string_view, std::string_view> kNames[] = {
      {"expiring", "CertificateExpiring"},
      {"renewal-failing", "CertificateRenewalFailing"},
      {"deploy-failed", "CertificateDeployFailed"},
      {"rolled-back", "CertificateRolledBack"},
      {"revoked", "CertificateRevoked"},
      {"ca-unreachable", "AcmeCaUnreachable"},
      {"endpoint-mismatch", "EndpointCertificateMismatch"},
      {"probe-failing", "EndpointProbeFailing"}};
  for (const auto& [e, name] : kNames) {
    if (e == event) return std::string(name);
  }
  return "CertkeeperAlert";
}

std::string AlertSeverity(std::string_view event) {
  return event == "revoked" || event == "probe-failing" ? "critical" : "warning";
}

std::string GenericAlertJson(const AlertNotification& n) {
  json firing = json::array(), resolved = json::array();
  for (const AlertItem& i : n.firing) firing.push_back(ItemJson(i));
  for (const AlertItem& i : n.resolved) resolved.push_back(ItemJson(i));
  json j = {{"version", 1},          {"alert", n.alert},
            {"host", n.host},        {"time", FormatRfc3339(n.at)},
            {"test", n.test},        {"firing", firing},
            {"resolved", resolved},  {"more_pending", n.more_pending}};
  return Dump(j);
}

std::string AlertmanagerAlertJson(const AlertNotification& n) {
  json alerts = json::array();
  for (const AlertItem& i : n.firing) alerts.push_back(AlertmanagerItem(n, i, false));
  for (const AlertItem& i : n.resolved) alerts.push_back(AlertmanagerItem(n, i, true));
  return Dump(alerts);
}

std::string AlertmanagerAlertsUrl(std::string_view url) {
  constexpr std::string_view kPath = "/api/v2/alerts";
  std::string u(url);
  size_t query = u.find_first_of("?#");
  std::string path_part = u.substr(0, query);
  if (path_part.size() >= kPath.size() &&
      path_part.compare(path_part.size() - kPath.size(), kPath.size(), kPath) == 0) {
    return u;
  }
  while (!path_part.empty() && path_part.back() == '/') path_part.pop_back();
  return path_part + std::string(kPath) + (query == std::string::npos ? "" : u.substr(query));
}

std::string HeaderValue(std::string_view text, size_t max_bytes) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max_bytes) break;
    const auto b = static_cast<unsigned char>(c);
    out.push_back(b >= 0x20 && b < 0x7f ? c : '?');
  }
  return out;
}

std::string Rfc5322Date(TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string AlertEmailMessage(const AlertSettings& alert, const AlertNotification& n) {
  const std::string host = HeaderValue(n.host, 100);
  std::string to;
  for (const std::string& r : alert.to) to += (to.empty() ? "" : ", ") + HeaderValue(r);
  std::string subject = "[certkeeper] " + n.alert + ": " + std::to_string(n.firing.size()) +
                        " firing, " + std::to_string(n.resolved.size()) + " resolved";
  if (n.firing.size() + n.resolved.size() == 1) {
    const AlertItem& i = n.firing.empty() ? n.resolved.front() : n.firing.front();
    subject += " (" + i.event + " " + i.subject + ")";
  }
  if (n.test) subject += " (test)";
  std::string m;
  auto header = [&](std::string_view name, const std::string& value) {
    m += std::string(name) + ": " + value + "\r\n";
  };
  header("From", HeaderValue(alert.from.empty() ? "certkeeper@" + host : alert.from));
  header("To", to);
  header("Subject", HeaderValue(subject));
  header("Date", Rfc5322Date(n.at));
  header("Message-ID", "<certkeeper." + std::to_string(ToUnixSeconds(n.at)) + "." +
                           HeaderValue(n.id, 40) + "@" + host + ">");
  header("MIME-Version", "1.0");
  header("Content-Type", "text/plain; charset=utf-8");
  header("Content-Transfer-Encoding", "8bit");
  header("Auto-Submitted", "auto-generated");
  m += "\r\n";
  auto section = [&](std::string_view title, const std::vector<AlertItem>& items) {
    if (items.empty()) return;
    m += std::string(title) + ":\r\n";
    for (const AlertItem& i : items) {
      m += "  " + BodyLine(i.event + " " + i.subject) + " (since " + FormatRfc3339(i.since) +
           (i.ended_at ? ", ended " + FormatRfc3339(*i.ended_at) : "") + ")\r\n    " +
           BodyLine(i.detail) + "\r\n";
    }
    m += "\r\n";
  };
  if (n.test) m += "A test notification of alert " + BodyLine(n.alert) + ".\r\n\r\n";
  section("Firing", n.firing);
  section("Resolved", n.resolved);
  if (n.more_pending > 0) {
    m += std::to_string(n.more_pending) + " more conditions follow in the next notification.\r\n";
  }
  m += "-- \r\ncertkeeper on " + BodyLine(n.host) + "\r\n";
  return m;
}

}  // namespace certkeeper::lifecycle
