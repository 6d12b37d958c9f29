// What one alert notification says, and how each target type writes it: the
// generic JSON document (webhook format "generic" and a command's stdin), the
// array Prometheus Alertmanager's POST /api/v2/alerts takes, and an email
// message for sendmail -t. Pure functions; docs/alerts.md shows each format.
#ifndef CERTKEEPER_LIFECYCLE_ALERT_FORMAT_H_
#define CERTKEEPER_LIFECYCLE_ALERT_FORMAT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "lifecycle/config.h"

namespace certkeeper::lifecycle {

// A notification lists at most this many conditions (firing first, then
// resolved); the others stay pending and go with the next run's notification.
inline constexpr size_t kMaxConditionsPerNotification = 100;

// One condition as a notification reports it.
struct AlertItem {
  std::string event;
  std::string subject;
  std::string detail;
  TimePoint since;                    // when it started
  std::optional<TimePoint> ended_at;  // resolved only
};

struct AlertNotification {
  std::string alert;  // the [[alert]] name
  std::string host;   // the machine certkeeper runs on
  TimePoint at;       // when it is sent
  std::string id;     // unique per notification ([a-z0-9]), for Message-ID
  std::vector<AlertItem> firing;
  std::vector<AlertItem> resolved;
  // Pending conditions left for the next notification (over the limit).
  size_t more_pending = 0;
  // A test of the target (no real condition): marked in every format.
  bool test = false;
};

// {"version":1,"alert":...,"host":...,"time":...,"test":false,
//  "firing":[{"event","subject","detail","since"}],
//  "resolved":[{"event","subject","detail","since","ended_at"}],
//  "more_pending":0}. Every string escaped, invalid UTF-8 replaced.
std::string GenericAlertJson(const AlertNotification& n);

// The Alertmanager v2 alert array: one element per condition with labels
// {alertname, event, certificate|endpoint|ca, severity, instance,
// certkeeper_alert}, annotations {summary, description}, startsAt = since and
// endsAt = ended_at for resolved ones, now + kAlertmanagerFiringHorizon for
// firing ones (Alertmanager resolves an alert without endsAt by itself after
// its resolve_timeout, which would undo "fires once").
inline constexpr std::chrono::hours kAlertmanagerFiringHorizon{24 * 90};
std::string AlertmanagerAlertJson(const AlertNotification& n);

// The Alertmanager alerts URL for `url`: used as given when its path ends in
// /api/v2/alerts, else the base URL (with any trailing '/' dropped) +
// "/api/v2/alerts".
std::string AlertmanagerAlertsUrl(std::string_view url);

// "CertificateExpiring", "AcmeCaUnreachable", ... for an event.
std::string AlertName(std::string_view event);
// "critical" (revoked, probe-failing) or "warning".
std::string AlertSeverity(std::string_view event);

// A header field value: printable ASCII only (every other byte, CR and LF
// included, becomes '?'), at most max_bytes.
std::string HeaderValue(std::string_view text, size_t max_bytes = 200);

// A complete RFC 5322 message (CRLF line ends) for `sendmail -t -i`: To, From
// (alert.from, else certkeeper@host), Subject (ASCII only), Date,
// Message-ID, MIME-Version, Content-Type text/plain UTF-8 and
// Auto-Submitted; the body lists every condition, one control-free line each.
std::string AlertEmailMessage(const AlertSettings& alert, const AlertNotification& n);

// RFC 5322 §3.3 date-time in UTC: "Tue, 01 Dec 2026 19:10:12 +0000".
std::string Rfc5322Date(TimePoint t);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ALERT_FORMAT_H_
