// Issuing one certificate as one recorded attempt. The order of writes is what
// keeps the inventory honest after a crash at any point:
//   1. the certificate key is written (0600) and the order URL recorded as
//      pending, so a killed run resumes the same order with the same key;
//   2. the version's files are written completely under archive/<name>/<n>;
//   3. AddVersion records it (the commit point: a recorded version always has
//      complete files);
//   4. deploy targets run; only when they succeed does live/<name> switch.
#include <algorithm>
#include <set>

#include "base/crash_point.h"
#include "base/fs.h"
#include "base/log.h"
#include "lifecycle/ca_wait.h"
#include "lifecycle/engine_impl.h"
#include "lifecycle/issuer.h"
#include "lifecycle/registered_domain.h"

namespace certkeeper::lifecycle {

namespace {

std::string NamesKey(std::vector<std::string> domains) {
  std::sort(domains.begin(), domains.end());
  std::string key = "names:";
  for (size_t i = 0; i < domains.size(); ++i) key += (i ? "," : "") + domains[i];
  return key;
}

std::string ErrorType(const Status& s) {
  if (const Problem* p = s.problem()) return p->type;
  return std::string(ErrorCodeName(s.code()));
}

}  // namespace

Result<SolverSet*> EngineImpl::Solvers() {
  std::lock_guard<std::mutex> lock(client_mu_);
  if (!solvers_) {
    CK_ASSIGN_OR_RETURN(solvers_, SolverSet::Create(config_.solvers));
  }
  return solvers_.get();
}

Result<CertificateOutcome> EngineImpl::Issue(const CertificateSpec& spec) {
  CK_RETURN_IF_ERROR(RequireServer());
  CK_ASSIGN_OR_RETURN(SolverSet * solvers, Solvers());
  CK_RETURN_IF_ERROR(ChallengeRoutes(spec, solvers->Types()).status());
  CK_RETURN_IF_ERROR(AcquireLock());
  FinishInterruptedDeliveries();
  // Reach the CA before anything is recorded: a wrong URL, a TLS failure or a
  // server that is not an ACME server changes nothing.
  CK_ASSIGN_OR_RETURN(acme::Client * client, BareClient());
  CK_RETURN_IF_ERROR(client->GetDirectory().status());
  // The account too (key file permissions, registration, terms of service).
  CK_RETURN_IF_ERROR(AccountClient().status());
  CK_RETURN_IF_ERROR(inventory_->PutCertificate(ToStoreSpec(spec, config_)));
  CertificateOutcome outcome = IssueAndDeploy(spec, "issue requested");
  if (outcome.error.ok()) outcome.error = UnfinishedDeliveriesError(spec.name);
  return outcome;
}

Status EngineImpl::ExplainCaWait(Status error, const Result<store::Version>& live) const {
  FailureRetryAfter wait = ClassifyRetryAfter(error, clock_->Now());
  if (!wait.ca_limit_until || !live.ok()) return error;
  CaWaitDecision d =
      BoundCaWait({clock_->Now(), *wait.ca_limit_until, live->not_before, live->not_after});
  if (!d.runs_into_expiry) return error;
  Status explained = CaWaitRunsIntoExpiry(d, live->not_after, error.message());
  if (!error.where().empty()) explained.Where(error.where());
  if (const Problem* p = error.problem()) explained.WithProblem(*p);
  return explained;
}

void EngineImpl::RecordFailure(const CertificateSpec& spec, int64_t attempt_id,
                               const Status& error, std::optional<TimePoint> not_after) {
  TimePoint now = clock_->Now();
  // Only a rateLimited problem is a CA limit that outlives this run (RFC 8555
  // §6.6); any other Retry-After (a 503) is a short floor for the backoff.
  FailureRetryAfter wait = ClassifyRetryAfter(error, now);
  store::AttemptEnd end;
  end.finished_at = now;
  end.outcome = store::AttemptOutcome::kFailed;
  end.error_type = ErrorType(error);
  end.error_detail = error.ToString();
  end.retry_after = wait.backoff_floor;
  if (attempt_id > 0) {
    Status s = inventory_->FinishAttempt(attempt_id, end);
    if (!s.ok()) log::Warn("cannot record attempt end", {{"error", s.ToString()}});
  }
  auto cert = inventory_->GetCertificate(spec.name);
  store::Schedule sched = cert.ok() ? cert->schedule : store::Schedule{};
  sched.consecutive_failures += 1;
  BackoffInput in;
  in.consecutive_failures = sched.consecutive_failures;
  in.now = now;
  in.not_after = not_after;
  in.retry_after = wait.backoff_floor;
  in.random = random_;
  sched.next_attempt_at = NextAttemptAfterFailure(in);
  sched.deferred_reason = "backoff after " + std::to_string(sched.consecutive_failures) +
                          " failure" + (sched.consecutive_failures > 1 ? "s" : "");
  if (wait.ca_limit_until) {
    sched.ca_retry_after = wait.ca_limit_until;
    sched.deferred_reason = "CA asked to retry after " + FormatRfc3339(*wait.ca_limit_until);
    const Problem* p = error.problem();
    // An account-wide limit stops every certificate of that account.
    if (p && p->detail.find("account") != std::string::npos && client_ &&
        !client_->account_url().empty()) {
      store::CaLimit limit;
      limit.server = config_.acme.server;
      limit.scope = store::AccountScope(client_->account_url());
      limit.until = *wait.ca_limit_until;
      limit.reason = p->detail;
      Status s = inventory_->SetCaLimit(limit);
      if (!s.ok()) log::Warn("cannot record CA limit", {{"error", s.ToString()}});
    }
  }
  Status s = inventory_->SetSchedule(spec.name, sched);
  if (!s.ok()) log::Warn("cannot record schedule", {{"error", s.ToString()}});
}

CertificateOutcome EngineImpl::IssueAndDeploy(const CertificateSpec& spec,
                                              const std::string& reason) {
  CertificateOutcome outcome;
  outcome.name = spec.name;
  outcome.reason = reason;
  TimePoint now = clock_->Now();
  const std::string& server = config_.acme.server;

  store::Attempt attempt;
  attempt.certificate = spec.name;
  attempt.started_at = now;
  attempt.server = server;
  attempt.reason = reason;
  auto attempt_id = inventory_->StartAttempt(attempt);
  if (!attempt_id.ok()) {
    outcome.outcome = "failed";
    outcome.error = attempt_id.status().Annotate("record attempt");
    return outcome;
  }
  int64_t id = *attempt_id;
  std::optional<TimePoint> live_not_after;
  std::string replaces;
  auto live = inventory_->LiveVersion(spec.name);
  if (live.ok()) live_not_after = live->not_after;

  auto fail = [&](Status error) {
    // A rate limit that would hold the renewal past the certificate's expiry
    // says so (and stays a failure in the next runs, see Renew).
    error = ExplainCaWait(std::move(error), live);
    RecordFailure(spec, id, error, live_not_after);
    // A CA that cannot be reached fails every certificate the same way; the
    // renewal loop stops asking it after a few of these in a row.
    if (error.code() == ErrorCode::kUnavailable) {
      ca_unavailable_streak_++;
    } else {
      ca_unavailable_streak_ = 0;
    }
    log::Debug("certificate failed", {{"certificate", spec.name}, {"error", error.ToString()}});
    outcome.outcome = "failed";
    outcome.error = std::move(error);
    return outcome;
  };

  auto client = AccountClient();
  if (!client.ok()) return fail(client.status());
  auto solvers = Solvers();
  if (!solvers.ok()) return fail(solvers.status());

  // The certificate key: resumed with its pending order, or new.
  auto cert = inventory_->GetCertificate(spec.name);
  IssueInput input;
  input.spec = &spec;
  std::optional<PrivateKey> cert_key;
  std::string key_path = layout_.PendingKeyPath(spec.name);
  bool resumed = false;
  if (cert.ok() && cert->pending_order && fs::Exists(cert->pending_order->key_path)) {
    auto pem = fs::ReadFile(cert->pending_order->key_path);
    auto key = pem.ok() ? PrivateKey::FromPem(*pem) : Result<PrivateKey>(pem.status());
    if (key.ok() && key->type() == spec.key_type) {
      cert_key = *key;
      input.resume_order_url = cert->pending_order->order_url;
      key_path = cert->pending_order->key_path;
      resumed = true;
    }
  }
  if (!resumed) {
    auto key = PrivateKey::Generate(spec.key_type);
    if (!key.ok()) return fail(key.status());
    auto pem = key->ToPem();
    if (!pem.ok()) return fail(pem.status());
    Status s = fs::MakeDirs(layout_.ArchiveDir(spec.name), 0700);
    if (s.ok()) s = fs::WritePrivateFile(key_path, *pem);
    if (!s.ok()) return fail(s.Annotate("write certificate key"));
    cert_key = *key;
  }

  input.key = &*cert_key;
  // RFC 9773 §5: tell a CA that offers renewal information which certificate
  // this order replaces.
  if (live.ok()) {
    auto dir = (*client)->GetDirectory();
    auto live_pem = layout_.ReadVersion(spec.name, live->n);
    if (dir.ok() && !dir->renewal_info.empty() && live_pem.ok()) {
      auto id = acme::AriCertificateId(live_pem->cert_pem);
      if (id.ok()) input.replaces = *id;
    }
  }
  IssueHooks hooks;
  hooks.step = [&](const store::AttemptStep& step) { AddStep(id, step); };
  hooks.order_created = [&](const std::string& url) {
    store::PendingOrder pending;
    pending.order_url = url;
    pending.key_path = key_path;
    pending.created_at = clock_->Now();
    (void)inventory_->SetPendingOrder(spec.name, pending);
    CrashPoint("issue.order-created");
    store::RequestRecord r;
    r.server = server;
    r.account_url = (*client)->account_url();
    r.kind = store::RequestKind::kNewOrder;
    r.at = clock_->Now();
    (void)inventory_->RecordRequest(r);
  };
  hooks.validation_failed = [&](const std::string& identifier) {
    store::RequestRecord r;
    r.server = server;
    r.account_url = (*client)->account_url();
    r.kind = store::RequestKind::kFailedValidation;
    r.key = identifier;
    r.at = clock_->Now();
    (void)inventory_->RecordRequest(r);
  };

  log::Info("issuing", {{"certificate", spec.name}, {"reason", reason}});
  Issuer issuer(*client, *solvers, clock_);
  auto issued = issuer.Issue(input, hooks);
  if (!issued.ok()) {
    // A CA that is unreachable may still hold the order: keep it for the next
    // run. Any other failure ends this order.
    if (issued.status().code() != ErrorCode::kUnavailable) {
      (void)inventory_->ClearPendingOrder(spec.name);
    }
    return fail(issued.status());
  }
  ca_unavailable_streak_ = 0;
  // The order fetched the directory: remember what it offers (no request).
  if (auto dir = (*client)->GetDirectory(); dir.ok()) RememberDirectory(*dir);

  // Files first, then the record: the commit point.
  auto n = inventory_->NextVersionNumber(spec.name);
  if (!n.ok()) return fail(n.status());
  auto key_pem = cert_key->ToPem();
  if (!key_pem.ok()) return fail(key_pem.status());
  VersionFiles files{*key_pem, issued->cert_pem, issued->chain_pem};
  Status s = layout_.WriteVersion(spec.name, *n, files);
  if (!s.ok()) return fail(s.Annotate("store version files"));
  CrashPoint("issue.files-written");
  auto info = ParseCertificatePem(issued->cert_pem);
  if (!info.ok()) return fail(info.status());
  store::Version version;
  version.certificate = spec.name;
  version.n = *n;
  version.serial = info->serial_hex;
  version.not_before = info->not_before;
  version.not_after = info->not_after;
  version.issuer = info->issuer;
  version.fingerprint_sha256 = info->sha256_fingerprint;
  version.domains = spec.domains;
  version.key_type = std::string(KeyTypeName(spec.key_type));
  version.directory = layout_.VersionDir(spec.name, *n);
  version.order_url = issued->order_url;
  version.state = store::VersionState::kIssued;
  s = inventory_->Transaction([&]() -> Status {
    CK_RETURN_IF_ERROR(inventory_->AddVersion(version));
    CK_RETURN_IF_ERROR(inventory_->ClearPendingOrder(spec.name));
    store::RequestRecord r;
    r.server = server;
    r.account_url = (*client)->account_url();
    r.kind = store::RequestKind::kCertificate;
    r.at = clock_->Now();
    r.key = NamesKey(spec.domains);
    CK_RETURN_IF_ERROR(inventory_->RecordRequest(r));
    std::set<std::string> registered;
    for (const std::string& d : spec.domains) {
      auto rd = PublicSuffixList::Default().RegisteredDomain(d);
      if (rd.ok()) registered.insert(*rd);
    }
    for (const std::string& rd : registered) {
      r.key = rd;
      CK_RETURN_IF_ERROR(inventory_->RecordRequest(r));
    }
    return Status::Ok();
  });
  if (!s.ok()) return fail(s.Annotate("record version"));
  CrashPoint("issue.recorded");
  (void)fs::RemoveAll(key_path);
  Event(spec.name, "issued",
        "version " + std::to_string(*n) + " serial " + version.serial + " expires " +
            FormatRfc3339(version.not_after));
  log::Info("certificate issued", {{"certificate", spec.name},
                                   {"version", std::to_string(*n)},
                                   {"serial", version.serial},
                                   {"not_after", FormatRfc3339(version.not_after)}});

  s = DeployVersion(spec, *n, id);
  outcome.version = ToView(version);
  if (!s.ok()) {
    outcome.version->state = "deploy_failed";
    return fail(s);
  }
  outcome.version->state = "deployed";
  store::AttemptEnd end;
  end.finished_at = clock_->Now();
  end.outcome = store::AttemptOutcome::kSuccess;
  end.version = *n;
  (void)inventory_->FinishAttempt(id, end);
  (void)inventory_->SetSchedule(spec.name, store::Schedule{});
  outcome.outcome = live.ok() ? "renewed" : "issued";
  return outcome;
}

}  // namespace certkeeper::lifecycle
