#include "lifecycle/engine_impl.h"

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "base/phase_timer.h"
#include "lifecycle/engine_versions.h"

namespace certkeeper::lifecycle {

bool RunReport::any_failed() const {
  return std::any_of(certificates.begin(), certificates.end(),
                     [](const CertificateOutcome& o) { return o.outcome == "failed"; });
}

Result<std::unique_ptr<Engine>> Engine::Open(const Config& config, Clock* clock) {
  return Open(config, clock, nullptr);
}

Result<std::unique_ptr<Engine>> Engine::Open(const Config& config, Clock* clock,
                                             std::shared_ptr<acme::HttpClient> http) {
  CK_ASSIGN_OR_RETURN(EngineParts parts, DefaultParts(config, clock, std::move(http)));
  return Assemble(config, std::move(parts));
}

Result<std::unique_ptr<Engine>> Engine::Assemble(Config config, EngineParts parts) {
  const char* missing = !parts.inventory      ? "inventory"
                        : !parts.leases       ? "leases"
                        : !parts.acme_clients ? "acme_clients"
                        : !parts.solvers      ? "solvers"
                        : !parts.deploy       ? "deploy"
                        : !parts.clock        ? "clock"
                                              : nullptr;
  if (missing) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string("the engine part \"") + missing + "\" is not set")
        .Hint("every member of EngineParts is required (lifecycle/engine_parts.h)");
  }
  CK_RETURN_IF_ERROR(StateLayout(config.state_dir).Prepare());
  return std::unique_ptr<Engine>(new EngineImpl(std::move(config), std::move(parts)));
}

EngineImpl::EngineImpl(Config config, EngineParts parts)
    : config_(WithNormalizedCas(std::move(config))),
      clock_(parts.clock),
      layout_(config_.state_dir),
      inventory_(std::move(parts.inventory)),
      leases_(std::move(parts.leases)),
      fleet_(std::move(parts.fleet)),
      random_(SystemUniformRandom()),
      ctx_{&config_, clock_, &layout_, inventory_.get(), &random_, fleet_.get(), leases_.get()},
      accounts_(ctx_, std::move(parts.acme_clients)),
      ari_(ctx_, accounts_),
      issuance_(ctx_, accounts_, ari_, std::move(parts.solvers)),
      delivery_(ctx_, std::move(parts.deploy)),
      queries_(ctx_),
      monitoring_(ctx_, accounts_, issuance_, queries_) {}

Status EngineImpl::AcquireLock() {
  if (lease_settled_) {
    // An earlier command of this engine reconciled, and may have recorded
    // versions since.
    delivery_.DropReconciledVersions();
    return Status::Ok();
  }
  CK_RETURN_IF_ERROR(leases_->AcquireRun());
  lease_settled_ = true;
  // Attempts left running belong to a process that died: close them now that
  // no other run can be writing.
  // In a fleet only this host's: the others' may be running right now.
  auto closed = inventory_->CloseInterruptedAttempts(
      clock_->Now(), fleet_ ? std::optional<std::string_view>(config_.host) : std::nullopt);
  if (!closed.ok()) {
    log::Warn("attempts left running by an interrupted run not closed",
              {{"state_dir", config_.state_dir}, {"reason", closed.status().ToString()}});
  } else if (*closed > 0) {
    log::Warn("closed attempts left running by an interrupted run",
              {{"count", std::to_string(*closed)}});
  }
  // What the last run that changed nothing found (settled_record.h): when
  // live/ and the inventory's live versions are still what it found, the
  // per-certificate checks below are skipped. Taken (removed) first: a run
  // killed from here on leaves none.
  std::optional<SettledRecord> last = fleet_ ? std::nullopt : layout_.TakeSettled();
  auto all = inventory_->AllCurrentVersions();
  bool settled = false;
  if (!fleet_ && all.ok()) {
    if (std::optional<DirStamp> live = layout_.StampLive()) {
      start_view_ = SettledRecord{*live, LiveVersionsDigest(*all)};
      settled = last && *last == *start_view_;
    }
  }
  // Temporary files of writes that run did not finish (a key among them).
  Result<int> removed = layout_.RemoveLeftovers(/*archive=*/!settled);
  leftovers_checked_ = removed.ok();
  if (!removed.ok()) {
    log::Warn("leftover temporary files not removed",
              {{"state_dir", config_.state_dir}, {"reason", removed.status().ToString()}});
  } else if (*removed > 0) {
    log::Info("removed temporary files left by an interrupted run",
              {{"count", std::to_string(*removed)}});
  }
  delivery_.Reconcile(std::move(all), settled);
  return Status::Ok();
}

EngineImpl::~EngineImpl() {
  // A run that found everything agreeing and changed nothing under live/ or
  // archive/ tells the next one (settled_record.h).
  if (start_view_ && leftovers_checked_ && delivery_.found_settled() && !layout_.changed()) {
    layout_.RecordSettledBestEffort(*start_view_);
  }
}

Result<CertificateOutcome> EngineImpl::Issue(const CertificateSpec& spec) {
  phase::ScopedPhase timed("prepare");
  CK_RETURN_IF_ERROR(RequireServer());
  CK_ASSIGN_OR_RETURN(SolverSet * solvers, issuance_.Solvers());
  CK_RETURN_IF_ERROR(ChallengeRoutes(spec, solvers->Types()).status());
  CK_RETURN_IF_ERROR(AcquireLock());
  FinishInterruptedDeliveries();
  // Reach the CA before anything is recorded: a wrong URL, a TLS failure or a
  // server that is not an ACME server changes nothing. With several CAs, one
  // that fails is what the attempt falls back from, and is recorded.
  if (const CaRoute route = issuance_.RouteFor(spec, nullptr);
      route.order.size() == 1) {
    CK_ASSIGN_OR_RETURN(acme::Client * client, accounts_.BareClient(route.order.front()));
    CK_RETURN_IF_ERROR(client->GetDirectory().status());
    // The account too (key file permissions, registration, terms of service).
    CK_RETURN_IF_ERROR(accounts_.AccountClient(route.order.front()).status());
  }
  CK_RETURN_IF_ERROR(inventory_->PutCertificate(ToStoreSpec(spec, config_)));
  // In a fleet another host may be renewing it right now: kLocked naming it.
  CK_ASSIGN_OR_RETURN(std::unique_ptr<store::CertificateClaim> claim,
                      ClaimCertificate(spec.name));
  timed.Stop();
  CertificateOutcome outcome = IssueAndDeploy(spec, "issue requested", nullptr, claim.get());
  if (outcome.error.ok()) outcome.error = delivery_.UnfinishedDeliveriesError(spec.name);
  return outcome;
}

CertificateOutcome EngineImpl::IssueAndDeploy(const CertificateSpec& spec,
                                              const std::string& reason, const CaRoute* route,
                                              const store::CertificateClaim* claim) {
  CertificateOutcome outcome;
  outcome.name = spec.name;
  outcome.reason = reason;
  phase::ScopedPhase start_timed("attempt records");
  auto attempt_id = ctx_.StartAttempt(spec.name, reason);
  start_timed.Stop();
  if (!attempt_id.ok()) {
    outcome.outcome = "failed";
    outcome.error = attempt_id.status().Annotate("record attempt");
    return outcome;
  }
  const int64_t id = *attempt_id;
  Result<store::Version> live = inventory_->LiveVersion(spec.name);
  std::optional<TimePoint> live_not_after;
  if (live.ok()) live_not_after = live->not_after;

  auto fail = [&](Status error) {
    if (claim && error.code() == ErrorCode::kLocked && !claim->Check().ok()) {
      // Another host may hold the certificate now: its schedule is that
      // host's to move; this attempt only ends.
      store::AttemptEnd end;
      end.finished_at = clock_->Now();
      end.outcome = store::AttemptOutcome::kFailed;
      end.error_type = "claimLost";
      end.error_detail = error.ToString();
      RecordBestEffort(inventory_->FinishAttempt(id, end), spec.name,
                       "record the end of the attempt");
      outcome.outcome = "failed";
      outcome.error = std::move(error);
      return outcome;
    }
    // A rate limit that would hold the renewal past the certificate's expiry
    // says so (and stays a failure in the next runs, see Renew).
    error = issuance_.ExplainCaWait(std::move(error), live);
    issuance_.RecordFailure(spec, id, error, live_not_after);
    log::Debug("certificate failed", {{"certificate", spec.name}, {"error", error.ToString()}});
    outcome.outcome = "failed";
    outcome.error = std::move(error);
    return outcome;
  };
  // Unknown is not "none": it would order a new certificate instead of a
  // renewal (no "replaces", no expiry bound on the CA's wait).
  if (!live.ok() && live.status().code() != ErrorCode::kNotFound) {
    return fail(live.status().Annotate("read the live version of " + spec.name));
  }

  log::Info("issuing", {{"certificate", spec.name}, {"reason", reason}});
  CaRoute own;
  if (!route) {
    own = issuance_.RouteFor(spec, live.ok() ? &*live : nullptr);
    issuance_.HoldLimitedCas(spec, own);
    own.claim = claim;
  }
  auto version = issuance_.IssueVersion(spec, id, live, route ? *route : own);
  if (!version.ok()) return fail(version.status());
  phase::ScopedPhase deploy_timed("deploy to live/");
  Status s = delivery_.DeployVersion(spec, version->n, id);
  deploy_timed.Stop();
  outcome.version = ToView(*version);
  if (!s.ok()) {
    outcome.version->state = "deploy_failed";
    return fail(s);
  }
  outcome.version->state = "deployed";
  // The outcome is decided: the certificate is issued and delivered. Both
  // records in one commit.
  phase::ScopedPhase end_timed("attempt records");
  RecordBestEffort(inventory_->Transaction([&]() -> Status {
                     RecordBestEffort(inventory_->FinishAttempt(
                                          id, delivery_.DeliveryEnd(Status::Ok(), version->n)),
                                      spec.name, "record the end of the attempt");
                     RecordBestEffort(inventory_->SetSchedule(spec.name, store::Schedule{}),
                                      spec.name, "clear the backoff");
                     return Status::Ok();
                   }),
                   spec.name, "record the end of the attempt");
  outcome.outcome = live.ok() ? "renewed" : "issued";
  return outcome;
}

Result<CertificateOutcome> EngineImpl::DeployNewest(const std::string& name) {
  CK_RETURN_IF_ERROR(AcquireLock());
  return delivery_.DeployNewest(name);
}

Result<CertificateOutcome> EngineImpl::Deploy(const std::string& name) {
  CK_RETURN_IF_ERROR(AcquireLock());
  FinishInterruptedDeliveries();
  CK_ASSIGN_OR_RETURN(CertificateOutcome outcome, DeployNewest(name));
  if (outcome.error.ok()) outcome.error = delivery_.UnfinishedDeliveriesError(name);
  return outcome;
}

Status EngineImpl::Revoke(const std::string& name, const std::string& reason) {
  CK_RETURN_IF_ERROR(AcquireLock());
  return RevokeLiveVersion(ctx_, accounts_, name, reason);
}

Result<std::vector<std::string>> EngineImpl::Import(const std::vector<std::string>& paths) {
  CK_RETURN_IF_ERROR(AcquireLock());
  return ImportCertificates(ctx_, paths);
}

Result<ImportReport> EngineImpl::ApplyImport(const ImportPlan& plan) {
  CK_RETURN_IF_ERROR(AcquireLock());
  return ApplyImportPlan(ctx_, plan);
}

Result<AccountView> EngineImpl::RegisterAccount() {
  CK_RETURN_IF_ERROR(AcquireLock());
  return accounts_.Register();
}

Result<AccountView> EngineImpl::RolloverAccountKey() {
  CK_RETURN_IF_ERROR(AcquireLock());
  return accounts_.Rollover();
}

Result<AccountView> EngineImpl::DeactivateAccount() {
  CK_RETURN_IF_ERROR(AcquireLock());
  return accounts_.Deactivate();
}

}  // namespace certkeeper::lifecycle
