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

#include <string>
#include <vector>

#include "base/status.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/monitor.h"

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

class Alerter {
 public:
  explicit Alerter(const EngineContext& ctx) : ctx_(ctx) {}

  // Evaluates every [[alert]] against `snapshot` and delivers what changed.
  // Only a failed inventory read or write is an error.
  Result<AlertReport> Evaluate(const MonitorSnapshot& snapshot);

 private:
  const EngineContext& ctx_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ALERTS_H_
