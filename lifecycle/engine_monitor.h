// Monitoring inside the engine: builds the snapshot that metrics, alerts and
// the status page read (lifecycle/monitor.h), and after each run records its
// summary and what it learned about each CA, evaluates the alerts and
// rewrites the metrics textfile.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_MONITOR_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_MONITOR_H_

#include <map>
#include <string>
#include <vector>

#include "lifecycle/engine.h"
#include "lifecycle/engine_account.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/engine_issue.h"
#include "lifecycle/engine_query.h"
#include "lifecycle/monitor.h"
#include "store/lease.h"

namespace certkeeper::lifecycle {

// The lease name under which one host of a fleet evaluates and sends the
// alerts of a run. A ':' is never in a certificate name
// (ValidateCertificateName), so no certificate's claim can collide with it.
inline constexpr std::string_view kAlertsLease = ":alerts";

class Monitoring {
 public:
  Monitoring(const EngineContext& ctx, Accounts& accounts, Issuance& issuance, Queries& queries)
      : ctx_(ctx), accounts_(accounts), issuance_(issuance), queries_(queries) {}

  // Reads only. Every read that fails is the error (never a partial view).
  Result<MonitorSnapshot> Snapshot();

  // Records a run of `kind` ("renew", "probe") that started at `started`
  // with these outcomes, and for "renew" each CA's reachability and the
  // requests sent to it since the last record. Failures are logged: the
  // run's own outcome stands.
  void RecordRun(const std::string& kind, TimePoint started,
                 const std::map<std::string, int>& outcomes);

  // Evaluates the alerts and rewrites [metrics] textfile from a fresh
  // snapshot. Failures are logged; the caller MUST hold the run lease.
  // `fleet_leases`: in a fleet, the leases through which one host per run
  // claims the alerts (kAlertsLease); a host that finds them claimed by
  // another leaves the alerts to it. Null on a single host.
  void AfterRun(store::Leases* fleet_leases = nullptr);

 private:
  void RecordCas(TimePoint now);

  const EngineContext& ctx_;
  Accounts& accounts_;
  Issuance& issuance_;
  Queries& queries_;
  // Per CA index: the request counts already added to the inventory's totals.
  std::map<size_t, std::map<std::string, int64_t>> recorded_requests_;
};

// The outcome kinds of a report, counted ("renewed" -> 2, ...).
std::map<std::string, int> CountOutcomes(const RunReport& report);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_MONITOR_H_
