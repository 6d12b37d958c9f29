// The Engine implementation's shared state. Split over files by concern:
// engine_impl.cc (opening, views), engine_account.cc (the ACME account),
// engine_issue.cc (issuing one certificate and recording it), engine_renew.cc
// (what is due, backoff, budgets, --jobs), engine_deploy.cc (deploy, revoke,
// check, import).
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_IMPL_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_IMPL_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "acme/client.h"
#include "hooks/deployer.h"
#include "hooks/material.h"
#include "lifecycle/backoff.h"
#include "lifecycle/due.h"
#include "lifecycle/engine.h"
#include "lifecycle/solver_set.h"
#include "lifecycle/state_layout.h"
#include "store/inventory.h"
#include "store/run_lock.h"

namespace certkeeper::lifecycle {

class RenewRun;  // engine_renew.cc: one `renew` run (gather -> plan -> execute)

class EngineImpl : public Engine {
 public:
  // http null: the client builds its libcurl transport from config.acme.
  EngineImpl(Config config, Clock* clock, std::unique_ptr<store::Inventory> inventory,
             std::shared_ptr<acme::HttpClient> http);

  Result<CertificateOutcome> Issue(const CertificateSpec& spec) override;
  Result<RunReport> Renew(const RenewOptions& options) override;
  Result<std::vector<CertificateView>> List() override;
  Result<CertificateView> Show(const std::string& name) override;
  Result<std::vector<AttemptView>> History(const std::string& name) override;
  Status Revoke(const std::string& name, const std::string& reason) override;
  Result<CertificateOutcome> Deploy(const std::string& name) override;
  Result<std::vector<CheckFinding>> Check() override;
  Result<std::vector<std::string>> Import(const std::vector<std::string>& paths) override;
  std::map<std::string, int64_t> RequestCounts() override;
  Result<AccountView> RegisterAccount() override;
  Result<AccountView> ShowAccount() override;
  Result<AccountView> RolloverAccountKey() override;
  Result<AccountView> DeactivateAccount() override;

 private:
  friend class RenewRun;

  // The state directory's run lock, held until the engine is destroyed.
  Status AcquireLock();
  Status RequireServer() const;
  // The ACME client, with an account registered or loaded (no request when the
  // inventory knows the account URL).
  Result<acme::Client*> AccountClient();
  Result<acme::Client*> BareClient();
  Result<PrivateKey> LoadOrCreateAccountKey(const std::string& path);
  Result<SolverSet*> Solvers();

  // Renewal information (engine_ari.cc). RememberDirectory stores what the CA's
  // directory offers (once per run); RenewalInfoUrl answers from the
  // inventory when it is fresh, otherwise fetches the directory (once per
  // run, also when that fails); ForgetDirectory starts a new run, so an
  // engine that lives for many runs neither keeps a failure nor a stale URL. RefreshRenewalInfo fetches the window for the
  // live version when its next fetch time has come, stores it and returns what
  // applies now (nullopt when the CA offers no renewal information).
  void ForgetDirectory();
  void RememberDirectory(const acme::Directory& directory);
  Result<std::string> RenewalInfoUrl();
  std::optional<store::RenewalInfoRecord> RefreshRenewalInfo(
      const std::string& name, const store::Version& live,
      const std::optional<store::RenewalInfoRecord>& stored);

  // Issues one certificate as one recorded attempt, then deploys it.
  CertificateOutcome IssueAndDeploy(const CertificateSpec& spec, const std::string& reason);
  // Deploys version n (already recorded) and records the outcome. Returns the
  // deploy error, OK when deployed. One deployment at a time per engine, also
  // under --jobs: targets of different certificates often share a server and
  // its reload, and a reload while another certificate's new files are half
  // written fails on that certificate's mismatched key and certificate.
  // How a delivery attempt ends: success, or failed with s's code and message.
  store::AttemptEnd DeliveryEnd(const Status& s, int version) const;
  Status DeployVersion(const CertificateSpec& spec, int n, int64_t attempt_id);
  // Deploy() without finishing interrupted deliveries first and without their
  // errors: the delivery of one certificate within a run (renew).
  Result<CertificateOutcome> DeployNewest(const std::string& name);
  // The configured targets of spec.deploy, in order; kInvalidArgument names one
  // that is not defined.
  Result<std::vector<hooks::TargetConfig>> DeployTargets(const CertificateSpec& spec) const;
  // Records report's steps in attempt_id (nothing when attempt_id <= 0).
  void RecordDeploySteps(int64_t attempt_id, const hooks::DeployReport& report);
  Result<hooks::Material> LoadMaterial(const CertificateSpec& spec, int n);
  // live/<name> -> n, then n recorded as deployed. On failure live/ points back
  // at live_n (none when 0), *record_failed tells whether the switch or the
  // record failed, and the error is returned for the caller to roll back.
  Status CommitDeploy(const std::string& name, int n, int live_n, bool* record_failed);
  void ClearIntentBestEffort(const std::string& name);
  // An inventory write whose failure does not change the outcome already
  // decided (the deploy's result stands, the record is informational): a
  // failure is logged, never dropped silently.
  static void RecordBestEffort(const Status& s, const std::string& name, const std::string& what);
  // Makes the inventory and live/ agree after an interrupted run, for every
  // certificate (engine_reconcile.cc, docs/faults.md). Called once a run holds
  // the lock, before anything else is decided. Best effort: a repair that fails
  // is logged and retried by the next run.
  void Reconcile();
  // Finishes every delivery an interrupted run left (a deploy intent in
  // archive/<name>/deploying; engine_reconcile.cc, docs/faults.md). MUST be
  // called by every command that delivers, once it holds the lock and before
  // it delivers anything: the targets of such a certificate may hold part of
  // a version (a new certificate beside the old key), and a server shared with
  // other certificates refuses their reloads until it is repaired. For each
  // one, serially: the recorded live version is delivered again (without one,
  // the interrupted version, when it is recorded), as its own attempt with an
  // event; a newer version is delivered later by the normal path. Runs once
  // per engine; what cannot be finished is logged, kept in
  // unfinished_deliveries_ for the run's report, and its intent stays.
  void FinishInterruptedDeliveries();
  Status FinishInterruptedDelivery(const std::string& name, int interrupted,
                                   const store::CurrentVersions& current);
  // Delivers the live version live_n to spec's targets again and removes the
  // deploy intent when every target verified; the intent stays on failure.
  // Neither live/ nor the inventory changes. Holds deploy_mu_.
  Status RestoreLiveVersion(const CertificateSpec& spec, int live_n, int64_t attempt_id);
  // OK, or the error of an interrupted delivery of a certificate other than
  // `except` that FinishInterruptedDeliveries could not finish.
  Status UnfinishedDeliveriesError(const std::string& except) const;
  // Marks each certificate in unfinished_deliveries_ failed in report (added
  // when not selected), unless a delivery of it in the run succeeded.
  void ReportUnfinishedDeliveries(RunReport& report) const;
  void RecordFailure(const CertificateSpec& spec, int64_t attempt_id, const Status& error,
                     std::optional<TimePoint> not_after);
  // `error` itself, or, when it is a CA rate limit whose wait runs into the
  // live version's expiry (lifecycle/ca_wait.h), an error that says so.
  Status ExplainCaWait(Status error, const Result<store::Version>& live) const;
  // Reports (and, unless a dry run, records) a certificate whose CA-imposed
  // wait runs into its expiry as failed with `error`.
  void FailIntoExpiry(const CertificateSpec& spec, TimePoint now, bool dry_run, Status error,
                      CertificateOutcome& out);
  void AddStep(int64_t attempt_id, store::AttemptStep step);
  void Event(const std::string& certificate, const std::string& kind,
             const std::string& message);

  // The certificate, or kNotFound with a message for people.
  Result<store::Certificate> FindManaged(const std::string& name);
  Result<CertificateView> MakeView(const store::Certificate& cert, bool with_versions);
  // The same from facts already read (live version and newest attempt; null
  // when there is none).
  Result<CertificateView> MakeView(const store::Certificate& cert,
                                   const store::Version* live, const store::Attempt* last_attempt,
                                   bool with_versions);

  Config config_;
  Clock* clock_;
  StateLayout layout_;
  std::unique_ptr<store::Inventory> inventory_;
  std::unique_ptr<store::RunLock> lock_;
  std::shared_ptr<acme::HttpClient> http_;
  std::mutex deploy_mu_;  // held for the whole of DeployVersion and RestoreLiveVersion
  // Set by FinishInterruptedDeliveries before a run's parallel phase; only
  // read afterwards.
  bool deliveries_finished_ = false;
  std::map<std::string, Status> unfinished_deliveries_;
  std::mutex client_mu_;
  std::unique_ptr<acme::Client> client_;
  bool account_ready_ = false;
  std::unique_ptr<SolverSet> solvers_;
  UniformRandom random_;
  // CA health within one run: consecutive "CA unavailable" failures.
  std::atomic<int> ca_unavailable_streak_{0};
  std::atomic<int> ari_unavailable_streak_{0};
  std::mutex ari_mu_;
  std::optional<std::string> renewal_info_url_;  // guarded by ari_mu_
  Status directory_error_;                       // guarded by ari_mu_
  bool directory_recorded_ = false;              // guarded by ari_mu_
};

// The stored renewal window and chosen time when they belong to the live
// version `live_version` and a fetch succeeded; nullopt otherwise.
std::optional<AriSchedule> StoredAriSchedule(
    const std::optional<store::RenewalInfoRecord>& info, int live_version);

// store <-> lifecycle conversions.
store::CertificateSpec ToStoreSpec(const CertificateSpec& spec, const Config& config);
Result<CertificateSpec> FromStoreSpec(const store::CertificateSpec& spec);
VersionView ToView(const store::Version& v);
AttemptView ToView(const store::Attempt& a);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_IMPL_H_
