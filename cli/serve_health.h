// What serve's /healthz says: "ok", or "degraded" with one reason per thing
// that needs a person. A pure function of a monitoring snapshot.
#ifndef CERTKEEPER_CLI_SERVE_HEALTH_H_
#define CERTKEEPER_CLI_SERVE_HEALTH_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "lifecycle/monitor.h"

namespace certkeeper::cli {

// How long past its renewal time a certificate may stay unrenewed before it
// counts: the default timer runs `renew --all` twice a day, so a certificate
// that just became due is renewed within that time and is no reason.
inline constexpr Duration kRenewOverdueGrace = std::chrono::hours(24);

struct Health {
  bool ok() const { return reasons.empty(); }
  // One line each, e.g. "certificate web: failing: <error>". Texts that came
  // from outside (CA errors, probe errors) are included as they are: callers
  // escape them for their output.
  std::vector<std::string> reasons;
};

// Degraded by: a certificate failing, expired, or past renew_at by more than
// kRenewOverdueGrace; a live version revoked; a CA unreachable at its last
// contact; an endpoint whose newest probe failed or found a problem.
Health EvaluateHealth(const lifecycle::MonitorSnapshot& snapshot);

// The health when the snapshot could not be read: degraded, the inventory
// unreadable (fails closed: an unreadable inventory is never "ok").
Health UnreadableHealth(const Status& error);

// The /healthz bodies: "ok\n" or "degraded\n" plus one reason per line
// (terminal-escaped, so one line each); and {"status": "ok"|"degraded",
// "reasons": [...]}.
std::string HealthText(const Health& health);
std::string HealthJson(const Health& health);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_SERVE_HEALTH_H_
