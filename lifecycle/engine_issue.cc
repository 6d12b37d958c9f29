// Issuing one certificate within a recorded attempt (engine_issue.h).
#include "lifecycle/engine_issue.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <string_view>
#include <utility>

#include "base/crash_point.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/phase_timer.h"
#include "acme/chains.h"
#include "acme/problem.h"
#include "lifecycle/ca_wait.h"
#include "lifecycle/planner.h"
#include "lifecycle/rate_limit_scope.h"
#include "lifecycle/request_keys.h"

namespace certkeeper::lifecycle {

namespace {

std::string ErrorType(const Status& s) {
  if (const Problem* p = s.problem()) return p->type;
  return std::string(ErrorCodeName(s.code()));
}

// scheme://host[:port] of a URL, lower-cased; an order is resumed only at the
// CA whose directory shares it.
std::string Origin(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  size_t end = url.find('/', scheme + 3);
  std::string origin(url.substr(0, end));
  for (char& c : origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return origin;
}

}  // namespace

// The steps of one order are history, not state: nothing is decided from them
// while the order runs. Each one written on its own costs a commit (WAL
// writes, not synced: docs/crash-leftovers.md); so they wait and are
// written with the order's own records (the pending order, the version) in
// one transaction, or by themselves when a step comes a second or more after
// the oldest waiting one (the steps of a slow DNS propagation show in
// `history` while it lasts), and in any case before the order's try ends. A run killed mid-order keeps its pending order
// and loses at most the steps since the last of these writes.
class Issuance::StepBatch {
 public:
  static constexpr std::chrono::seconds kMaxDelay{1};

  StepBatch(const EngineContext& ctx, int64_t attempt_id) : ctx_(ctx), attempt_id_(attempt_id) {}
  ~StepBatch() { Flush(); }
  StepBatch(const StepBatch&) = delete;
  StepBatch& operator=(const StepBatch&) = delete;

  void Add(const store::AttemptStep& step) {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty()) first_at_ = std::chrono::steady_clock::now();
    pending_.push_back(step);
    if (std::chrono::steady_clock::now() - first_at_ >= kMaxDelay) WriteLocked(/*own_tx=*/true);
  }
  // Inside a transaction: writes the waiting steps as part of it. After the
  // transaction, Ended(its status): a transaction that failed wrote nothing,
  // so its steps wait again.
  void WriteInto() {
    std::lock_guard<std::mutex> lock(mu_);
    in_tx_ = pending_;
    WriteLocked(/*own_tx=*/false);
  }
  void Ended(const Status& tx) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!tx.ok()) pending_.insert(pending_.begin(), in_tx_.begin(), in_tx_.end());
    in_tx_.clear();
  }
  void Flush() {
    std::lock_guard<std::mutex> lock(mu_);
    WriteLocked(/*own_tx=*/true);
  }

 private:
  void WriteLocked(bool own_tx) {
    if (pending_.empty()) return;
    std::vector<store::AttemptStep> steps = std::move(pending_);
    pending_.clear();
    // Best effort, step by step, as EngineContext::AddStep: a step that
    // cannot be written is logged and the others still are.
    auto write = [&] {
      for (const store::AttemptStep& step : steps) ctx_.AddStep(attempt_id_, step);
    };
    if (own_tx && steps.size() > 1) {
      RecordBestEffort(ctx_.inventory->Transaction([&] {
                         write();
                         return Status::Ok();
                       }),
                       "", "record the attempt's steps");
    } else {
      write();
    }
  }

  const EngineContext& ctx_;
  const int64_t attempt_id_;
  std::mutex mu_;
  std::vector<store::AttemptStep> pending_;
  std::vector<store::AttemptStep> in_tx_;  // written by WriteInto, not committed yet
  std::chrono::steady_clock::time_point first_at_;
};

bool FallsBackToNextCa(const Status& error) {
  switch (error.code()) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kTls:
    case ErrorCode::kProtocol:
    case ErrorCode::kRateLimited:
    case ErrorCode::kFailedPrecondition:  // every route failed; EAB required; no profile
    case ErrorCode::kPermissionDenied:    // the CA refused the account
      return true;
    default:
      break;
  }
  // A policy refusal, also in a subproblem (RFC 8555 §6.7.1).
  if (acme::IsCaRefusal(error) || acme::IsAccountDoesNotExist(error)) return true;
  const Problem* p = error.problem();
  if (p == nullptr) return false;
  return p->Is("rateLimited") || p->Is("serverInternal") || p->status >= 500;
}

Issuance::Issuance(const EngineContext& ctx, Accounts& accounts, RenewalInfoTracker& ari,
                   SolverSetFactory solvers)
    : ctx_(ctx),
      accounts_(accounts),
      ari_(ari),
      make_solvers_(std::move(solvers)),
      unavailable_(new std::atomic<int>[std::max<size_t>(accounts.size(), 1)]()) {}

CaRoute Issuance::RouteFor(const CertificateSpec& spec, const store::Version* live) const {
  CaRoute route;
  for (const AcmeSettings* ca : ctx_.config->CasFor(spec)) {
    if (auto i = accounts_.IndexOfServer(ca->server)) {
      // Two blocks may share a server; the name picks the block.
      for (size_t j = 0; j < accounts_.size(); ++j) {
        if (&accounts_.Settings(j) == ca) i = j;
      }
      route.order.push_back(*i);
    }
  }
  if (!ctx_.config->renewal.return_to_preferred && live != nullptr && !live->server.empty()) {
    auto issuer = std::find_if(route.order.begin(), route.order.end(), [&](size_t i) {
      return accounts_.Settings(i).server == live->server &&
             (live->ca.empty() || accounts_.Settings(i).name == live->ca);
    });
    if (issuer != route.order.end()) std::rotate(route.order.begin(), issuer, issuer + 1);
  }
  return route;
}

void Issuance::HoldLimitedCas(const CertificateSpec& spec, CaRoute& route) const {
  if (route.order.size() < 2) return;
  const TimePoint now = ctx_.clock->Now();
  auto limits = ctx_.inventory->ListCaLimits(now);
  std::vector<size_t> open;
  for (size_t ca : route.order) {
    if (!limits.ok()) {
      route.held.emplace_back(ca, "the CA limits cannot be read: " + limits.status().ToString());
      continue;
    }
    const std::string& server = accounts_.Settings(ca).server;
    auto stored = ctx_.inventory->FindAccount(server);
    const std::string account = stored.ok() ? stored->account_url : "";
    auto held = std::find_if(limits->begin(), limits->end(), [&](const store::CaLimit& l) {
      return l.server == server && l.until > now &&
             (l.scope == store::CertificateScope(spec.name) ||
              l.scope == store::AccountScope(account));
    });
    if (held == limits->end()) {
      open.push_back(ca);
    } else {
      route.held.emplace_back(ca, "CA asked to retry after " + FormatRfc3339(held->until) +
                                      " (" + held->reason + ")");
    }
  }
  route.order = std::move(open);
}

std::string Issuance::CaName(size_t ca) const {
  const AcmeSettings& settings = accounts_.Settings(ca);
  return settings.name.empty() ? settings.server : settings.name;
}

void Issuance::ForgetUnavailable() {
  for (size_t i = 0; i < std::max<size_t>(accounts_.size(), 1); ++i) unavailable_[i] = 0;
  std::lock_guard<std::mutex> lock(contact_mu_);
  contacts_.clear();
}

void Issuance::NoteContact(size_t ca, const Status& status) {
  const bool unreachable = status.code() == ErrorCode::kUnavailable;
  if (unreachable) {
    unavailable_[ca]++;
  } else {
    unavailable_[ca] = 0;
  }
  std::lock_guard<std::mutex> lock(contact_mu_);
  CaContact& c = contacts_[ca];
  if (unreachable) {
    ++c.unreachable;
    c.last_error = status.ToString();
  } else {
    ++c.reached;
  }
}

Issuance::CaContact Issuance::ContactOf(size_t ca) const {
  std::lock_guard<std::mutex> lock(contact_mu_);
  auto found = contacts_.find(ca);
  return found == contacts_.end() ? CaContact{} : found->second;
}

int Issuance::UnavailableStreak(size_t ca) const {
  return ca < std::max<size_t>(accounts_.size(), 1) ? unavailable_[ca].load() : 0;
}

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
  if (wait.ca_limit_until) RecordCaLimit(spec, 0, error, /*certificate_scope=*/false);
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

void Issuance::RecordCaLimit(const CertificateSpec& spec, size_t ca, const Status& error,
                             bool certificate_scope) {
  FailureRetryAfter wait = ClassifyRetryAfter(error, ctx_.clock->Now());
  if (!wait.ca_limit_until) return;
  store::CaLimit limit;
  limit.server = accounts_.Settings(ca).server;
  limit.until = *wait.ca_limit_until;
  limit.reason = error.problem() ? error.problem()->detail : error.message();
  if (ScopeOfRateLimit(error.problem(), error.where(),
                       accounts_.NewAccountUrlFor(ca, error.where())) == RateLimitScope::kAccount) {
    // Every certificate of the account waits (engine_renew.cc reads it). An
    // account not registered yet has the empty URL, which is also what a run
    // without a stored account looks up.
    limit.scope = store::AccountScope(accounts_.AccountUrl(ca));
  } else if (certificate_scope) {
    // With several CAs the wait belongs to this CA, not to the certificate's
    // schedule: the next CA may issue meanwhile.
    limit.scope = store::CertificateScope(spec.name);
  } else {
    return;
  }
  RecordBestEffort(ctx_.inventory->SetCaLimit(limit), spec.name, "record the CA limit");
}

void Issuance::CaStep(int64_t attempt_id, size_t ca, store::StepResult result,
                      const std::string& why) {
  store::AttemptStep step;
  step.at = ctx_.clock->Now();
  step.kind = "ca";
  step.identifier = CaName(ca);
  step.result = result;
  step.error = why;
  step.output = accounts_.Settings(ca).server;
  ctx_.AddStep(attempt_id, step);
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

IssueHooks Issuance::Hooks(size_t ca, const CertificateSpec& spec, const CertificateKey& key,
                           acme::Client& client, const CaRoute& route, StepBatch& steps) {
  const std::string& server = accounts_.Settings(ca).server;
  IssueHooks hooks;
  hooks.step = [&steps](const store::AttemptStep& step) { steps.Add(step); };
  hooks.persist_order = [this, &spec, &key, &steps, &client, server,
                         reserved = route.requests_reserved](const std::string& url) -> Status {
    if (ctx_.fleet) {
      // Before the order is recorded: a host that resumes it after this one
      // died needs its key to finalize it.
      std::string pem = key.pem;
      if (pem.empty()) {
        CK_ASSIGN_OR_RETURN(pem, key.key.ToPem());
      }
      Status shared = ctx_.fleet->ShareKey(store::PendingOrderMaterial(spec.name), pem);
      if (!shared.ok()) {
        return std::move(shared.Annotate("share the pending order's key with the fleet")
                             .Hint("nothing is finalized without it; the CA lets the order "
                                   "expire, and the next run places a new one"));
      }
    }
    store::PendingOrder pending;
    pending.order_url = url;
    pending.key_path = key.path;
    pending.created_at = ctx_.clock->Now();
    // One commit: the steps so far, the pending order, and the order counted
    // for the budgets (unless the run reserved it).
    Status s = ctx_.inventory->Transaction([&]() -> Status {
      steps.WriteInto();
      CK_RETURN_IF_ERROR(ctx_.inventory->SetPendingOrder(spec.name, pending));
      if (!reserved) {
        RecordRequestBestEffort(server, store::RequestKind::kNewOrder, "", client.account_url());
      }
      return Status::Ok();
    });
    steps.Ended(s);
    if (!s.ok()) {
      return std::move(s.Annotate("record the pending order")
                           .Hint("nothing is finalized without it; the CA lets the order "
                                 "expire, and the next run places a new one"));
    }
    CrashPoint("issue.order-created");
    return Status::Ok();
  };
  hooks.validation_failed = [this, &client, server](const std::string& identifier) {
    RecordRequestBestEffort(server, store::RequestKind::kFailedValidation, identifier,
                            client.account_url());
  };
  return hooks;
}

Result<store::Version> Issuance::IssueVersion(const CertificateSpec& spec, int64_t attempt_id,
                                              const Result<store::Version>& live,
                                              const CaRoute& route) {
  if (route.order.empty() && route.held.empty()) {
    return Status(ErrorCode::kInvalidArgument, "no CA is configured for " + spec.name)
        .Hint("list CAs in the certificate's cas, or configure [acme] / [[ca]]");
  }
  const bool several = route.order.size() + route.held.size() > 1;
  std::vector<std::string> reasons;
  for (const auto& [ca, why] : route.held) {
    CaStep(attempt_id, ca, store::StepResult::kSkipped, why);
    reasons.push_back(CaName(ca) + ": skipped: " + why);
  }
  // Made before any CA is asked: a solver that cannot start fails at no cost.
  CK_RETURN_IF_ERROR(Solvers().status());
  phase::ScopedPhase key_timed("key");
  CK_ASSIGN_OR_RETURN(CertificateKey key, PendingOrNewKey(spec));
  key_timed.Stop();
  // The names' CAA records, once for every CA (RFC 8659 §3).
  std::optional<CaaFacts> caa;
  if (ctx_.config->caa.enabled) caa = LookupCaaFacts(ctx_.config->caa, spec.domains);
  Status last;
  for (size_t ca : route.order) {
    std::optional<std::string> skip;
    std::vector<std::string> allowed_types;
    if (caa) skip = CaaForbidsCa(*caa, ca, &allowed_types);
    if (!skip && several && UnavailableStreak(ca) >= kCaDownThreshold) {
      skip = "unavailable for the last " + std::to_string(UnavailableStreak(ca)) +
             " orders of this run";
    }
    if (!skip && route.gate) skip = route.gate(ca);
    if (!skip && route.claim) {
      // Nothing more is asked of any CA once another host may hold the
      // certificate.
      Status held = route.claim->Check();
      if (!held.ok()) return held.Annotate("order " + spec.name);
    }
    if (skip) {
      CaStep(attempt_id, ca, store::StepResult::kSkipped, *skip);
      reasons.push_back(CaName(ca) + ": skipped: " + *skip);
      continue;
    }
    Result<store::Version> issued =
        IssueWith(ca, spec, attempt_id, live, key, allowed_types, route);
    if (!issued.ok() && acme::IsAccountDoesNotExist(issued.status())) {
      Status again = accounts_.Reregister(ca);
      issued = again.ok() ? IssueWith(ca, spec, attempt_id, live, key, allowed_types, route)
                          : Result<store::Version>(again);
    }
    if (!issued.ok() && issued.status().code() == ErrorCode::kLocked) return issued;
    NoteContact(ca, issued.status());
    if (!several) return issued;
    if (issued.ok()) {
      CaStep(attempt_id, ca, store::StepResult::kOk, "");
      return issued;
    }
    last = issued.status();
    RecordCaLimit(spec, ca, last, /*certificate_scope=*/true);
    CaStep(attempt_id, ca, store::StepResult::kFailed, last.ToString());
    reasons.push_back(CaName(ca) + ": " + last.ToString());
    if (!FallsBackToNextCa(last)) break;
    log::Warn("CA could not issue; trying the next one",
              {{"certificate", spec.name}, {"ca", CaName(ca)}, {"error", last.ToString()}});
  }
  if (!several && last.ok() && !reasons.empty()) {
    // The one CA was skipped (CAA): nothing was asked of it.
    return Status(ErrorCode::kFailedPrecondition, "the CA was not asked: " + reasons.front())
        .Hint("fix the CAA records of the names, or add a CA they allow");
  }
  std::string list;
  for (const std::string& r : reasons) list += "\n  - " + r;
  // The CAs' own waits are recorded per CA above; the combined error carries
  // no Retry-After of its own, so no single CA's wait holds the others.
  return Status(last.ok() ? ErrorCode::kRateLimited : last.code(),
                "no CA issued the certificate:" + list)
      .Hint("`certkeeper history " + spec.name + "` shows each CA's answer; the previous "
            "certificate stays live");
}

std::optional<std::string> Issuance::CaaForbidsCa(const CaaFacts& caa, size_t ca,
                                                  std::vector<std::string>* allowed_types) {
  const AcmeSettings& settings = accounts_.Settings(ca);
  // The configured identities need no request to the CA; without them, the
  // directory's (kept in the inventory, or fetched).
  std::vector<std::string> identities = settings.caa_identities;
  if (identities.empty() && std::any_of(caa.sets.begin(), caa.sets.end(), [](const auto& s) {
        return !s.second.records.empty();
      })) {
    auto client = accounts_.BareClient(ca);
    auto dir = client.ok() ? (*client)->GetDirectory() : Result<acme::Directory>(client.status());
    if (dir.ok()) identities = dir->meta.caa_identities;
  }
  std::string account = accounts_.AccountUrl(ca);
  if (account.empty()) {
    if (auto stored = ctx_.inventory->FindAccount(settings.server); stored.ok()) {
      account = stored->account_url;
    }
  }
  return CaaForbids(caa, identities, account, allowed_types);
}

Result<store::Version> Issuance::IssueWith(size_t ca, const CertificateSpec& spec,
                                           int64_t attempt_id,
                                           const Result<store::Version>& live,
                                           const CertificateKey& key,
                                           const std::vector<std::string>& allowed_types,
                                           const CaRoute& route) {
  CK_ASSIGN_OR_RETURN(acme::Client * client, accounts_.AccountClient(ca));
  CK_ASSIGN_OR_RETURN(SolverSet * solvers, Solvers());
  const AcmeSettings& settings = accounts_.Settings(ca);
  IssueInput input;
  input.spec = &spec;
  input.key = &key.key;
  // An order belongs to the CA that created it.
  if (Origin(key.resume_order_url) == Origin(settings.server)) {
    input.resume_order_url = key.resume_order_url;
  }
  input.replaces = ReplacesId(*client, spec, live);
  input.profile = settings.profile;
  input.allowed_types = allowed_types;
  if (!settings.preferred_chain.empty()) {
    input.choose_chain = [name = settings.preferred_chain](const acme::CertificateChains& c) {
      return acme::ChoosePreferredChain(c, name);
    };
  }
  StepBatch steps(ctx_, attempt_id);
  IssueHooks hooks = Hooks(ca, spec, key, *client, route, steps);

  Issuer issuer(client, solvers, ctx_.clock);
  auto issued = issuer.Issue(input, hooks);
  if (!issued.ok()) {
    // A CA that is unreachable may still hold the order: keep it for the next
    // run. Any other failure ends this order.
    if (issued.status().code() != ErrorCode::kUnavailable) ClearPendingOrderBestEffort(spec.name);
    return issued.status();
  }
  // Finalized: the certificate exists at the CA whoever records it. A lost
  // claim leaves the order pending for the host that holds it now (it
  // downloads the same certificate) instead of recording it twice.
  if (route.claim) {
    Status held = route.claim->Check();
    if (!held.ok()) return held.Annotate("record the certificate of " + spec.name);
  }
  // The order fetched the directory: remember what it offers (no request).
  if (auto dir = client->GetDirectory(); dir.ok()) ari_.RememberDirectory(ca, *dir);
  return RecordVersion(ca, spec, key, *issued, *client, route, steps);
}

Result<store::Version> Issuance::RecordVersion(size_t ca, const CertificateSpec& spec,
                                               const CertificateKey& key,
                                               const IssueResult& issued, acme::Client& client,
                                               const CaRoute& route, StepBatch& steps) {
  phase::ScopedPhase files_timed("store: version files");
  CK_ASSIGN_OR_RETURN(int n, ctx_.inventory->NextVersionNumber(spec.name));
  std::string key_pem = key.pem;
  if (key_pem.empty()) {
    CK_ASSIGN_OR_RETURN(key_pem, key.key.ToPem());
  }
  VersionFiles files{key_pem, issued.cert_pem, issued.chain_pem};
  Status s = ctx_.layout->WriteVersion(spec.name, n, files);
  files_timed.Stop();
  if (!s.ok()) return s.Annotate("store version files");
  CrashPoint("issue.files-written");
  if (ctx_.fleet) {
    // No host may see a version it cannot deliver: the files first.
    s = ctx_.fleet->ShareVersion(spec.name, n, files);
    if (!s.ok()) {
      return std::move(s.Annotate("share version " + std::to_string(n) + " of " + spec.name +
                                  " with the fleet")
                           .Hint("the version is not recorded; the order stays pending and "
                                 "the next run downloads the certificate again"));
    }
  }
  const CertInfo& info = issued.cert_info;  // parsed at download
  store::Version version =
      VersionFromCertificate(spec.name, n, info, spec.domains,
                             std::string(KeyTypeName(spec.key_type)),
                             ctx_.layout->VersionDir(spec.name, n));
  version.order_url = issued.order_url;
  version.ca = accounts_.Settings(ca).name;
  version.server = accounts_.Settings(ca).server;
  version.profile = accounts_.Settings(ca).profile;
  const std::string account_url = client.account_url();
  if (route.claim) {
    Status held = route.claim->Check();
    if (!held.ok()) {
      return held.Annotate("record version " + std::to_string(n) + " of " + spec.name);
    }
  }
  // One commit: the order's steps, the version, the end of the pending order,
  // the budgets, and the event.
  phase::ScopedPhase record_timed("store: record version");
  s = ctx_.inventory->Transaction([&]() -> Status {
    steps.WriteInto();
    CK_RETURN_IF_ERROR(ctx_.inventory->AddVersion(version));
    CK_RETURN_IF_ERROR(ctx_.inventory->ClearPendingOrder(spec.name));
    if (!route.requests_reserved) {  // else counted when reserved
      CK_RETURN_IF_ERROR(RecordIssuedRequests(version.server, spec, account_url));
    }
    ctx_.Event(spec.name, "issued",
               "version " + std::to_string(n) + " serial " + version.serial + " expires " +
                   FormatRfc3339(version.not_after) + " from " + CaName(ca));
    return Status::Ok();
  });
  steps.Ended(s);
  if (!s.ok()) return s.Annotate("record version");
  CrashPoint("issue.recorded");
  RemovePendingKeyBestEffort(spec.name, key.path);
  ForgetPendingKeyBestEffort(spec.name);
  StageNextKeyBestEffort(spec, key.key);
  log::Info("certificate issued", {{"certificate", spec.name},
                                   {"version", std::to_string(n)},
                                   {"serial", version.serial},
                                   {"not_after", FormatRfc3339(version.not_after)}});
  return version;
}

Status Issuance::RecordIssuedRequests(const std::string& server, const CertificateSpec& spec,
                                      const std::string& account_url) {
  store::RequestRecord r;
  r.server = server;
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

void Issuance::RecordRequestBestEffort(const std::string& server, store::RequestKind kind,
                                       const std::string& key, const std::string& account_url) {
  store::RequestRecord r;
  r.server = server;
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
  ForgetPendingKeyBestEffort(name);
}

}  // namespace certkeeper::lifecycle
