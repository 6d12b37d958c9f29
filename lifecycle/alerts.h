// Alerts: turns a monitoring snapshot into conditions per [[alert]] block
// ("expiring" web, "probe-failing" 10.0.0.1:443, ...) and notifies each
// alert's target when a condition starts and when it ends.
//
// Contract:
//  - Once: a condition is notified when it starts ("firing") and once when it
//    ends ("resolved"), not on every run; the state is kept in the inventory
//    (store::MonitorStore alert state), so two runs in the same condition send
//    one notification.
//  - Grouped: one notification per alert target and run carries every
//    condition that started or ended.
//  - Quiet: before quiet_until nothing is sent; what is still true then is
//    sent after.
//  - Never in the way: a failing target is retried with backoff on later
//    runs and the failure recorded; Evaluate never fails a renewal.
#ifndef CERTKEEPER_LIFECYCLE_ALERTS_H_
#define CERTKEEPER_LIFECYCLE_ALERTS_H_

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "lifecycle/alert_conditions.h"
#include "lifecycle/alert_delivery.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/monitor.h"
#include "store/monitor_store.h"

namespace certkeeper::lifecycle {

// One notification sent (or tried) to one alert target.
struct AlertDelivery {
  std::string alert;  // the [[alert]] name
  std::string type;   // "command", "webhook", "email"
  int firing = 0;     // conditions that started in it
  int resolved = 0;   // conditions that ended in it
  Status status;      // of the delivery
};

struct AlertReport {
  std::vector<AlertDelivery> deliveries;
};

// The delay before delivery attempt failures+1 of a notification that
// failed `failures` (>= 1) times: 1 minute, doubling, at most 1 hour.
Duration AlertRetryDelay(int failures);

// What one evaluation does with one alert's stored rows (a pure function of
// its inputs, so that the state machine is table-tested):
//  - a condition without a row starts: a new "firing" row, not notified;
//  - a condition with a row keeps it (since stays; detail is refreshed); a
//    "resolved" row whose notification is still pending goes back to
//    "firing" as notified (the receiver still has it firing);
//  - a row whose condition no longer holds: "firing" and notified becomes
//    "resolved" (ended_at = now, pending); "firing" and never notified is
//    removed without any notification; "resolved" stays pending;
//  - pending (not notified) rows are sent now unless quiet_until is ahead or
//    any of them waits for next_try_at; at most
//    kMaxConditionsPerNotification, firing first, the rest wait.
struct AlertPlan {
  std::vector<store::AlertState> rows;    // every row to keep, as it is to be stored
  std::vector<store::AlertState> remove;  // rows to delete without a notification
  std::vector<size_t> send;               // indexes into rows of what is sent now
  size_t more_pending = 0;                // pending rows left for the next notification
  std::string held;                       // why nothing is sent now ("quiet until ...")
};
AlertPlan PlanAlert(const AlertSettings& alert, const std::vector<AlertCondition>& conditions,
                    const std::vector<store::AlertState>& stored, TimePoint now);

class Alerter {
 public:
  // Delivers through the real targets (TargetAlertSender).
  explicit Alerter(const EngineContext& ctx);
  // Delivers through `sender` (not owned; outlives the Alerter).
  Alerter(const EngineContext& ctx, AlertSender* sender) : ctx_(ctx), sender_(sender) {}
  Alerter(const Alerter&) = delete;
  Alerter& operator=(const Alerter&) = delete;

  // Evaluates every [[alert]] against `snapshot` and delivers what changed.
  // Rows of alerts no longer configured are deleted. A failed delivery is
  // recorded (the rows stay pending with failures+1 and next_try_at, an
  // "alert-failed" event, the AlertDelivery's status) and is not an error:
  // only a failed inventory read or write is.
  Result<AlertReport> Evaluate(const MonitorSnapshot& snapshot);

 private:
  Result<std::optional<AlertDelivery>> EvaluateOne(const AlertSettings& alert,
                                                   const MonitorSnapshot& snapshot,
                                                   const DeliverySteps& deliveries,
                                                   const std::vector<store::AlertState>& stored);
  // The steps of the newest delivery of each certificate whose newest
  // version did not go live.
  Result<DeliverySteps> NewestDeliveries(const MonitorSnapshot& snapshot);

  const EngineContext& ctx_;
  TargetAlertSender target_sender_;
  AlertSender* sender_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ALERTS_H_
