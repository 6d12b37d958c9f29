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
#include <string>

#include "base/log.h"
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

}  // namespace certkeeper::lifecycle
