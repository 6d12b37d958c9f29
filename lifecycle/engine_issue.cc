// Issuing one certificate within a recorded attempt (engine_issue.h).
#include "lifecycle/engine_issue.h"

#include <utility>

#include "base/crash_point.h"
#include "base/fs.h"
#include "base/log.h"
#include "lifecycle/ca_wait.h"
#include "lifecycle/next_key.h"
#include "lifecycle/rate_limit_scope.h"
#include "lifecycle/request_keys.h"

namespace certkeeper::lifecycle {

namespace {

std::string ErrorType(const Status& s) {
  if (const Problem* p = s.problem()) return p->type;
  return std::string(ErrorCodeName(s.code()));
}

}  // namespace

Result<SolverSet*> Issuance::Solvers() {
  std::lock_guard<std::mutex> lock(solvers_mu_);
  if (!solvers_) {
    CK_ASSIGN_OR_RETURN(solvers_, make_solvers_());
  }
  return solvers_.get();
}

Status Issuance::ExplainCaWait(Status error, const Result<store::Version>& live) const {
  const TimePoint now = ctx_.clock->Now();
  FailureRetryAfter wait = ClassifyRetryAfter(error, now);
  if (!wait.ca_limit_until || !live.ok()) return error;
  CaWaitDecision d = BoundCaWait({now, *wait.ca_limit_until, live->not_before, live->not_after});
  if (!d.runs_into_expiry) return error;
  Status explained = CaWaitRunsIntoExpiry(d, live->not_after, error.message());
  if (!error.where().empty()) explained.Where(error.where());
  if (const Problem* p = error.problem()) explained.WithProblem(*p);
  return explained;
}

void Issuance::RecordFailure(const CertificateSpec& spec, int64_t attempt_id,
                             const Status& error, std::optional<TimePoint> not_after) {
  TimePoint now = ctx_.clock->Now();
  // Only a rateLimited problem is a CA limit that outlives this run (RFC 8555
  // §6.6); any other Retry-After (a 503) is a short floor for the backoff.
  FailureRetryAfter wait = ClassifyRetryAfter(error, now);
  if (attempt_id > 0) {
    store::AttemptEnd end;
    end.finished_at = now;
    end.outcome = store::AttemptOutcome::kFailed;
    end.error_type = ErrorType(error);
    end.error_detail = error.ToString();
    end.retry_after = wait.backoff_floor;
    RecordBestEffort(ctx_.inventory->FinishAttempt(attempt_id, end), spec.name,
                     "record the end of the attempt");
  }
  if (wait.ca_limit_until &&
      ScopeOfRateLimit(error.problem(), error.where(), accounts_.NewAccountUrlFor(error.where())) ==
          RateLimitScope::kAccount) {
    // Every certificate of the account waits (engine_renew.cc reads it). An
    // account not registered yet has the empty URL, which is also what a run
    // without a stored account looks up.
    store::CaLimit limit;
    limit.server = ctx_.server();
    limit.scope = store::AccountScope(accounts_.AccountUrl());
    limit.until = *wait.ca_limit_until;
    limit.reason = error.problem() ? error.problem()->detail : error.message();
    RecordBestEffort(ctx_.inventory->SetCaLimit(limit), spec.name, "record the CA limit");
  }
  auto cert = ctx_.inventory->GetCertificate(spec.name);
  if (!cert.ok() && cert.status().code() != ErrorCode::kNotFound) {
    RecordBestEffort(cert.status().Annotate("read the schedule"), spec.name,
                     "record the backoff (the stored schedule stays)");
    return;
  }
  store::Schedule sched = cert.ok() ? cert->schedule : store::Schedule{};
  sched.consecutive_failures += 1;
  BackoffInput in;
  in.consecutive_failures = sched.consecutive_failures;
  in.now = now;
  in.not_after = not_after;
  in.retry_after = wait.backoff_floor;
  in.random = *ctx_.random;
  sched.next_attempt_at = NextAttemptAfterFailure(in);
  sched.deferred_reason = "backoff after " + std::to_string(sched.consecutive_failures) +
                          " failure" + (sched.consecutive_failures > 1 ? "s" : "");
  if (wait.ca_limit_until) {
    sched.ca_retry_after = wait.ca_limit_until;
    sched.deferred_reason = "CA asked to retry after " + FormatRfc3339(*wait.ca_limit_until);
  }
  RecordBestEffort(ctx_.inventory->SetSchedule(spec.name, sched), spec.name,
                   "record the schedule");
}

Result<Issuance::CertificateKey> Issuance::PendingOrNewKey(const CertificateSpec& spec) {
  auto cert = ctx_.inventory->GetCertificate(spec.name);
  // Unknown is not "no pending order": a new order would be placed for an
  // order the CA may be about to finish.
  if (!cert.ok() && cert.status().code() != ErrorCode::kNotFound) {
    return cert.status().Annotate("read the pending order");
  }
  if (cert.ok() && cert->pending_order && fs::Exists(cert->pending_order->key_path)) {
    const store::PendingOrder& pending = *cert->pending_order;
    auto pem = fs::ReadFile(pending.key_path);
    auto key = pem.ok() ? PrivateKey::FromPem(*pem) : Result<PrivateKey>(pem.status());
    if (key.ok() && key->type() == spec.key_type) {
      return CertificateKey{std::move(*key), pending.key_path, pending.order_url};
    }
    // Without its key the order cannot be finalized: a new key and order.
    log::Warn("the pending order's key cannot be used; placing a new order",
              {{"certificate", spec.name},
               {"error", key.ok() ? "another key type" : key.status().ToString()}});
  }
  CK_ASSIGN_OR_RETURN(PrivateKey key, StagedOrNewKey(spec));
  CK_ASSIGN_OR_RETURN(std::string pem, key.ToPem());
  std::string path = ctx_.layout->PendingKeyPath(spec.name);
  Status s = fs::MakeDirs(ctx_.layout->ArchiveDir(spec.name), 0700);
  if (s.ok()) s = fs::WritePrivateFile(path, pem);
  if (!s.ok()) return s.Annotate("write certificate key");
  return CertificateKey{std::move(key), std::move(path), ""};
}

std::string Issuance::ReplacesId(acme::Client& client, const CertificateSpec& spec,
                                 const Result<store::Version>& live) {
  if (!live.ok()) return "";
  auto dir = client.GetDirectory();
  auto live_pem = ctx_.layout->ReadVersion(spec.name, live->n);
  if (!dir.ok() || dir->renewal_info.empty() || !live_pem.ok()) return "";
  auto id = acme::AriCertificateId(live_pem->cert_pem);
  return id.ok() ? *id : "";
}

IssueHooks Issuance::Hooks(const CertificateSpec& spec, int64_t attempt_id,
                           const CertificateKey& key, acme::Client& client) {
  IssueHooks hooks;
  hooks.step = [this, attempt_id](const store::AttemptStep& step) {
    ctx_.AddStep(attempt_id, step);
  };
  hooks.persist_order = [this, &spec, &key](const std::string& url) -> Status {
    store::PendingOrder pending;
    pending.order_url = url;
    pending.key_path = key.path;
    pending.created_at = ctx_.clock->Now();
    Status s = ctx_.inventory->SetPendingOrder(spec.name, pending);
    if (!s.ok()) {
      return std::move(s.Annotate("record the pending order")
                           .Hint("nothing is finalized without it; the CA lets the order "
                                 "expire, and the next run places a new one"));
    }
    CrashPoint("issue.order-created");
    return Status::Ok();
  };
  hooks.order_created = [this, &client](const std::string&) {
    RecordRequestBestEffort(store::RequestKind::kNewOrder, "", client.account_url());
  };
  hooks.validation_failed = [this, &client](const std::string& identifier) {
    RecordRequestBestEffort(store::RequestKind::kFailedValidation, identifier,
                            client.account_url());
  };
  return hooks;
}

Result<store::Version> Issuance::IssueVersion(const CertificateSpec& spec, int64_t attempt_id,
                                              const Result<store::Version>& live) {
  CK_ASSIGN_OR_RETURN(acme::Client * client, accounts_.AccountClient());
  CK_ASSIGN_OR_RETURN(SolverSet * solvers, Solvers());
  CK_ASSIGN_OR_RETURN(CertificateKey key, PendingOrNewKey(spec));
  IssueInput input;
  input.spec = &spec;
  input.key = &key.key;
  input.resume_order_url = key.resume_order_url;
  input.replaces = ReplacesId(*client, spec, live);
  IssueHooks hooks = Hooks(spec, attempt_id, key, *client);

  Issuer issuer(client, solvers, ctx_.clock);
  auto issued = issuer.Issue(input, hooks);
  if (!issued.ok()) {
    // A CA that is unreachable may still hold the order: keep it for the next
    // run. Any other failure ends this order.
    if (issued.status().code() != ErrorCode::kUnavailable) ClearPendingOrderBestEffort(spec.name);
    return issued.status();
  }
  // The order fetched the directory: remember what it offers (no request).
  if (auto dir = client->GetDirectory(); dir.ok()) ari_.RememberDirectory(*dir);
  return RecordVersion(spec, key, *issued, *client);
}

Result<store::Version> Issuance::RecordVersion(const CertificateSpec& spec,
                                               const CertificateKey& key,
                                               const IssueResult& issued, acme::Client& client) {
  CK_ASSIGN_OR_RETURN(int n, ctx_.inventory->NextVersionNumber(spec.name));
  CK_ASSIGN_OR_RETURN(std::string key_pem, key.key.ToPem());
  VersionFiles files{key_pem, issued.cert_pem, issued.chain_pem};
  Status s = ctx_.layout->WriteVersion(spec.name, n, files);
  if (!s.ok()) return s.Annotate("store version files");
  CrashPoint("issue.files-written");
  CK_ASSIGN_OR_RETURN(CertInfo info, ParseCertificatePem(issued.cert_pem));
  store::Version version =
      VersionFromCertificate(spec.name, n, info, spec.domains,
                             std::string(KeyTypeName(spec.key_type)),
                             ctx_.layout->VersionDir(spec.name, n));
  version.order_url = issued.order_url;
  const std::string account_url = client.account_url();
  s = ctx_.inventory->Transaction([&]() -> Status {
    CK_RETURN_IF_ERROR(ctx_.inventory->AddVersion(version));
    CK_RETURN_IF_ERROR(ctx_.inventory->ClearPendingOrder(spec.name));
    return RecordIssuedRequests(spec, account_url);
  });
  if (!s.ok()) return s.Annotate("record version");
  CrashPoint("issue.recorded");
  RemovePendingKeyBestEffort(spec.name, key.path);
  StageNextKeyBestEffort(spec, key.key);
  ctx_.Event(spec.name, "issued",
             "version " + std::to_string(n) + " serial " + version.serial + " expires " +
                 FormatRfc3339(version.not_after));
  log::Info("certificate issued", {{"certificate", spec.name},
                                   {"version", std::to_string(n)},
                                   {"serial", version.serial},
                                   {"not_after", FormatRfc3339(version.not_after)}});
  return version;
}

Status Issuance::RecordIssuedRequests(const CertificateSpec& spec,
                                      const std::string& account_url) {
  store::RequestRecord r;
  r.server = ctx_.server();
  r.account_url = account_url;
  r.kind = store::RequestKind::kCertificate;
  r.at = ctx_.clock->Now();
  r.key = NamesKey(spec.domains);
  CK_RETURN_IF_ERROR(ctx_.inventory->RecordRequest(r));
  for (const std::string& rd : RegisteredDomains(spec.domains)) {
    r.key = rd;
    CK_RETURN_IF_ERROR(ctx_.inventory->RecordRequest(r));
  }
  return Status::Ok();
}

void Issuance::RecordRequestBestEffort(store::RequestKind kind, const std::string& key,
                                       const std::string& account_url) {
  store::RequestRecord r;
  r.server = ctx_.server();
  r.account_url = account_url;
  r.kind = kind;
  r.key = key;
  r.at = ctx_.clock->Now();
  Status s = ctx_.inventory->RecordRequest(r);
  if (!s.ok()) {
    log::Warn("cannot count a request for the budgets",
              {{"server", r.server}, {"key", key}, {"error", s.ToString()}});
  }
}

void Issuance::ClearPendingOrderBestEffort(const std::string& name) {
  RecordBestEffort(ctx_.inventory->ClearPendingOrder(name), name, "clear the pending order");
}

void Issuance::RemovePendingKeyBestEffort(const std::string& name, const std::string& path) {
  Status s = fs::RemoveAll(path);
  if (!s.ok()) {
    log::Warn("cannot remove the pending certificate key (a copy of the recorded one)",
              {{"certificate", name}, {"path", path}, {"error", s.ToString()}});
  }
}

Result<PrivateKey> Issuance::StagedOrNewKey(const CertificateSpec& spec) {
  if (spec.next_key) {
    auto staged = LoadNextKey(*ctx_.layout, spec.name);
    if (staged.ok() && *staged && (*staged)->type() == spec.key_type) return std::move(**staged);
    if (!staged.ok()) {
      // Not used: a key of unknown state may have been read by others. Its
      // pins stop matching; `show` reports the error until it is removed.
      log::Warn("the staged next key cannot be used; generating a new key",
                {{"certificate", spec.name}, {"error", staged.status().ToString()}});
    }
  }
  return PrivateKey::Generate(spec.key_type);
}

void Issuance::StageNextKeyBestEffort(const CertificateSpec& spec, const PrivateKey& used) {
  if (!spec.next_key) return;
  auto next = RotateNextKey(*ctx_.layout, spec.name, spec.key_type, used);
  if (!next.ok()) {
    log::Warn("cannot stage the next key; `certkeeper show` or the next issuance stages it",
              {{"certificate", spec.name}, {"error", next.status().ToString()}});
  }
}

}  // namespace certkeeper::lifecycle
