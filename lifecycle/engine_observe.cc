// EngineImpl's monitoring commands: check (with revocation), probe and the
// revocation refresh.
#include <string>
#include <vector>

#include "base/log.h"
#include "lifecycle/engine_impl.h"
#include "lifecycle/prober.h"
#include "lifecycle/revocation.h"

namespace certkeeper::lifecycle {

Result<std::vector<CheckFinding>> EngineImpl::Check() {
  // Revocation first: a certificate found revoked is then reported as due.
  CK_ASSIGN_OR_RETURN(std::vector<RevocationView> answers,
                      RevocationChecker(ctx_).Refresh(false));
  CK_ASSIGN_OR_RETURN(std::vector<CheckFinding> findings, queries_.Check());
  AddRevocationFindings(answers, findings);
  return findings;
}

Result<std::vector<RevocationView>> EngineImpl::CheckRevocation(bool force) {
  return RevocationChecker(ctx_).Refresh(force);
}

Result<std::vector<ProbeView>> EngineImpl::Probe() {
  const TimePoint started = clock_->Now();
  CK_ASSIGN_OR_RETURN(std::vector<ProbeView> probes, Prober(ctx_).ProbeAll());
  std::map<std::string, int> outcomes;
  for (const ProbeView& p : probes) {
    ++outcomes[!p.ok ? "failed" : (p.chain_valid && p.names_match && p.live_match != "no")
                                      ? "ok"
                                      : "mismatch"];
  }
  monitoring_.RecordRun("probe", started, outcomes);
  // Alerts change state: only under the run lease. A renewal holding it
  // evaluates them itself, with these results.
  Status lease = AcquireLock();
  if (lease.ok()) {
    monitoring_.AfterRun(fleet_ ? leases_.get() : nullptr);
  } else if (lease.code() == ErrorCode::kLocked) {
    log::Info("a renewal run holds the lock; it evaluates the alerts");
  } else {
    return lease;
  }
  return probes;
}

}  // namespace certkeeper::lifecycle
