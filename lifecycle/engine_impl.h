// The Engine facade: owns the parts (lifecycle/engine_parts.h) and the jobs
// built from them, and delegates to them; it holds no decision of its own.
//   accounts   Accounts            engine_account.{h,cc}
//   ari        RenewalInfoTracker  engine_ari.{h,cc}
//   issuance   Issuance            engine_issue.{h,cc}
//   delivery   Delivery            engine_deploy.{h,cc}, engine_reconcile.cc
//   queries    Queries             engine_query.{h,cc}
//   versions   revoke, import      engine_versions.h, engine_revoke.cc, engine_import.cc
//   renew      EngineImpl::Renew   engine_renew.cc (what is due, budgets, --jobs)
//   monitoring Monitoring          engine_monitor.{h,cc}; probes, revocation, alerts,
//              metrics in prober, revocation, alerts, metrics.{h,cc}
// engine_impl.cc: assembling, the run lease, and Issue / IssueAndDeploy, the
// composition of issuance and delivery within one attempt.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_IMPL_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_IMPL_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lifecycle/backoff.h"
#include "lifecycle/due.h"
#include "lifecycle/engine.h"
#include "lifecycle/engine_account.h"
#include "lifecycle/engine_ari.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/engine_deploy.h"
#include "lifecycle/engine_issue.h"
#include "lifecycle/engine_monitor.h"
#include "lifecycle/engine_parts.h"
#include "lifecycle/engine_query.h"
#include "lifecycle/state_layout.h"
#include "store/inventory.h"
#include "store/lease.h"

namespace certkeeper::lifecycle {

// Renew's run (engine_renew.cc): gather, plan, execute.
class RenewRun;

class EngineImpl : public Engine {
 public:
  // Every part MUST be set (Engine::Assemble checks).
  EngineImpl(Config config, EngineParts parts);
  // Records the settled record when the engine's run allows it (AcquireLock).
  ~EngineImpl() override;

  Result<CertificateOutcome> Issue(const CertificateSpec& spec) override;
  Result<RunReport> Renew(const RenewOptions& options) override;
  Result<std::vector<CertificateView>> List() override { return queries_.List(); }
  Result<CertificateView> Show(const std::string& name) override { return queries_.Show(name); }
  Result<std::vector<AttemptView>> History(const std::string& name) override {
    return queries_.History(name);
  }
  Status Revoke(const std::string& name, const std::string& reason) override;
  Result<CertificateOutcome> Deploy(const std::string& name) override;
  Result<std::vector<CheckFinding>> Check() override;
  Result<std::vector<std::string>> Import(const std::vector<std::string>& paths) override;
  Result<ImportReport> ApplyImport(const ImportPlan& plan) override;
  std::map<std::string, int64_t> RequestCounts() override { return accounts_.RequestCounts(); }
  Result<AccountView> RegisterAccount() override;
  Result<AccountView> ShowAccount() override { return accounts_.Show(); }
  Result<AccountView> RolloverAccountKey() override;
  Result<AccountView> DeactivateAccount() override;
  Result<MonitorSnapshot> Snapshot() override { return monitoring_.Snapshot(); }
  Result<std::vector<ProbeView>> Probe() override;
  Result<std::vector<RevocationView>> CheckRevocation(bool force) override;

 private:
  friend class RenewRun;
  // The run lease (leases_->AcquireRun), held until the engine is destroyed.
  // The first time it is taken, what an interrupted run left is settled
  // before anything else: attempts left running are closed (a failure to
  // close them is logged: they stay "running" in the history, the next run
  // closes them, and no decision reads them), temporary files are removed
  // (logged: a leftover harms nothing but space), and live/ is reconciled
  // with the inventory (Delivery::Reconcile).
  Status AcquireLock();
  Status RequireServer() const { return CheckServerConfigured(config_); }

  // Issues one certificate as one recorded attempt (Issuance::IssueVersion),
  // then delivers it (Delivery::DeployVersion). A live version that cannot
  // be read fails the attempt before any CA request.
  // `route`: the CAs to try; unset: Issuance::RouteFor(spec, live).
  // `claim`: the caller's claim on the certificate (also route->claim when a
  // route is given). A claim lost meanwhile fails the attempt with kLocked
  // and leaves the shared schedule alone: the host holding it now decides.
  CertificateOutcome IssueAndDeploy(const CertificateSpec& spec, const std::string& reason,
                                    const CaRoute* route = nullptr,
                                    const store::CertificateClaim* claim = nullptr);
  // Claims `name` for this host (Leases::Claim with [store] lease_ttl).
  Result<std::unique_ptr<store::CertificateClaim>> ClaimCertificate(const std::string& name) {
    return leases_->Claim(name, config_.store.lease_ttl);
  }
  void RecordFailure(const CertificateSpec& spec, int64_t attempt_id, const Status& error,
                     std::optional<TimePoint> not_after) {
    issuance_.RecordFailure(spec, attempt_id, error, not_after);
  }
  // Reports (and, unless a dry run, records) a certificate whose CA-imposed
  // wait runs into its expiry as failed with `error` (engine_renew.cc).
  void FailIntoExpiry(const CertificateSpec& spec, TimePoint now, bool dry_run, Status error,
                      CertificateOutcome& out);
  // Delivery::DeployNewest with the run lease.
  Result<CertificateOutcome> DeployNewest(const std::string& name);
  void FinishInterruptedDeliveries() { delivery_.FinishInterruptedDeliveries(); }
  // Marks each certificate in delivery_.unfinished_deliveries() failed in
  // report (added when not selected), unless a delivery of it in the run
  // succeeded (engine_renew.cc).
  void ReportUnfinishedDeliveries(RunReport& report) const;
  void ForgetDirectory() { ari_.ForgetDirectory(); }
  std::optional<store::RenewalInfoRecord> RefreshRenewalInfo(
      const std::string& name, const store::Version& live,
      const std::optional<store::RenewalInfoRecord>& stored) {
    return ari_.Refresh(name, live, stored);
  }

  // The parts, then the jobs built on them (construction order matters).
  Config config_;
  Clock* clock_;
  StateLayout layout_;
  std::unique_ptr<store::Inventory> inventory_;
  std::unique_ptr<store::Leases> leases_;
  std::unique_ptr<Fleet> fleet_;  // null on a single host
  bool lease_settled_ = false;  // AcquireLock's settling has run
  // What AcquireLock found (live/'s stamp, the inventory's live versions),
  // when it could be trusted; recorded at the end if nothing changed.
  std::optional<SettledRecord> start_view_;
  bool leftovers_checked_ = false;  // AcquireLock's leftover scan succeeded
  UniformRandom random_;
  EngineContext ctx_;
  Accounts accounts_;
  RenewalInfoTracker ari_;
  Issuance issuance_;
  Delivery delivery_;
  Queries queries_;
  Monitoring monitoring_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_IMPL_H_
