// Delivering one alert notification to its target: the seam between the
// alert state (lifecycle/alerts.h) and the outside world, so that tests can
// inject a target that records or fails.
//
// Contract for every target: bounded in time (AlertSettings::timeout) and in
// what it reads back; untrusted text (certificate names, errors, CA text)
// never reaches a shell: programs run with execve (base/process.h) and the
// text travels as escaped JSON or a checked mail message; TLS is always
// verified. A failed delivery is the returned Status, nothing else.
#ifndef CERTKEEPER_LIFECYCLE_ALERT_DELIVERY_H_
#define CERTKEEPER_LIFECYCLE_ALERT_DELIVERY_H_

#include "base/status.h"
#include "lifecycle/alert_format.h"
#include "lifecycle/config.h"

namespace certkeeper::lifecycle {

class AlertSender {
 public:
  virtual ~AlertSender() = default;
  // Sends `n` to `alert`'s target. MUST be bounded in time; MUST NOT throw.
  virtual Status Send(const AlertSettings& alert, const AlertNotification& n) = 0;
};

// The real targets, by alert.type.
class TargetAlertSender : public AlertSender {
 public:
  Status Send(const AlertSettings& alert, const AlertNotification& n) override;
};

// type "command": argv alert.command with the generic JSON on stdin and
// CERTKEEPER_ALERT, CERTKEEPER_EVENTS (comma-separated, distinct),
// CERTKEEPER_FIRING, CERTKEEPER_RESOLVED (counts), CERTKEEPER_HOST and
// CERTKEEPER_TEST ("1" or "0") in its environment. A non-zero exit, a signal
// or the timeout is a failed delivery.
Status SendAlertCommand(const AlertSettings& alert, const AlertNotification& n);

// type "webhook": POST of the generic JSON, or with format "alertmanager" of
// the Alertmanager array to AlertmanagerAlertsUrl(url), Content-Type
// application/json, "Authorization: Bearer <token_file's first line>" when
// token_file is set, extra roots from ca_bundle. Any 2xx answer is success.
Status SendAlertWebhook(const AlertSettings& alert, const AlertNotification& n);

// type "email": alert.sendmail -t -i with AlertEmailMessage on stdin.
Status SendAlertEmail(const AlertSettings& alert, const AlertNotification& n);

// Reads a bearer token: the file's first line, without trailing
// whitespace; kInvalidArgument when empty or when it holds a control or
// non-ASCII character (it goes into a header field).
Result<std::string> ReadBearerToken(const std::string& path);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ALERT_DELIVERY_H_
