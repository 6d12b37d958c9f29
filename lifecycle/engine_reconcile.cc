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
#include <utility>

#include "base/fs.h"
#include "base/log.h"
#include "hooks/deployer.h"
#include "lifecycle/engine_deploy.h"

namespace certkeeper::lifecycle {

void Delivery::Reconcile(Result<std::map<std::string, store::CurrentVersions>> all,
                         bool settled) {
  reconciled_versions_.reset();
  if (!all.ok()) {
    log::Warn("cannot read the versions to reconcile live/",
              {{"error", all.status().ToString()}});
    return;
  }
  if (!ctx_.fleet) {
    reconcile_changed_ = false;
    if (settled) {
      // Nothing under live/ changed and the inventory's live versions are
      // the ones that agreed with it (settled_record.h).
      intents_absent_ = true;
      reconciled_versions_ = std::move(*all);
      return;
    }
    Result<fs::Dir> live = ctx_.layout->OpenLiveDir();
    for (const auto& [name, current] : *all) {
      ReconcileOne(name, current, live.ok() ? &*live : nullptr);
    }
    // live/ and the inventory agreed everywhere: what was read is still the
    // inventory's state (a run over 10,000 certificates reads it once).
    if (!reconcile_changed_) reconciled_versions_ = std::move(*all);
    return;
  }
  // A fleet: live/ is this host's, the fleet-level live version may be one it
  // has not delivered yet (DeliverFleetVersions delivers it).
  auto rows = ctx_.inventory->ListHostDeployments(std::nullopt);
  if (!rows.ok()) {
    log::Warn("cannot read this host's deployments to reconcile live/",
              {{"error", rows.status().ToString()}});
    return;
  }
  for (const auto& [name, current] : *all) {
    const store::HostDeployment* here = nullptr;
    for (const store::HostDeployment& r : *rows) {
      if (r.certificate == name && r.host == ctx_.host()) here = &r;
    }
    ReconcileFleetOne(name, current, here);
  }
}

void Delivery::ReconcileOne(const std::string& name, const store::CurrentVersions& current,
                            const fs::Dir* live) {
  int recorded = current.live ? current.live->n : 0;
  const int linked =
      live ? ctx_.layout->LiveVersionNumber(*live, name) : ctx_.layout->LiveVersionNumber(name);
  if (linked == recorded) return;
  reconcile_changed_ = true;  // (whether or not a repair below succeeds)
  auto intent = ctx_.layout->DeployIntent(name);
  if (recorded > linked && intent.ok() && *intent == recorded) {
    // The deploy of `recorded` failed at its record and rolled back, but the
    // record reached the disk (a failed fsync): the targets do not serve it.
    Status s = ctx_.inventory->SetVersionState(name, recorded, store::VersionState::kDeployFailed);
    if (!s.ok()) {
      log::Warn("cannot record the failed deploy", {{"certificate", name}, {"error", s.ToString()}});
      return;
    }
    ctx_.Event(name, "reconciled",
               "version " + std::to_string(recorded) +
                   " was recorded as deployed by a deploy that failed and rolled back: "
                   "recorded as deploy_failed");
    auto live = ctx_.inventory->LiveVersion(name);
    recorded = live.ok() ? live->n : 0;
    if (linked == recorded) return;
  }
  if (linked > 0 && RollForward(name, linked, recorded, intent, current)) return;
  if (recorded == 0 || !ctx_.layout->ReadVersion(name, recorded).ok()) {
    log::Warn("live/ and the inventory disagree and neither can be trusted; left as is",
              {{"certificate", name},
               {"live", std::to_string(linked)},
               {"recorded", std::to_string(recorded)}});
    return;
  }
  Status s = ctx_.layout->SwitchLive(name, recorded);
  if (!s.ok()) {
    log::Warn("cannot switch live/ to the recorded live version",
              {{"certificate", name}, {"error", s.ToString()}});
    return;
  }
  ctx_.Event(name, "reconciled",
             "live/ pointed at " + (linked > 0 ? "version " + std::to_string(linked) : "nothing") +
                 "; switched to the recorded live version " + std::to_string(recorded));
  log::Warn("switched live/ to the recorded live version",
            {{"certificate", name}, {"version", std::to_string(recorded)}});
}

bool Delivery::RollForward(const std::string& name, int linked, int recorded,
                           const Result<int>& intent, const store::CurrentVersions& current) {
  Result<store::Version> v = current.latest && current.latest->n == linked
                                 ? Result<store::Version>(*current.latest)
                                 : ctx_.inventory->GetVersion(name, linked);
  if (v.ok() && v->state == store::VersionState::kRevoked) return true;
  if (!v.ok() || v->state != store::VersionState::kIssued || linked <= recorded ||
      !ctx_.layout->ReadVersion(name, linked).ok()) {
    return false;
  }
  Status s = ctx_.inventory->SetVersionState(name, linked, store::VersionState::kDeployed);
  if (!s.ok()) {
    log::Warn("cannot record the version live/ points at as deployed",
              {{"certificate", name}, {"error", s.ToString()}});
    return true;
  }
  if (intent.ok() && *intent == linked) ClearIntentBestEffort(name);
  ctx_.Event(name, "reconciled",
             "live/ points at version " + std::to_string(linked) +
                 ", whose deploy finished before the run was interrupted: recorded as deployed");
  log::Warn("recorded the version live/ points at as deployed",
            {{"certificate", name}, {"version", std::to_string(linked)}});
  return true;
}

void Delivery::FinishInterruptedDeliveries() {
  unchanged_versions_.reset();
  auto reconciled = std::exchange(reconciled_versions_, std::nullopt);
  if (deliveries_finished_) return;
  deliveries_finished_ = true;
  auto all = reconciled ? Result<std::map<std::string, store::CurrentVersions>>(
                              std::move(*reconciled))
                        : ctx_.inventory->AllCurrentVersions();
  if (!all.ok()) {
    log::Warn("cannot read the versions to finish interrupted deploys",
              {{"error", all.status().ToString()}});
    return;
  }
  bool finished_any = false;
  // Reconcile in this command found every certificate agreeing.
  const bool agreed = reconciled.has_value();
  // A settled run knows there is no intent without looking.
  const bool look = !(intents_absent_ && agreed);
  Result<fs::Dir> archive = look ? ctx_.layout->OpenArchiveDir() : Result<fs::Dir>(fs::Dir());
  for (const auto& [name, current] : *all) {
    if (!look) break;
    Result<int> intent = archive.ok() ? ctx_.layout->DeployIntent(*archive, name)
                                      : ctx_.layout->DeployIntent(name);
    if (intent.ok() && *intent == 0) continue;
    finished_any = true;
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
  found_settled_ = agreed && !finished_any;
  if (!finished_any) unchanged_versions_ = std::move(*all);
}

Status Delivery::FinishInterruptedDelivery(const std::string& name, int interrupted,
                                           const store::CurrentVersions& current) {
  const std::string what =
      interrupted > 0 ? "the deploy of version " + std::to_string(interrupted) : "a deploy";
  CK_ASSIGN_OR_RETURN(store::Certificate cert, ctx_.inventory->GetCertificate(name));
  CK_ASSIGN_OR_RETURN(CertificateSpec spec, DeliverySpec(*ctx_.config, cert));
  // The recorded live version is what the targets held before: delivering it
  // again makes them consistent. Without one (a first deploy was interrupted)
  // the interrupted version itself is delivered, when it is recorded.
  // In a fleet that is this host's own live version (after Reconcile, what
  // live/ points at), not the fleet's.
  const int live_here = ctx_.fleet ? ctx_.layout->LiveVersionNumber(name)
                                   : (current.live ? current.live->n : 0);
  int deliver = live_here;
  if (deliver == 0 && current.latest && current.latest->n == interrupted &&
      (current.latest->state == store::VersionState::kIssued ||
       current.latest->state == store::VersionState::kDeployFailed)) {
    deliver = interrupted;
  }
  if (deliver == 0) {
    return Status(ErrorCode::kFailedPrecondition,
                  "no recorded version of \"" + name + "\" to deliver after " + what +
                      " was interrupted")
        .Where(ctx_.layout->ArchiveDir(name) + "/deploying")
        .Hint("check the certificate's deploy targets by hand, then remove the deploy intent");
  }
  log::Warn("an interrupted deploy may have left part of a version in the targets: "
            "delivering the recorded version before anything else",
            {{"certificate", name}, {"version", std::to_string(deliver)}});
  Result<int64_t> id =
      ctx_.StartAttempt(name, (live_here > 0 ? "restore version " : "deliver version ") +
                                  std::to_string(deliver) + " after " + what + " was interrupted");
  if (!id.ok()) log::Warn("cannot record attempt", {{"error", id.status().ToString()}});
  const int64_t attempt_id = id.ok() ? *id : 0;
  Status s = live_here > 0 ? RestoreLiveVersion(spec, deliver, attempt_id)
                           : DeployVersion(spec, deliver, attempt_id);
  if (live_here > 0) {
    // (DeployVersion records its own events.)
    ctx_.Event(name, s.ok() ? "restored" : "restore-failed",
               "version " + std::to_string(deliver) +
                   (s.ok() ? " delivered again" : " could not be delivered again") + " after " +
                   what + " was interrupted" + (s.ok() ? "" : ": " + s.ToString()));
  }
  if (attempt_id > 0) {
    Status finished = ctx_.inventory->FinishAttempt(attempt_id, DeliveryEnd(s, deliver));
    if (!finished.ok()) log::Warn("cannot record attempt end", {{"error", finished.ToString()}});
  }
  return s.ok() ? s : s.Annotate("finish " + what + " of " + name);
}

Status Delivery::RestoreLiveVersion(const CertificateSpec& spec, int live_n,
                                    int64_t attempt_id) {
  std::lock_guard<std::mutex> one_at_a_time(deploy_mu_);
  Job job{spec, live_n, attempt_id};
  CK_ASSIGN_OR_RETURN(job.targets, DeployTargets(spec));
  if (!job.targets.empty()) {
    CK_ASSIGN_OR_RETURN(hooks::Material live, LoadMaterial(spec, live_n));
    CK_ASSIGN_OR_RETURN(hooks::DeployOptions options, OptionsWith(&live));
    hooks::DeployReport report = Run(job, live, options);
    // The intent stays on failure: the targets may still hold part of the
    // interrupted version, and the next deploy delivers the live version
    // first again.
    if (!report.ok()) return WithRollbackError(report, "restore");
  }
  // live/ already points at live_n: Reconcile() saw to it.
  ClearIntentBestEffort(spec.name);
  return Status::Ok();
}

Status Delivery::UnfinishedDeliveriesError(const std::string& except) const {
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
