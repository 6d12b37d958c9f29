// Delivery in a fleet (engine_deploy.h, docs/fleet.md): one host renews a
// certificate; every other host that delivers it fetches the version's files
// from the shared inventory, runs its own deploy targets with the usual
// install -> verify -> switch live -> record path, and records what it
// delivered in host_deployments. Version states stay fleet-level: a delivery
// that fails on one host keeps that host's previous version live and is
// recorded only in that host's row.
#include <algorithm>
#include <map>
#include <string>

#include "base/crypto.h"
#include "base/log.h"
#include "lifecycle/engine_deploy.h"
#include "lifecycle/fleet.h"

namespace certkeeper::lifecycle {

namespace {

// Whether archive/<name>/<n> holds complete files of exactly version v (its
// leaf's fingerprint): a host that kept its own inventory before joining the
// fleet may hold another certificate under the same number.
bool LocalFilesAre(const StateLayout& layout, const store::Version& v) {
  auto files = layout.ReadVersion(v.certificate, v.n);
  if (!files.ok()) return false;
  auto info = ParseCertificatePem(files->cert_pem);
  return info.ok() && !v.fingerprint_sha256.empty() &&
         info->sha256_fingerprint == v.fingerprint_sha256;
}

const store::HostDeployment* FindHost(const std::vector<store::HostDeployment>& rows,
                                      const std::string& name, const std::string& host) {
  for (const store::HostDeployment& r : rows) {
    if (r.certificate == name && r.host == host) return &r;
  }
  return nullptr;
}

}  // namespace

Result<int> Delivery::HostLiveVersion(const std::string& name) const {
  auto rows = ctx_.inventory->ListHostDeployments(name);
  if (!rows.ok()) {
    return rows.status().Annotate("read what host " + ctx_.host() + " delivered of " + name);
  }
  const store::HostDeployment* here = FindHost(*rows, name, ctx_.host());
  if (here && here->state == "deployed") return here->version;
  return ctx_.layout->LiveVersionNumber(name);
}

void Delivery::RecordHostDeployment(const std::string& name, int n, const Status& result) const {
  if (!ctx_.fleet) return;
  store::HostDeployment d;
  d.certificate = name;
  d.host = ctx_.host();
  d.version = n;
  d.state = result.ok() ? "deployed" : "failed";
  d.at = ctx_.clock->Now();
  if (!result.ok()) d.error = result.ToString();
  RecordBestEffort(ctx_.inventory->PutHostDeployment(d), name,
                   "record the deployment of version " + std::to_string(n) + " on " + d.host);
}

Status Delivery::FetchVersionFiles(const std::string& name, int n) const {
  CK_ASSIGN_OR_RETURN(store::Version v, ctx_.inventory->GetVersion(name, n));
  if (LocalFilesAre(*ctx_.layout, v)) return Status::Ok();
  Result<VersionFiles> files = ctx_.fleet->FetchVersion(name, n);
  if (!files.ok()) {
    return files.status().Annotate("fetch the files of version " + std::to_string(n) + " of " +
                                   name + " from the shared inventory");
  }
  auto info = ParseCertificatePem(files->cert_pem);
  if (!info.ok() || info->sha256_fingerprint != v.fingerprint_sha256) {
    return Status(ErrorCode::kFailedPrecondition, "the shared files of version " + std::to_string(n) +
                                            " of " + name + " are not the recorded certificate")
        .Hint("renew it: `certkeeper renew --force " + name + "`");
  }
  return ctx_.layout->WriteVersion(name, n, *files);
}

Status Delivery::PrepareFleetJob(Job& job) {
  const std::string& name = job.spec.name;
  Result<int> live = HostLiveVersion(name);
  if (!live.ok()) {
    // Unknown is not "none": there would be nothing to roll back to.
    RecordCheck(job, live.status());
    return live.status();
  }
  job.live_n = *live;
  auto v = ctx_.inventory->GetVersion(name, job.n);
  if (!v.ok()) {
    Status err = v.status().Annotate("read version " + std::to_string(job.n) + " of " + name);
    RecordCheck(job, err);
    return err;
  }
  job.follower = v->state == store::VersionState::kDeployed;
  Status fetched = FetchVersionFiles(name, job.n);
  if (!fetched.ok()) return Refuse(job, std::move(fetched));
  return Status::Ok();
}

void Delivery::DeliverFleetVersions() {
  if (!ctx_.fleet || fleet_delivered_) return;
  fleet_delivered_ = true;
  auto all = ctx_.inventory->AllCurrentVersions();
  auto rows = ctx_.inventory->ListHostDeployments(std::nullopt);
  if (!all.ok() || !rows.ok()) {
    log::Warn("cannot read what this host lacks of the fleet's versions; nothing delivered",
              {{"host", ctx_.host()},
               {"error", (all.ok() ? rows.status() : all.status()).ToString()}});
    return;
  }
  for (const CertificateSpec& spec : ctx_.config->certificates) {
    if (!ctx_.config->DeliversHere(spec)) continue;
    auto current = all->find(spec.name);
    if (current == all->end() || !current->second.live) continue;
    const int fleet_live = current->second.live->n;
    const store::HostDeployment* here = FindHost(*rows, spec.name, ctx_.host());
    const int delivered = here && here->state == "deployed"
                              ? here->version
                              : ctx_.layout->LiveVersionNumber(spec.name);
    if (delivered >= fleet_live) continue;
    if (here && here->state == "failed" && here->version == fleet_live &&
        ctx_.clock->Now() - here->at < kFleetRetryDelay) {
      log::Info("the delivery of this version failed here recently; retried later",
                {{"certificate", spec.name}, {"version", std::to_string(fleet_live)}});
      continue;
    }
    log::Info("delivering the fleet's live version",
              {{"certificate", spec.name}, {"version", std::to_string(fleet_live)},
               {"host", ctx_.host()}});
    CertificateOutcome outcome;
    outcome.name = spec.name;
    outcome.reason = "version " + std::to_string(fleet_live) + " delivered on " + ctx_.host();
    Result<int64_t> id = ctx_.StartAttempt(
        spec.name, "deliver version " + std::to_string(fleet_live) + " on " + ctx_.host());
    if (!id.ok()) log::Warn("cannot record attempt", {{"error", id.status().ToString()}});
    const int64_t attempt_id = id.ok() ? *id : 0;
    Status s = DeployVersion(spec, fleet_live, attempt_id);
    if (attempt_id > 0) {
      RecordBestEffort(ctx_.inventory->FinishAttempt(attempt_id, DeliveryEnd(s, fleet_live)),
                       spec.name, "record the end of the attempt");
    }
    outcome.outcome = s.ok() ? "deployed" : "failed";
    outcome.error = s;
    outcome.version = ToView(*current->second.live);
    fleet_outcomes_.push_back(std::move(outcome));
  }
}

void Delivery::ReportFleetDeliveries(RunReport& report) const {
  for (const CertificateOutcome& delivered : fleet_outcomes_) {
    auto found = std::find_if(report.certificates.begin(), report.certificates.end(),
                              [&](const CertificateOutcome& o) { return o.name == delivered.name; });
    if (found == report.certificates.end()) {
      report.certificates.push_back(delivered);
    } else if (found->outcome == "not-due" || found->outcome == "deferred" ||
               found->outcome.empty()) {
      *found = delivered;
    }
  }
}

void Delivery::ReconcileFleetOne(const std::string& name, const store::CurrentVersions& current,
                                 const store::HostDeployment* here) {
  // A failed row is written after live/ pointed back: live/ is what this
  // host serves, and the failed version is DeliverFleetVersions' to retry.
  if (here && here->state == "failed") return;
  const int recorded = here ? here->version : 0;
  const int linked = ctx_.layout->LiveVersionNumber(name);
  if (linked == recorded) return;
  auto intent = ctx_.layout->DeployIntent(name);
  if (linked > recorded) {
    // The switch happened and the host's record was lost (a kill between
    // them), or this host kept live/ before it joined the fleet: recorded
    // only when live/ holds exactly that recorded version.
    auto v = ctx_.inventory->GetVersion(name, linked);
    if (!v.ok() || !LocalFilesAre(*ctx_.layout, *v)) {
      log::Warn("live/ points at a version that is not this host's recorded delivery; left as is",
                {{"certificate", name}, {"live", std::to_string(linked)},
                 {"recorded", std::to_string(recorded)}});
      return;
    }
    if (v->state == store::VersionState::kIssued) {
      // The renewing host's own deploy: the fleet-level record too.
      const int fleet_live = current.live ? current.live->n : 0;
      if (!RollForward(name, linked, fleet_live, intent, current)) return;
    } else if (v->state != store::VersionState::kDeployed) {
      return;
    }
    if (intent.ok() && *intent == linked) ClearIntentBestEffort(name);
    RecordHostDeployment(name, linked, Status::Ok());
    ctx_.Event(name, "reconciled",
               "live/ on " + ctx_.host() + " points at version " + std::to_string(linked) +
                   ", whose deploy finished before the run was interrupted: recorded as "
                   "deployed on this host");
    return;
  }
  // This host recorded a newer version than live/ points at: live/ is
  // switched back to it only when its files are here.
  auto v = ctx_.inventory->GetVersion(name, recorded);
  if (!v.ok() || !LocalFilesAre(*ctx_.layout, *v)) {
    log::Warn("live/ and this host's record disagree and neither can be trusted; left as is",
              {{"certificate", name}, {"live", std::to_string(linked)},
               {"recorded", std::to_string(recorded)}});
    return;
  }
  Status s = ctx_.layout->SwitchLive(name, recorded);
  if (!s.ok()) {
    log::Warn("cannot switch live/ to this host's recorded version",
              {{"certificate", name}, {"error", s.ToString()}});
    return;
  }
  ctx_.Event(name, "reconciled",
             "live/ on " + ctx_.host() + " pointed at " +
                 (linked > 0 ? "version " + std::to_string(linked) : "nothing") +
                 "; switched to the version recorded as deployed here, " +
                 std::to_string(recorded));
}

}  // namespace certkeeper::lifecycle
