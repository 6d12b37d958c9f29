// Delivering recorded versions: install -> verify -> switch live -> record, or
// roll back (engine_deploy.cc), and repairing what an interrupted run left
// (engine_reconcile.cc, docs/faults.md). The only writer of live/.
//
// Every method MUST be called with the run lease held. Deliveries never
// overlap, whatever --jobs says: targets of different certificates often
// share a server and its reload, and a reload while another certificate's new
// files are half written fails on that certificate's mismatched key and
// certificate.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_DEPLOY_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_DEPLOY_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hooks/deployer.h"
#include "hooks/material.h"
#include "lifecycle/engine.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/engine_parts.h"
#include "store/fleet_store.h"

namespace certkeeper::lifecycle {

class Delivery {
 public:
  Delivery(const EngineContext& ctx, DeployFunction deploy)
      : ctx_(ctx), deploy_(std::move(deploy)) {}

  // Delivers version n (already recorded) to the certificate's targets as
  // one unit and switches live/<name> to it only when every target verified.
  // Returns the deploy error, OK when deployed. Contract:
  //  - Every step, including a refusal before any target runs (material that
  //    does not load or does not pass CheckMaterial), is recorded in
  //    attempt_id (nothing when attempt_id <= 0).
  //  - The live version is passed as DeployContext::previous, also when n is
  //    the live version itself (a re-deploy), so that command targets roll
  //    back by delivering what was live before. A live version that cannot be
  //    read (other than "none") refuses the deploy: without it there is
  //    nothing to roll back to and live/ could not be pointed back.
  //  - On failure n is marked deploy_failed unless n is the live version: a
  //    failed re-deploy rolls back to that same version, which therefore stays
  //    deployed.
  //  - Crash safety (docs/faults.md): a deploy intent is written before any
  //    target is touched; in RunDeploy's commit, after every target verified,
  //    live/ is switched and then n recorded as deployed (CommitDeploy); if
  //    either fails, live/ points back and the targets are rolled back. A
  //    crash between the switch and the record is repaired by Reconcile() at
  //    the next run's start. When an intent is left by an interrupted deploy,
  //    the targets may hold part of that version: the live version is
  //    delivered again first, so that the rollback material this deploy keeps
  //    is the recorded live version, not the leftovers.
  Status DeployVersion(const CertificateSpec& spec, int n, int64_t attempt_id);
  // The newest version of `name` (one issued but not delivered yet, or the
  // live one again), as its own attempt. Without finishing interrupted
  // deliveries first and without their errors.
  Result<CertificateOutcome> DeployNewest(const std::string& name);
  // How a delivery attempt ends: success, or failed with s's code and message.
  store::AttemptEnd DeliveryEnd(const Status& s, int version) const;

  // Makes the inventory and live/ agree after an interrupted run, for every
  // certificate (engine_reconcile.cc). Called once a run holds the lock,
  // before anything else is decided. Best effort: a repair that fails is
  // logged and retried by the next run. `all`: the current versions of
  // every certificate, read by the caller. `settled`: the settled record
  // (settled_record.h) still holds, so they agree and no intent exists: the
  // per-certificate checks are skipped.
  void Reconcile(Result<std::map<std::string, store::CurrentVersions>> all, bool settled);
  // Whether this engine's first Reconcile and FinishInterruptedDeliveries
  // found live/ and the inventory agreeing everywhere and no deploy intent
  // (or were settled), so that a run that then changes nothing may record it.
  bool found_settled() const { return found_settled_; }
  // Forgets the versions Reconcile read (see FinishInterruptedDeliveries).
  // MUST be called when anything may have recorded a version since Reconcile
  // ran, i.e. by every command after the one whose lock Reconcile ran under.
  void DropReconciledVersions() { reconciled_versions_.reset(); }
  // Finishes every delivery an interrupted run left (a deploy intent in
  // archive/<name>/deploying). MUST be called by every command that delivers,
  // once it holds the lock and before it delivers anything: the targets of
  // such a certificate may hold part of a version (a new certificate beside
  // the old key), and a server shared with other certificates refuses their
  // reloads until it is repaired. For each one, serially: the recorded live
  // version is delivered again (without one, the interrupted version, when it
  // is recorded), as its own attempt with an event; a newer version is
  // delivered later by the normal path. Runs once per engine; what cannot be
  // finished is logged, kept in unfinished_deliveries() for the run's report,
  // and its intent stays. When Reconcile ran in the same command and changed
  // nothing, the versions it read are used instead of reading them again.
  void FinishInterruptedDeliveries();
  // The current versions of every certificate as the FinishInterruptedDeliveries
  // call just made read them, when it found nothing to finish (so nothing it
  // did changed them); nullopt when it finished something, could not read, or
  // had run before. MUST be taken right after that call, before anything
  // records a version: a renewal run over thousands of certificates then reads
  // them once instead of twice. Taken once.
  std::optional<std::map<std::string, store::CurrentVersions>> TakeUnchangedVersions() {
    return std::exchange(unchanged_versions_, std::nullopt);
  }
  // OK, or the error of an interrupted delivery of a certificate other than
  // `except` that FinishInterruptedDeliveries could not finish.
  Status UnfinishedDeliveriesError(const std::string& except) const;
  // Set by FinishInterruptedDeliveries before a run's parallel phase; only
  // read afterwards.
  const std::map<std::string, Status>& unfinished_deliveries() const {
    return unfinished_deliveries_;
  }

  // Fleet only (ctx.fleet set; engine_fleet_delivery.cc, docs/fleet.md): for
  // every certificate of this host's config that it delivers
  // (Config::DeliversHere) whose fleet-live version L is newer than what this
  // host delivered (its host_deployments row, else its live/ link), fetches
  // L's files into archive/<name>/<L> and delivers them with DeployVersion,
  // as its own attempt. A delivery of L that failed on this host is retried
  // once kFleetRetryDelay has passed since that failure. Never changes the
  // fleet-level version state. Runs once per engine; a no-op on a single
  // host. MUST be called after FinishInterruptedDeliveries.
  void DeliverFleetVersions();
  // Puts the outcomes of DeliverFleetVersions in `report`: a certificate the
  // run did nothing else with ("not-due", "deferred", absent) is reported
  // "deployed" or "failed" for its delivery.
  void ReportFleetDeliveries(RunReport& report) const;

 private:
  // One DeployVersion call.
  struct Job {
    Job(const CertificateSpec& s, int version, int64_t attempt)
        : spec(s), n(version), attempt_id(attempt) {}
    const CertificateSpec& spec;
    int n;
    int64_t attempt_id;
    int live_n = 0;  // the recorded live version (in a fleet: this host's), 0 when none
    // In a fleet, n is already deployed fleet-wide (another host renewed and
    // delivered it): this delivery records only this host's deployment and
    // never changes the version's state.
    bool follower = false;
    std::vector<hooks::TargetConfig> targets;
    bool record_failed = false;  // CommitDeploy failed at the record
  };
  // Records a failed pre-deploy check in the attempt.
  void RecordCheck(const Job& job, const Status& err);
  // RecordCheck, then Fail.
  Status Refuse(Job& job, Status err);
  // Marks n deploy_failed (unless live), records the event, adds the hint.
  Status Fail(Job& job, Status err, const std::string& event_detail);
  // The targets part of DeployVersion: material, restore, intent, RunDeploy.
  Status DeliverToTargets(Job& job);
  // Runs the targets with `material` and records their steps in the attempt.
  hooks::DeployReport Run(const Job& job, const hooks::Material& material,
                          const hooks::DeployOptions& options);
  // Options with the clock, `previous` and acme.issuer_roots as trust.
  Result<hooks::DeployOptions> OptionsWith(const hooks::Material* previous) const;
  // The configured targets of spec.deploy, in order; kInvalidArgument names
  // one that is not defined.
  Result<std::vector<hooks::TargetConfig>> DeployTargets(const CertificateSpec& spec) const;
  void RecordDeploySteps(int64_t attempt_id, const hooks::DeployReport& report);
  Result<hooks::Material> LoadMaterial(const CertificateSpec& spec, int n);
  // live/<name> -> n, then n recorded as deployed. On failure live/ points
  // back at live_n (none when 0), *record_failed tells whether the switch or
  // the record failed, and the error is returned for the caller to roll back.
  Status CommitDeploy(Job& job);
  // Fleet: the live version of this host and whether n is a follower
  // delivery (Job::follower); n's files fetched from the fleet when they are
  // not in archive/<name>/<n> yet.
  Status PrepareFleetJob(Job& job);
  // Fleet: what this host delivered of `name`: its host_deployments row when
  // "deployed", else the version its live/ points at (0: none).
  Result<int> HostLiveVersion(const std::string& name) const;
  // Fleet: records this host's deployment (best effort: a lost record is
  // repaired by Reconcile, which compares it with live/).
  void RecordHostDeployment(const std::string& name, int n, const Status& result) const;
  // Fleet: n's files into archive/<name>/<n> from the shared inventory when
  // they are not there complete.
  Status FetchVersionFiles(const std::string& name, int n) const;
  void ClearIntentBestEffort(const std::string& name);

  // engine_reconcile.cc
  // live: live/ opened once for the whole pass (null: each link by its path).
  void ReconcileOne(const std::string& name, const store::CurrentVersions& current,
                    const fs::Dir* live);
  // In a fleet live/ is compared with this host's host_deployments row, never
  // switched to a version this host did not deliver (engine_fleet_delivery.cc).
  void ReconcileFleetOne(const std::string& name, const store::CurrentVersions& current,
                         const store::HostDeployment* here);
  // K = linked is recorded as issued, newer than the recorded live version,
  // with complete files: records it as deployed. True when K settles the
  // certificate (also when K is revoked, which is left alone, or when the
  // record failed, which the next run retries).
  bool RollForward(const std::string& name, int linked, int recorded, const Result<int>& intent,
                   const store::CurrentVersions& current);
  Status FinishInterruptedDelivery(const std::string& name, int interrupted,
                                   const store::CurrentVersions& current);
  // Delivers the live version live_n to spec's targets again and removes the
  // deploy intent when every target verified; the intent stays on failure.
  // Neither live/ nor the inventory changes. Holds deploy_mu_.
  Status RestoreLiveVersion(const CertificateSpec& spec, int live_n, int64_t attempt_id);

  const EngineContext& ctx_;
  DeployFunction deploy_;
  std::mutex deploy_mu_;  // held for the whole of DeployVersion and RestoreLiveVersion
  bool deliveries_finished_ = false;
  std::map<std::string, Status> unfinished_deliveries_;
  std::optional<std::map<std::string, store::CurrentVersions>> unchanged_versions_;
  // What Reconcile read, when it repaired nothing; taken by the next
  // FinishInterruptedDeliveries (or dropped).
  std::optional<std::map<std::string, store::CurrentVersions>> reconciled_versions_;
  bool reconcile_changed_ = false;
  bool intents_absent_ = false;  // known without looking (a settled run)
  bool found_settled_ = false;
  bool fleet_delivered_ = false;
  std::vector<CertificateOutcome> fleet_outcomes_;
};

// How long a delivery that failed on one host waits before a later run
// retries it there (`certkeeper deploy NAME` retries at once).
inline constexpr Duration kFleetRetryDelay = std::chrono::minutes(5);

// `report.error`, annotated with the rollback's error when that failed too
// ("<what> failed and rollback failed too (...)").
Status WithRollbackError(const hooks::DeployReport& report, const std::string& what);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_DEPLOY_H_
