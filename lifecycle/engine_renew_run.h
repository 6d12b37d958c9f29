// RenewRun: one `renew` run over one engine (engine_renew.cc; the claims of
// a fleet in engine_renew_claim.cc). Internal to lifecycle/.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_RENEW_RUN_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_RENEW_RUN_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lifecycle/engine_impl.h"
#include "lifecycle/planner.h"
#include "store/lease.h"

namespace certkeeper::lifecycle {

// One `renew` run over one engine (a friend of EngineImpl).
class RenewRun {
 public:
  RenewRun(EngineImpl& engine, const RenewOptions& options) : e_(engine), options_(options) {}

  Result<RunReport> Run();

 private:
  Status Prepare();
  void RefreshRevocation();
  Status SelectAll();
  Status SelectNamed();
  void AddFacts(CertificateSpec spec, const store::Certificate* cert);
  // The same for a row of this run's own: its schedule and ARI record are
  // moved, not copied.
  void TakeFacts(CertificateSpec spec, store::Certificate&& cert);
  void ReadCaFacts();
  void RefreshRenewalInfo();
  void Execute(size_t i);
  void ExecuteDeploy(size_t i);
  void ExecuteDue(size_t i, const store::CertificateClaim* claim);
  // Claims certificate i before it is delivered or ordered
  // (engine_renew_claim.cc). Null when another host (or job) holds it, or the
  // claim failed: its outcome is then reported.
  std::unique_ptr<store::CertificateClaim> ClaimOrReport(size_t i);
  // In a fleet, once the claim is held: certificate i's facts read again and
  // its decision made again, since another host may have renewed it (or met
  // a CA limit) after this run's plan. plan_[i] is replaced; note_[i] says
  // "renewed by <host>" when another host's version made it not due.
  void Redecide(size_t i);
  // The host of the newest attempt that made version n of `name`, for people.
  std::string RenewedBy(const std::string& name, int n);
  // In a fleet: BeforeOrder counted from the shared request log and the
  // order reserved by recording its requests, in one inventory transaction
  // (fleet-wide atomic), so that two hosts cannot both take the last order
  // a budget allows.
  Decision ReserveFleetWide(size_t i, size_t ca);
  // Reports a decision that is not executed, recording it unless a dry run.
  void Report(size_t i, const Decision& d);
  void ApplyWrites(const Decision& d);
  Decision Check(size_t i, size_t ca, bool reserve);
  void Release(size_t i);
  RunSoFar SoFar(size_t ca);

  EngineImpl& e_;
  const RenewOptions& options_;
  PlanInput input_;
  // The stored renewal information of each certificate, before the refresh.
  std::vector<std::optional<store::RenewalInfoRecord>> stored_ari_;
  std::vector<Decision> plan_;
  RunReport report_;
  std::atomic<int> orders_started_{0};
  std::atomic<int> lease_conflicts_{0};
  // Per certificate: what the report says instead of the plan's reason
  // (Redecide); written only by the job that works on the certificate.
  std::vector<std::string> note_;
  // Orders the run is placing, by certificate, counted before they are
  // recorded (Check). Guarded by budget_mu_.
  std::mutex budget_mu_;
  std::vector<std::pair<size_t, store::RequestRecord>> reserved_;
  // Every certificate's current versions, read once for the run (Prepare
  // hands over the ones FinishInterruptedDeliveries read, when still current).
  std::optional<std::map<std::string, store::CurrentVersions>> versions_;
  // The stored certificates, removed ones included, as Prepare read them when
  // it wrote none (the config changed nothing): SelectAll's rows.
  std::optional<std::vector<store::Certificate>> stored_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_RENEW_RUN_H_
