// Delivering a recorded version (engine_deploy.h): deploy targets, then live/<name>.
#include "lifecycle/engine_deploy.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <optional>
#include <utility>

#include "base/crash_point.h"
#include "base/fs.h"
#include "base/log.h"

namespace certkeeper::lifecycle {

Status WithRollbackError(const hooks::DeployReport& report, const std::string& what) {
  Status err = report.error;
  if (!report.rollback_error.ok()) {
    err.Annotate(what + " failed and rollback failed too (" + report.rollback_error.ToString() +
                 ")");
  }
  return err;
}

Result<hooks::Material> Delivery::LoadMaterial(const CertificateSpec& spec, int n) {
  CK_ASSIGN_OR_RETURN(store::Version v, ctx_.inventory->GetVersion(spec.name, n));
  CK_ASSIGN_OR_RETURN(VersionFiles files, ctx_.layout->ReadVersion(spec.name, n));
  hooks::Material m;
  m.name = spec.name;
  m.domains = v.domains;
  m.version = n;
  m.cert_pem = files.cert_pem;
  m.chain_pem = files.chain_pem;
  m.fullchain_pem = files.fullchain_pem();
  m.key_pem = files.key_pem;
  m.fingerprint_sha256 = v.fingerprint_sha256;
  m.not_after = v.not_after;
  // In a fleet v.directory is where the renewing host keeps its files.
  m.files_dir = ctx_.fleet ? ctx_.layout->VersionDir(spec.name, n) : v.directory;
  return m;
}

Status Delivery::DeployVersion(const CertificateSpec& spec, int n, int64_t attempt_id) {
  std::lock_guard<std::mutex> one_at_a_time(deploy_mu_);
  Job job{spec, n, attempt_id};
  if (ctx_.fleet) {
    CK_RETURN_IF_ERROR(PrepareFleetJob(job));
  } else {
    auto live = ctx_.inventory->LiveVersion(spec.name);
    if (!live.ok() && live.status().code() != ErrorCode::kNotFound) {
      // Unknown is not "none": a failed deploy would unlink live/ to point it
      // back at nothing, and there would be no rollback material.
      Status err = live.status().Annotate("read the live version of " + spec.name);
      RecordCheck(job, err);
      return err;
    }
    if (live.ok()) job.live_n = live->n;
  }
  if (auto configured = DeployTargets(spec); configured.ok()) {
    job.targets = std::move(*configured);
  } else {
    return Refuse(job, configured.status());
  }
  if (job.targets.empty()) {
    // live/ is the only target: the switch is the deploy.
    Status s = CommitDeploy(job);
    if (!s.ok()) return Fail(job, s, s.ToString());
  } else {
    CK_RETURN_IF_ERROR(DeliverToTargets(job));
  }
  ClearIntentBestEffort(spec.name);
  ctx_.Event(spec.name, "deployed",
             "version " + std::to_string(n) +
                 (job.targets.empty()
                      ? " installed in live/"
                      : " delivered to " + std::to_string(job.targets.size()) + " target(s)"));
  return Status::Ok();
}

Status Delivery::DeliverToTargets(Job& job) {
  const std::string& name = job.spec.name;
  Result<hooks::Material> material = LoadMaterial(job.spec, job.n);
  if (!material.ok()) {
    return Refuse(job, material.status().Annotate("load version " + std::to_string(job.n)));
  }
  std::optional<hooks::Material> previous;
  if (job.live_n > 0) {
    auto prev = LoadMaterial(job.spec, job.live_n);
    if (prev.ok()) {
      previous = std::move(*prev);
    } else {
      log::Warn("the live version cannot be loaded for a rollback",
                {{"certificate", name}, {"error", prev.status().ToString()}});
    }
  }
  auto options = OptionsWith(previous ? &*previous : nullptr);
  if (!options.ok()) return Refuse(job, options.status());
  auto intent = ctx_.layout->DeployIntent(name);
  if (!intent.ok()) return Refuse(job, intent.status());
  if (*intent != 0 && previous && *intent != previous->version) {
    log::Warn("an interrupted deploy may have left part of a version in the targets: "
              "delivering the live version again first",
              {{"certificate", name}, {"interrupted", std::to_string(*intent)},
               {"live", std::to_string(previous->version)}});
    hooks::DeployReport restored = Run(job, *previous, *options);
    if (!restored.ok()) {
      Status err = restored.error;
      return Fail(job,
                  std::move(err.Annotate("restore live version " +
                                         std::to_string(previous->version) +
                                         " after an interrupted deploy")),
                  restored.error.ToString());
    }
  }
  Status intended = ctx_.layout->RecordDeployIntent(name, job.n);
  if (!intended.ok()) return Refuse(job, intended.Annotate("record the deploy intent"));
  log::Info("deploying", {{"certificate", name}, {"version", std::to_string(job.n)}});
  options->commit = [&]() { return CommitDeploy(job); };
  hooks::DeployReport report = Run(job, *material, *options);
  if (report.ok()) return Status::Ok();
  // The targets hold the previous version again unless the rollback failed:
  // then the intent stays, and the next deploy restores the live version
  // first. It stays too when recording failed: a record that reached the
  // disk anyway (a failed fsync) is then not taken for the truth.
  if (report.rollback_error.ok() && !job.record_failed) ClearIntentBestEffort(name);
  std::string restored;
  for (const auto& t : report.rolled_back) restored += (restored.empty() ? "" : ", ") + t;
  return Fail(job, WithRollbackError(report, "deploy"),
              report.error.ToString() + (restored.empty() ? "" : "; restored " + restored));
}

void Delivery::RecordCheck(const Job& job, const Status& err) {
  if (job.attempt_id <= 0) return;
  store::AttemptStep step;
  step.at = ctx_.clock->Now();
  step.kind = "deploy-check";
  step.result = store::StepResult::kFailed;
  step.error = err.ToString();
  step.output = "check " + job.spec.name + " v" + std::to_string(job.n);
  ctx_.AddStep(job.attempt_id, std::move(step));
}

Status Delivery::Refuse(Job& job, Status err) {
  RecordCheck(job, err);
  return Fail(job, err, err.ToString());
}

Status Delivery::Fail(Job& job, Status err, const std::string& event_detail) {
  const std::string& name = job.spec.name;
  RecordHostDeployment(name, job.n, err);
  if (job.live_n != job.n && !job.follower) {
    RecordBestEffort(
        ctx_.inventory->SetVersionState(name, job.n, store::VersionState::kDeployFailed), name,
        "mark the version deploy_failed");
  }
  ctx_.Event(name, "deploy-failed", "version " + std::to_string(job.n) + ": " + event_detail);
  std::string hint = "the previous version stays live; fix the cause and run `certkeeper "
                     "deploy " + name + "`";
  if (!err.hint().empty()) hint = err.hint() + "; " + hint;
  return std::move(err.Hint(std::move(hint)));
}

hooks::DeployReport Delivery::Run(const Job& job, const hooks::Material& material,
                                  const hooks::DeployOptions& options) {
  hooks::DeployReport report = deploy_(job.targets, material, options);
  RecordDeploySteps(job.attempt_id, report);
  return report;
}

Result<hooks::DeployOptions> Delivery::OptionsWith(const hooks::Material* previous) const {
  hooks::DeployOptions options;
  options.clock = ctx_.clock;
  options.previous = previous;
  CK_ASSIGN_OR_RETURN(options.trust_pem, IssuerRootsPem(*ctx_.config));
  return options;
}

Result<std::vector<hooks::TargetConfig>> Delivery::DeployTargets(
    const CertificateSpec& spec) const {
  std::vector<hooks::TargetConfig> targets;
  for (const std::string& name : spec.deploy) {
    const hooks::TargetConfig* t = ctx_.config->FindDeploy(name);
    if (!t) {
      return Status(ErrorCode::kInvalidArgument,
                    "deploy target \"" + name + "\" is not defined in the config")
          .Hint("define it as a [[deploy]] table, or remove it from the certificate");
    }
    targets.push_back(*t);
  }
  return targets;
}

void Delivery::RecordDeploySteps(int64_t attempt_id, const hooks::DeployReport& report) {
  if (attempt_id <= 0) return;
  for (const hooks::StepRecord& r : report.steps) {
    store::AttemptStep step;
    step.at = ctx_.clock->Now();
    step.kind = r.kind == "check" ? "deploy-check" : r.kind;
    step.identifier = r.target;
    step.result = r.ok ? store::StepResult::kOk : store::StepResult::kFailed;
    step.error = r.error;
    step.output = r.description + (r.output.empty() ? "" : "\n" + r.output);
    ctx_.AddStep(attempt_id, std::move(step));
  }
}

Status Delivery::CommitDeploy(Job& job) {
  const std::string& name = job.spec.name;
  const int n = job.n;
  const int live_n = job.live_n;
  auto point_back = [&]() {
    if (ctx_.layout->LiveVersionNumber(name) == live_n) return;
    Status back = live_n > 0 ? ctx_.layout->SwitchLive(name, live_n)
                             : (unlink(ctx_.layout->LiveDir(name).c_str()) == 0 || errno == ENOENT
                                    ? Status::Ok()
                                    : Status(ErrorCode::kIo, strerror(errno))
                                          .Where(ctx_.layout->LiveDir(name)));
    if (!back.ok()) log::Warn("cannot point live/ back", {{"error", back.ToString()}});
  };
  Status s = ctx_.layout->SwitchLive(name, n);
  if (!s.ok()) {
    // The rename may have happened before the failure (a directory fsync).
    point_back();
    return s.Annotate("switch live/" + name);
  }
  CrashPoint("deploy.live-switched");
  // live/ points at n and every target serves it: now, and only now, n is the
  // recorded live version. A crash here is repaired by the next Reconcile().
  // A follower delivery leaves the fleet-level state alone: n is deployed.
  if (!job.follower) s = ctx_.inventory->SetVersionState(name, n, store::VersionState::kDeployed);
  if (!s.ok()) {
    job.record_failed = true;
    point_back();
    return s.Annotate("record version " + std::to_string(n) + " as deployed");
  }
  CrashPoint("deploy.recorded");
  RecordHostDeployment(name, n, Status::Ok());
  return Status::Ok();
}

void Delivery::ClearIntentBestEffort(const std::string& name) {
  Status s = ctx_.layout->ClearDeployIntent(name);
  if (!s.ok()) {
    // A stale intent costs the next deploy one extra delivery of the live version.
    log::Warn("cannot remove the deploy intent", {{"certificate", name}, {"error", s.ToString()}});
  }
}

Result<CertificateOutcome> Delivery::DeployNewest(const std::string& name) {
  CK_ASSIGN_OR_RETURN(store::Certificate cert, ctx_.inventory->GetCertificate(name));
  CK_ASSIGN_OR_RETURN(CertificateSpec spec, DeliverySpec(*ctx_.config, cert));
  auto latest = ctx_.inventory->LatestVersion(name);
  if (!latest.ok() && latest.status().code() != ErrorCode::kNotFound) return latest.status();
  if (!latest.ok()) {
    return Status(ErrorCode::kFailedPrecondition, "\"" + name + "\" has no issued version to deploy")
        .Hint("run `certkeeper issue " + name + "` or `certkeeper renew " + name + "` first");
  }
  // The newest version: one issued but not delivered yet, or the live one again
  // (its targets are re-run). A revoked newest version is not delivered.
  int n = latest->n;
  if (latest->state == store::VersionState::kRevoked) {
    return Status(ErrorCode::kFailedPrecondition,
                  "the newest version of \"" + name + "\" is revoked")
        .Hint("renew it: `certkeeper renew --force " + name + "`");
  }
  CK_ASSIGN_OR_RETURN(int64_t id, ctx_.StartAttempt(name, "deploy version " + std::to_string(n)));
  Status s = DeployVersion(spec, n, id);
  if (s.ok() && cert.schedule.consecutive_failures > 0) {
    // Delivered: the backoff from earlier failures is over; a CA's Retry-After
    // (RFC 8555 §6.6) still binds.
    store::Schedule cleared;
    cleared.ca_retry_after = cert.schedule.ca_retry_after;
    RecordBestEffort(ctx_.inventory->SetSchedule(name, cleared), name, "clear the backoff");
  }
  RecordBestEffort(ctx_.inventory->FinishAttempt(id, DeliveryEnd(s, n)), name,
                   "record the end of the attempt");
  CertificateOutcome outcome;
  outcome.name = name;
  outcome.outcome = s.ok() ? "deployed" : "failed";
  outcome.reason = "version " + std::to_string(n);
  outcome.error = s;
  CK_ASSIGN_OR_RETURN(store::Version v, ctx_.inventory->GetVersion(name, n));
  outcome.version = ToView(v);
  return outcome;
}

store::AttemptEnd Delivery::DeliveryEnd(const Status& s, int version) const {
  store::AttemptEnd end;
  end.finished_at = ctx_.clock->Now();
  end.outcome = s.ok() ? store::AttemptOutcome::kSuccess : store::AttemptOutcome::kFailed;
  if (!s.ok()) {
    end.error_type = std::string(ErrorCodeName(s.code()));
    end.error_detail = s.ToString();
  }
  end.version = version;
  return end;
}

}  // namespace certkeeper::lifecycle
