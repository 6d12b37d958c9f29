// Repairing what an interrupted run left behind, so that the inventory and
// live/ agree before a run decides anything (docs/faults.md, "Reconciliation").
//
// The rules follow from the deploy order (engine_deploy.cc): live/<name> is
// switched only after every target verified the new version, and the version is
// recorded as deployed only after the switch. So, for one certificate, with L
// the newest version recorded as deployed and K the one live/ points at:
//  - K recorded as issued, newer than L, files complete: the deploy finished and
//    only the record was lost. K is recorded as deployed (roll forward).
//  - K revoked: left alone; revoke keeps the revoked version where it was.
//  - L newer than K with a deploy intent for L: L's deploy failed at its record
//    and rolled back, but the record reached the disk (a failed fsync): L is
//    recorded as deploy_failed, and the rules apply again with the next L.
//  - anything else (no live/, K unrecorded, K older than L, K deploy_failed, K's
//    files incomplete): L is the truth, live/ is switched to it. Without L and
//    without a recordable K, nothing is changed and a warning is logged.
//
// Then, in a run that delivers, every delivery a killed run left unfinished (a
// deploy intent) is finished before anything else is delivered
// (FinishInterruptedDeliveries): its targets may hold part of a version, e.g. a
// new fullchain.pem beside the old privkey.pem, and a server they share with
// other certificates (one nginx) refuses every reload until that pair matches.
#include <mutex>
#include <string>

#include "base/fs.h"
#include "base/log.h"
#include "hooks/deployer.h"
#include "lifecycle/engine_impl.h"

namespace certkeeper::lifecycle {

void EngineImpl::Reconcile() {
  auto all = inventory_->AllCurrentVersions();
  if (!all.ok()) {
    log::Warn("cannot read the versions to reconcile live/",
              {{"error", all.status().ToString()}});
    return;
  }
  for (const auto& [name, current] : *all) {
    int recorded = current.live ? current.live->n : 0;
    const int linked = layout_.LiveVersionNumber(name);
    if (linked == recorded) continue;
    auto intent = layout_.DeployIntent(name);
    if (recorded > linked && intent.ok() && *intent == recorded) {
      // The deploy of `recorded` failed at its record and rolled back, but the
      // record reached the disk (a failed fsync): the targets do not serve it.
      Status s = inventory_->SetVersionState(name, recorded, store::VersionState::kDeployFailed);
      if (!s.ok()) {
        log::Warn("cannot record the failed deploy",
                  {{"certificate", name}, {"error", s.ToString()}});
        continue;
      }
      Event(name, "reconciled",
            "version " + std::to_string(recorded) +
                " was recorded as deployed by a deploy that failed and rolled back: "
                "recorded as deploy_failed");
      auto live = inventory_->LiveVersion(name);
      recorded = live.ok() ? live->n : 0;
      if (linked == recorded) continue;
    }
    if (linked > 0) {
      Result<store::Version> v = current.latest && current.latest->n == linked
                                     ? Result<store::Version>(*current.latest)
                                     : inventory_->GetVersion(name, linked);
      if (v.ok() && v->state == store::VersionState::kRevoked) continue;
      if (v.ok() && v->state == store::VersionState::kIssued && linked > recorded &&
          layout_.ReadVersion(name, linked).ok()) {
        Status s = inventory_->SetVersionState(name, linked, store::VersionState::kDeployed);
        if (!s.ok()) {
          log::Warn("cannot record the version live/ points at as deployed",
                    {{"certificate", name}, {"error", s.ToString()}});
          continue;
        }
        if (intent.ok() && *intent == linked) ClearIntentBestEffort(name);
        Event(name, "reconciled",
              "live/ points at version " + std::to_string(linked) +
                  ", whose deploy finished before the run was interrupted: recorded as "
                  "deployed");
        log::Warn("recorded the version live/ points at as deployed",
                  {{"certificate", name}, {"version", std::to_string(linked)}});
        continue;
      }
    }
    if (recorded == 0 || !layout_.ReadVersion(name, recorded).ok()) {
      log::Warn("live/ and the inventory disagree and neither can be trusted; left as is",
                {{"certificate", name},
                 {"live", std::to_string(linked)},
                 {"recorded", std::to_string(recorded)}});
      continue;
    }
    Status s = layout_.SwitchLive(name, recorded);
    if (!s.ok()) {
      log::Warn("cannot switch live/ to the recorded live version",
                {{"certificate", name}, {"error", s.ToString()}});
      continue;
    }
    Event(name, "reconciled",
          "live/ pointed at " + (linked > 0 ? "version " + std::to_string(linked) : "nothing") +
              "; switched to the recorded live version " + std::to_string(recorded));
    log::Warn("switched live/ to the recorded live version",
              {{"certificate", name}, {"version", std::to_string(recorded)}});
  }
}

void EngineImpl::FinishInterruptedDeliveries() {
  if (deliveries_finished_) return;
  deliveries_finished_ = true;
  auto all = inventory_->AllCurrentVersions();
  if (!all.ok()) {
    log::Warn("cannot read the versions to finish interrupted deploys",
              {{"error", all.status().ToString()}});
    return;
  }
  for (const auto& [name, current] : *all) {
    Result<int> intent = layout_.DeployIntent(name);
    if (intent.ok() && *intent == 0) continue;
    // An intent that does not parse still says a deploy was interrupted; which
    // version it was matters only for the message.
    const int interrupted = intent.ok() ? *intent : 0;
    Status s = FinishInterruptedDelivery(name, interrupted, current);
    if (!s.ok()) {
      log::Error("cannot finish an interrupted deploy",
                 {{"certificate", name}, {"error", s.ToString()}});
      unfinished_deliveries_.emplace(name, std::move(s));
    }
  }
}

Status EngineImpl::FinishInterruptedDelivery(const std::string& name, int interrupted,
                                             const store::CurrentVersions& current) {
  const std::string what =
      interrupted > 0 ? "the deploy of version " + std::to_string(interrupted) : "a deploy";
  CK_ASSIGN_OR_RETURN(store::Certificate cert, inventory_->GetCertificate(name));
  CK_ASSIGN_OR_RETURN(CertificateSpec spec, FromStoreSpec(cert.spec));
  if (const CertificateSpec* configured = config_.FindCertificate(name)) {
    spec.deploy = configured->deploy;
  }
  // The recorded live version is what the targets held before: delivering it
  // again makes them consistent. Without one (a first deploy was interrupted)
  // the interrupted version itself is delivered, when it is recorded.
  int deliver = current.live ? current.live->n : 0;
  if (deliver == 0 && current.latest && current.latest->n == interrupted &&
      (current.latest->state == store::VersionState::kIssued ||
       current.latest->state == store::VersionState::kDeployFailed)) {
    deliver = interrupted;
  }
  if (deliver == 0) {
    return Status(ErrorCode::kFailedPrecondition,
                  "no recorded version of \"" + name + "\" to deliver after " + what +
                      " was interrupted")
        .Where(layout_.ArchiveDir(name) + "/deploying")
        .Hint("check the certificate's deploy targets by hand, then remove the deploy intent");
  }
  store::Attempt attempt;
  attempt.certificate = name;
  attempt.started_at = clock_->Now();
  attempt.server = config_.acme.server;
  attempt.reason = (current.live ? "restore version " : "deliver version ") +
                   std::to_string(deliver) + " after " + what + " was interrupted";
  log::Warn("an interrupted deploy may have left part of a version in the targets: "
            "delivering the recorded version before anything else",
            {{"certificate", name}, {"version", std::to_string(deliver)}});
  Result<int64_t> id = inventory_->StartAttempt(attempt);
  if (!id.ok()) log::Warn("cannot record attempt", {{"error", id.status().ToString()}});
  const int64_t attempt_id = id.ok() ? *id : 0;
  Status s = current.live ? RestoreLiveVersion(spec, deliver, attempt_id)
                          : DeployVersion(spec, deliver, attempt_id);
  if (current.live) {
    // (DeployVersion records its own events.)
    Event(name, s.ok() ? "restored" : "restore-failed",
          "version " + std::to_string(deliver) +
              (s.ok() ? " delivered again" : " could not be delivered again") + " after " +
              what + " was interrupted" + (s.ok() ? "" : ": " + s.ToString()));
  }
  if (attempt_id > 0) {
    Status finished = inventory_->FinishAttempt(attempt_id, DeliveryEnd(s, deliver));
    if (!finished.ok()) log::Warn("cannot record attempt end", {{"error", finished.ToString()}});
  }
  return s.ok() ? s : s.Annotate("finish " + what + " of " + name);
}

Status EngineImpl::RestoreLiveVersion(const CertificateSpec& spec, int live_n,
                                      int64_t attempt_id) {
  std::lock_guard<std::mutex> one_at_a_time(deploy_mu_);
  CK_ASSIGN_OR_RETURN(std::vector<hooks::TargetConfig> targets, DeployTargets(spec));
  if (!targets.empty()) {
    CK_ASSIGN_OR_RETURN(hooks::Material live, LoadMaterial(spec, live_n));
    hooks::DeployOptions options;
    options.clock = clock_;
    options.previous = &live;
    if (!config_.acme.issuer_roots.empty()) {
      auto roots = fs::ReadFile(config_.acme.issuer_roots);
      if (!roots.ok()) return roots.status().Annotate("read acme.issuer_roots");
      options.trust_pem = *roots;
    }
    hooks::DeployReport report = hooks::RunDeploy(targets, live, options);
    RecordDeploySteps(attempt_id, report);
    if (!report.ok()) {
      // The intent stays: the targets may still hold part of the interrupted
      // version, and the next deploy delivers the live version first again.
      Status err = report.error;
      if (!report.rollback_error.ok()) {
        err.Annotate("restore failed and rollback failed too (" +
                     report.rollback_error.ToString() + ")");
      }
      return err;
    }
  }
  // live/ already points at live_n: Reconcile() saw to it.
  ClearIntentBestEffort(spec.name);
  return Status::Ok();
}

Status EngineImpl::UnfinishedDeliveriesError(const std::string& except) const {
  for (const auto& [name, error] : unfinished_deliveries_) {
    if (name == except) continue;
    Status s = error;
    return std::move(s.Hint("the targets of \"" + name + "\" may hold part of a version; " +
                            (error.hint().empty() ? "" : error.hint() + "; ") +
                            "fix the cause and run `certkeeper deploy " + name + "`"));
  }
  return Status::Ok();
}

}  // namespace certkeeper::lifecycle
