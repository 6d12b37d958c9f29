// Delivering a recorded version (deploy targets, then live/<name>), revoking,
// auditing and importing.
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <optional>
#include <utility>

#include "base/crash_point.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/names.h"
#include "hooks/deployer.h"
#include "lifecycle/engine_impl.h"

namespace certkeeper::lifecycle {

Result<hooks::Material> EngineImpl::LoadMaterial(const CertificateSpec& spec, int n) {
  CK_ASSIGN_OR_RETURN(store::Version v, inventory_->GetVersion(spec.name, n));
  CK_ASSIGN_OR_RETURN(VersionFiles files, layout_.ReadVersion(spec.name, n));
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
  m.files_dir = v.directory;
  return m;
}

// Delivers version n to the certificate's targets as one unit (hooks::RunDeploy)
// and switches live/<name> to it only when every target verified. Contract:
//  - Every step, including a refusal before any target runs (material that does
//    not load or does not pass CheckMaterial), is recorded in attempt_id.
//  - The live version is passed as DeployContext::previous, also when n is the
//    live version itself (a re-deploy), so that command targets roll back by
//    delivering what was live before.
//  - On failure n is marked deploy_failed unless n is the live version: a failed
//    re-deploy rolls back to that same version, which therefore stays deployed.
//  - Crash safety (docs/faults.md): a deploy intent is written before any target
//    is touched; in RunDeploy's commit, after every target verified, live/ is
//    switched and then n recorded as deployed (CommitDeploy); if either fails,
//    live/ points back and the targets are rolled back. A crash between the
//    switch and the record is repaired by Reconcile() at the next run's start.
//    When an intent is left by an interrupted deploy, the targets may hold part
//    of that version: the live version is delivered again first, so that the
//    rollback material this deploy keeps is the recorded live version, not the
//    leftovers.
//  - Deployments never overlap (deploy_mu_), whatever --jobs says.
Status EngineImpl::DeployVersion(const CertificateSpec& spec, int n, int64_t attempt_id) {
  std::lock_guard<std::mutex> one_at_a_time(deploy_mu_);
  auto live = inventory_->LiveVersion(spec.name);
  const bool is_live = live.ok() && live->n == n;
  std::vector<hooks::TargetConfig> targets;
  auto record = [&](std::string kind, std::string identifier, bool ok, std::string error,
                    std::string output) {
    if (attempt_id <= 0) return;
    store::AttemptStep step;
    step.at = clock_->Now();
    step.kind = std::move(kind);
    step.identifier = std::move(identifier);
    step.result = ok ? store::StepResult::kOk : store::StepResult::kFailed;
    step.error = std::move(error);
    step.output = std::move(output);
    AddStep(attempt_id, std::move(step));
  };
  auto fail = [&](Status err, const std::string& event_detail) {
    if (!is_live) {
      RecordBestEffort(
          inventory_->SetVersionState(spec.name, n, store::VersionState::kDeployFailed),
          spec.name, "mark the version deploy_failed");
    }
    Event(spec.name, "deploy-failed", "version " + std::to_string(n) + ": " + event_detail);
    std::string hint = "the previous version stays live; fix the cause and run `certkeeper "
                       "deploy " + spec.name + "`";
    if (!err.hint().empty()) hint = err.hint() + "; " + hint;
    return std::move(err.Hint(std::move(hint)));
  };
  // Failures before any target is touched: recorded as a refused pre-deploy check.
  auto refuse = [&](Status err) {
    record("deploy-check", "", false, err.ToString(), "check " + spec.name + " v" +
                                                          std::to_string(n));
    return fail(err, err.ToString());
  };
  auto run = [&](const hooks::Material& material, hooks::DeployOptions options) {
    hooks::DeployReport report = hooks::RunDeploy(targets, material, options);
    RecordDeploySteps(attempt_id, report);
    return report;
  };
  bool record_failed = false;
  auto commit = [&]() {
    return CommitDeploy(spec.name, n, live.ok() ? live->n : 0, &record_failed);
  };

  if (auto configured = DeployTargets(spec); configured.ok()) {
    targets = std::move(*configured);
  } else {
    return refuse(configured.status());
  }
  if (targets.empty()) {
    // live/ is the only target: the switch is the deploy.
    Status s = commit();
    if (!s.ok()) return fail(s, s.ToString());
  } else {
    Result<hooks::Material> material = LoadMaterial(spec, n);
    if (!material.ok()) {
      return refuse(material.status().Annotate("load version " + std::to_string(n)));
    }
    std::optional<hooks::Material> previous;
    if (live.ok()) {
      auto prev = LoadMaterial(spec, live->n);
      if (prev.ok()) {
        previous = std::move(*prev);
      } else {
        log::Warn("the live version cannot be loaded for a rollback",
                  {{"certificate", spec.name}, {"error", prev.status().ToString()}});
      }
    }
    hooks::DeployOptions options;
    options.clock = clock_;
    options.previous = previous ? &*previous : nullptr;
    if (!config_.acme.issuer_roots.empty()) {
      auto roots = fs::ReadFile(config_.acme.issuer_roots);
      if (!roots.ok()) return refuse(roots.status().Annotate("read acme.issuer_roots"));
      options.trust_pem = *roots;
    }
    auto intent = layout_.DeployIntent(spec.name);
    if (!intent.ok()) return refuse(intent.status());
    if (*intent != 0 && previous && *intent != previous->version) {
      log::Warn("an interrupted deploy may have left part of a version in the targets: "
                "delivering the live version again first",
                {{"certificate", spec.name}, {"interrupted", std::to_string(*intent)},
                 {"live", std::to_string(previous->version)}});
      hooks::DeployReport restored = run(*previous, options);
      if (!restored.ok()) {
        return fail(restored.error.Annotate("restore live version " +
                                            std::to_string(previous->version) +
                                            " after an interrupted deploy"),
                    restored.error.ToString());
      }
    }
    Status intended = layout_.RecordDeployIntent(spec.name, n);
    if (!intended.ok()) return refuse(intended.Annotate("record the deploy intent"));
    log::Info("deploying", {{"certificate", spec.name}, {"version", std::to_string(n)}});
    options.commit = commit;
    hooks::DeployReport report = run(*material, options);
    if (!report.ok()) {
      // The targets hold the previous version again unless the rollback failed:
      // then the intent stays, and the next deploy restores the live version
      // first. It stays too when recording failed: a record that reached the
      // disk anyway (a failed fsync) is then not taken for the truth.
      if (report.rollback_error.ok() && !record_failed) ClearIntentBestEffort(spec.name);
      std::string restored;
      for (const auto& t : report.rolled_back) restored += (restored.empty() ? "" : ", ") + t;
      Status err = report.error;
      if (!report.rollback_error.ok()) {
        err.Annotate("deploy failed and rollback failed too (" +
                     report.rollback_error.ToString() + ")");
      }
      return fail(err, report.error.ToString() +
                           (restored.empty() ? "" : "; restored " + restored));
    }
  }
  ClearIntentBestEffort(spec.name);
  Event(spec.name, "deployed",
        "version " + std::to_string(n) +
            (targets.empty() ? " installed in live/"
                             : " delivered to " + std::to_string(targets.size()) + " target(s)"));
  return Status::Ok();
}

Result<std::vector<hooks::TargetConfig>> EngineImpl::DeployTargets(
    const CertificateSpec& spec) const {
  std::vector<hooks::TargetConfig> targets;
  for (const std::string& name : spec.deploy) {
    const hooks::TargetConfig* t = config_.FindDeploy(name);
    if (!t) {
      return Status(ErrorCode::kInvalidArgument,
                    "deploy target \"" + name + "\" is not defined in the config")
          .Hint("define it as a [[deploy]] table, or remove it from the certificate");
    }
    targets.push_back(*t);
  }
  return targets;
}

void EngineImpl::RecordDeploySteps(int64_t attempt_id, const hooks::DeployReport& report) {
  if (attempt_id <= 0) return;
  for (const hooks::StepRecord& r : report.steps) {
    store::AttemptStep step;
    step.at = clock_->Now();
    step.kind = r.kind == "check" ? "deploy-check" : r.kind;
    step.identifier = r.target;
    step.result = r.ok ? store::StepResult::kOk : store::StepResult::kFailed;
    step.error = r.error;
    step.output = r.description + (r.output.empty() ? "" : "\n" + r.output);
    AddStep(attempt_id, std::move(step));
  }
}

Status EngineImpl::CommitDeploy(const std::string& name, int n, int live_n,
                                bool* record_failed) {
  auto point_back = [&]() {
    if (layout_.LiveVersionNumber(name) == live_n) return;
    Status back = live_n > 0 ? layout_.SwitchLive(name, live_n)
                             : (unlink(layout_.LiveDir(name).c_str()) == 0 || errno == ENOENT
                                    ? Status::Ok()
                                    : Status(ErrorCode::kIo, strerror(errno))
                                          .Where(layout_.LiveDir(name)));
    if (!back.ok()) log::Warn("cannot point live/ back", {{"error", back.ToString()}});
  };
  Status s = layout_.SwitchLive(name, n);
  if (!s.ok()) {
    // The rename may have happened before the failure (a directory fsync).
    point_back();
    return s.Annotate("switch live/" + name);
  }
  CrashPoint("deploy.live-switched");
  // live/ points at n and every target serves it: now, and only now, n is the
  // recorded live version. A crash here is repaired by the next Reconcile().
  s = inventory_->SetVersionState(name, n, store::VersionState::kDeployed);
  if (!s.ok()) {
    *record_failed = true;
    point_back();
    return s.Annotate("record version " + std::to_string(n) + " as deployed");
  }
  CrashPoint("deploy.recorded");
  return Status::Ok();
}

void EngineImpl::RecordBestEffort(const Status& s, const std::string& name,
                                  const std::string& what) {
  if (s.ok()) return;
  log::Warn("cannot " + what, {{"certificate", name}, {"error", s.ToString()}});
}

void EngineImpl::ClearIntentBestEffort(const std::string& name) {
  Status s = layout_.ClearDeployIntent(name);
  if (!s.ok()) {
    // A stale intent costs the next deploy one extra delivery of the live version.
    log::Warn("cannot remove the deploy intent", {{"certificate", name}, {"error", s.ToString()}});
  }
}

Result<CertificateOutcome> EngineImpl::Deploy(const std::string& name) {
  CK_RETURN_IF_ERROR(AcquireLock());
  FinishInterruptedDeliveries();
  CK_ASSIGN_OR_RETURN(CertificateOutcome outcome, DeployNewest(name));
  if (outcome.error.ok()) outcome.error = UnfinishedDeliveriesError(name);
  return outcome;
}

Result<CertificateOutcome> EngineImpl::DeployNewest(const std::string& name) {
  CK_RETURN_IF_ERROR(AcquireLock());
  CK_ASSIGN_OR_RETURN(store::Certificate cert, inventory_->GetCertificate(name));
  CK_ASSIGN_OR_RETURN(CertificateSpec spec, FromStoreSpec(cert.spec));
  if (const CertificateSpec* configured = config_.FindCertificate(name)) {
    spec.deploy = configured->deploy;
  }
  auto latest = inventory_->LatestVersion(name);
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
  store::Attempt attempt;
  attempt.certificate = name;
  attempt.started_at = clock_->Now();
  attempt.server = config_.acme.server;
  attempt.reason = "deploy version " + std::to_string(n);
  CK_ASSIGN_OR_RETURN(int64_t id, inventory_->StartAttempt(attempt));
  Status s = DeployVersion(spec, n, id);
  if (s.ok() && cert.schedule.consecutive_failures > 0) {
    // Delivered: the backoff from earlier failures is over; a CA's Retry-After
    // (RFC 8555 §6.6) still binds.
    store::Schedule cleared;
    cleared.ca_retry_after = cert.schedule.ca_retry_after;
    RecordBestEffort(inventory_->SetSchedule(name, cleared), name, "clear the backoff");
  }
  RecordBestEffort(inventory_->FinishAttempt(id, DeliveryEnd(s, n)), name,
                   "record the end of the attempt");
  CertificateOutcome outcome;
  outcome.name = name;
  outcome.outcome = s.ok() ? "deployed" : "failed";
  outcome.reason = "version " + std::to_string(n);
  outcome.error = s;
  CK_ASSIGN_OR_RETURN(store::Version v, inventory_->GetVersion(name, n));
  outcome.version = ToView(v);
  return outcome;
}

Status EngineImpl::Revoke(const std::string& name, const std::string& reason) {
  CK_RETURN_IF_ERROR(AcquireLock());
  CK_ASSIGN_OR_RETURN(acme::RevocationReason code, acme::ParseRevocationReason(reason));
  auto live = inventory_->LiveVersion(name);
  if (!live.ok()) {
    auto cert = inventory_->GetCertificate(name);
    if (!cert.ok()) {
      return Status(ErrorCode::kNotFound, "no certificate named \"" + name + "\" in the inventory")
          .Hint("`certkeeper list` shows the managed certificates");
    }
    return Status(ErrorCode::kFailedPrecondition, "\"" + name + "\" has no live version to revoke");
  }
  CK_ASSIGN_OR_RETURN(VersionFiles files, layout_.ReadVersion(name, live->n));
  CK_ASSIGN_OR_RETURN(acme::Client * client, AccountClient());
  Status s = client->RevokeCertificate(files.cert_pem, code);
  if (!s.ok() && (s.code() == ErrorCode::kAcme || s.code() == ErrorCode::kPermissionDenied)) {
    // Not this account's certificate (e.g. imported): prove control of its key.
    auto key = PrivateKey::FromPem(files.key_pem);
    if (key.ok()) {
      Status by_key = client->RevokeCertificate(files.cert_pem, code, &*key);
      if (by_key.ok()) s = by_key;
    }
  }
  if (!s.ok()) return s.Annotate("revoke " + name);
  CK_RETURN_IF_ERROR(inventory_->RevokeVersion(name, live->n, clock_->Now(), reason));
  Event(name, "revoked", "version " + std::to_string(live->n) + " serial " + live->serial +
                             " reason " + reason);
  log::Info("certificate revoked", {{"certificate", name}, {"serial", live->serial}});
  return Status::Ok();
}

Result<std::vector<CheckFinding>> EngineImpl::Check() {
  std::vector<CheckFinding> findings;
  TimePoint now = clock_->Now();
  std::string trust;
  if (!config_.acme.issuer_roots.empty()) {
    CK_ASSIGN_OR_RETURN(trust, fs::ReadFile(config_.acme.issuer_roots));
  }
  CK_ASSIGN_OR_RETURN(auto certs, inventory_->ListCertificates(false));
  for (const auto& c : certs) {
    const std::string& name = c.spec.name;
    auto add = [&](std::string severity, std::string message) {
      findings.push_back({name, std::move(severity), std::move(message)});
    };
    auto live = inventory_->LiveVersion(name);
    if (!live.ok()) {
      add("error", "no live version");
      continue;
    }
    auto files = layout_.ReadVersion(name, live->n);
    if (!files.ok()) {
      add("error", "files of version " + std::to_string(live->n) + " unreadable: " +
                       files.status().ToString());
      continue;
    }
    auto info = ParseCertificatePem(files->cert_pem);
    if (!info.ok()) {
      add("error", "certificate does not parse: " + info.status().ToString());
      continue;
    }
    if (info->sha256_fingerprint != live->fingerprint_sha256) {
      add("error", "the certificate file does not match the inventory's fingerprint");
    }
    if (info->not_after <= now) {
      add("error", "expired at " + FormatRfc3339(info->not_after));
    } else if (info->not_after - now < std::chrono::hours(24 * 14)) {
      add("warning", "expires in " + FormatDurationHuman(info->not_after - now));
    }
    auto key = PrivateKey::FromPem(files->key_pem);
    Status match = key.ok() ? KeyMatchesCertificate(*key, files->cert_pem) : key.status();
    if (!match.ok()) add("error", "key does not match: " + match.ToString());
    Status chain = VerifyChain(files->cert_pem, files->chain_pem, trust, now);
    if (!chain.ok()) add("error", chain.ToString());
    for (const std::string& d : c.spec.domains) {
      if (!CertificateCovers(*info, d)) add("error", "does not cover " + d);
    }
    if (live->state == store::VersionState::kRevoked) add("error", "the live version is revoked");
    if (layout_.LiveVersionNumber(name) != live->n) {
      add("warning", "live/" + name + " does not point at version " + std::to_string(live->n));
    }
  }
  return findings;
}

Result<std::vector<std::string>> EngineImpl::Import(const std::vector<std::string>& paths) {
  CK_RETURN_IF_ERROR(AcquireLock());
  std::vector<std::string> imported;
  for (const std::string& path : paths) {
    // A directory like certbot's live/<name>/, or a single PEM file.
    std::string cert_path = path, key_path;
    std::string name;
    if (std::filesystem::is_directory(path)) {
      for (const char* f : {"fullchain.pem", "cert.pem"}) {
        if (fs::Exists(path + "/" + f)) {
          cert_path = path + "/" + f;
          break;
        }
      }
      for (const char* f : {"privkey.pem", "key.pem"}) {
        if (fs::Exists(path + "/" + f)) key_path = path + "/" + f;
      }
      name = std::filesystem::path(path).filename().string();
    } else {
      name = std::filesystem::path(path).stem().string();
    }
    CK_ASSIGN_OR_RETURN(std::string pem, fs::ReadFile(cert_path));
    auto certs = SplitPemCertificates(pem);
    if (!certs.ok()) return certs.status().Annotate("import " + path);
    CK_ASSIGN_OR_RETURN(CertInfo info, ParseCertificatePem(certs->front()));
    if (info.dns_names.empty()) {
      return Status(ErrorCode::kInvalidArgument, "the certificate has no DNS names").Where(cert_path);
    }
    if (ValidateCertificateName(name).ok() == false) name = info.dns_names.front();
    std::replace(name.begin(), name.end(), '*', '_');
    CK_RETURN_IF_ERROR(ValidateCertificateName(name).Annotate("import " + path));
    VersionFiles files;
    files.cert_pem = certs->front();
    for (size_t i = 1; i < certs->size(); ++i) files.chain_pem += (*certs)[i];
    std::string key_type = "ec256";
    if (!key_path.empty()) {
      CK_ASSIGN_OR_RETURN(files.key_pem, fs::ReadFile(key_path));
      auto key = PrivateKey::FromPem(files.key_pem);
      if (!key.ok()) return key.status().Annotate("import " + key_path);
      CK_RETURN_IF_ERROR(KeyMatchesCertificate(*key, files.cert_pem).Annotate("import " + path));
      key_type = std::string(KeyTypeName(key->type()));
    }
    CertificateSpec spec;
    spec.name = name;
    spec.domains = info.dns_names;
    CK_ASSIGN_OR_RETURN(spec.key_type, ParseKeyType(key_type));
    CK_RETURN_IF_ERROR(inventory_->PutCertificate(ToStoreSpec(spec, config_)));
    CK_ASSIGN_OR_RETURN(int n, inventory_->NextVersionNumber(name));
    CK_RETURN_IF_ERROR(layout_.WriteVersion(name, n, files));
    store::Version v;
    v.certificate = name;
    v.n = n;
    v.serial = info.serial_hex;
    v.not_before = info.not_before;
    v.not_after = info.not_after;
    v.issuer = info.issuer;
    v.fingerprint_sha256 = info.sha256_fingerprint;
    v.domains = info.dns_names;
    v.key_type = key_type;
    v.directory = layout_.VersionDir(name, n);
    v.state = store::VersionState::kDeployed;
    CK_RETURN_IF_ERROR(inventory_->AddVersion(v));
    CK_RETURN_IF_ERROR(layout_.SwitchLive(name, n));
    Event(name, "imported", "from " + path + ", serial " + v.serial);
    imported.push_back(name);
  }
  return imported;
}

store::AttemptEnd EngineImpl::DeliveryEnd(const Status& s, int version) const {
  store::AttemptEnd end;
  end.finished_at = clock_->Now();
  end.outcome = s.ok() ? store::AttemptOutcome::kSuccess : store::AttemptOutcome::kFailed;
  if (!s.ok()) {
    end.error_type = std::string(ErrorCodeName(s.code()));
    end.error_detail = s.ToString();
  }
  end.version = version;
  return end;
}

}  // namespace certkeeper::lifecycle
