// The conditions an [[alert]] watches, as a pure function of a monitoring
// snapshot: which (event, subject) pairs are true now. No I/O, no state; the
// once/resolved bookkeeping is lifecycle/alerts.h's.
#ifndef CERTKEEPER_LIFECYCLE_ALERT_CONDITIONS_H_
#define CERTKEEPER_LIFECYCLE_ALERT_CONDITIONS_H_

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lifecycle/config.h"
#include "lifecycle/monitor.h"

namespace certkeeper::lifecycle {

// Every event an alert can choose, in the order notifications list them.
inline constexpr std::array<std::string_view, 8> kAlertEvents = {
    "expiring",      "renewal-failing", "deploy-failed",     "rolled-back",
    "revoked",       "ca-unreachable",  "endpoint-mismatch", "probe-failing"};

// A detail longer than this is cut (on a character boundary) and marked.
inline constexpr size_t kMaxConditionDetailBytes = 512;

// One condition that holds now.
// How long a revocation the same or a later run already answered with a new
// version stays a "revoked" condition.
inline constexpr Duration kReplacedRevocationAlert = std::chrono::hours(24);

struct AlertCondition {
  std::string event;    // one of kAlertEvents
  std::string subject;  // certificate name, endpoint key, or CA name (server when unnamed)
  std::string detail;   // for people; valid UTF-8, at most kMaxConditionDetailBytes
  bool operator==(const AlertCondition&) const = default;
};

// The conditions of `alert` that hold in `snapshot` (at snapshot.now),
// filtered by alert.events (empty: all) and alert.certificates (empty: all;
// else certificate events of other certificates and endpoints that name no
// listed certificate are left out; CA events are never filtered by it).
// Sorted by event (kAlertEvents order), then subject; no duplicates.
//
//   expiring          live version expired, or now >= renew_at + expiring_grace,
//                     or less than expiring_fraction of not_after - not_before left
//   renewal-failing   consecutive_failures >= failures
//   deploy-failed     the newest version is newer than the live one and
//                     deploy_failed (it did not go live)
//   rolled-back       deploy-failed, and the newest delivery restored the
//                     previous version (a "rollback" step that succeeded)
//   revoked           the live version is revoked, or a stored OCSP/CRL answer
//                     for it says "revoked", or one said so in the last
//                     kReplacedRevocationAlert for a version since replaced
//                     (the run that learns of a revocation renews at once)
//   ca-unreachable    unreachable_runs >= ca_unreachable_runs
//   endpoint-mismatch a probe served a certificate other than the live one
//                     (live_match "no")
//   probe-failing     a probe did not complete the handshake, or the served
//                     chain is not valid, or its names do not cover the SNI
//
// `deliveries` holds, per certificate, the steps of its newest attempt that
// delivered (IsDeliveryStep): the last attempt may be a deferral without
// steps, which must not make a rollback look undone. A certificate without
// an entry is judged by its last attempt's steps.
using DeliverySteps = std::map<std::string, std::vector<StepView>>;
std::vector<AlertCondition> AlertConditions(const MonitorSnapshot& snapshot,
                                            const AlertSettings& alert,
                                            const DeliverySteps& deliveries = {});

// A step of delivering a version to c's deploy targets: a pre-deploy check,
// a verification, a rollback, or any step naming one of c.deploy.
bool IsDeliveryStep(const StepView& step, const CertificateView& c);

// The position of `event` in kAlertEvents; kAlertEvents.size() when unknown.
size_t AlertEventIndex(std::string_view event);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ALERT_CONDITIONS_H_
