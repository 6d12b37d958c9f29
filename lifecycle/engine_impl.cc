#include "lifecycle/engine_impl.h"

#include <algorithm>

#include "base/log.h"
#include "lifecycle/due.h"
#include "store/sqlite_inventory.h"

namespace certkeeper::lifecycle {

bool RunReport::any_failed() const {
  return std::any_of(certificates.begin(), certificates.end(),
                     [](const CertificateOutcome& o) { return o.outcome == "failed"; });
}

store::CertificateSpec ToStoreSpec(const CertificateSpec& spec, const Config& config) {
  store::CertificateSpec s;
  s.name = spec.name;
  s.domains = spec.domains;
  s.key_type = std::string(KeyTypeName(spec.key_type));
  s.challenges = spec.challenges;
  // No list of its own: every configured type, in the default order, is what
  // the certificate will use; record that.
  if (s.challenges.empty()) {
    for (const char* t : {"http-01", "dns-01", "tls-alpn-01"}) {
      if (config.solvers.count(t)) s.challenges.push_back(t);
    }
    if (s.challenges.empty()) s.challenges.push_back("http-01");
  }
  const std::string& server = config.acme.server;
  s.deploy_targets = spec.deploy;
  s.server = server;
  return s;
}

Result<CertificateSpec> FromStoreSpec(const store::CertificateSpec& s) {
  CertificateSpec spec;
  spec.name = s.name;
  spec.domains = s.domains;
  CK_ASSIGN_OR_RETURN(spec.key_type, ParseKeyType(s.key_type));
  spec.challenges = s.challenges;
  spec.deploy = s.deploy_targets;
  return spec;
}

VersionView ToView(const store::Version& v) {
  VersionView view;
  view.n = v.n;
  view.serial = v.serial;
  view.not_before = v.not_before;
  view.not_after = v.not_after;
  view.issuer = v.issuer;
  view.fingerprint = v.fingerprint_sha256;
  view.state = std::string(store::VersionStateName(v.state));
  view.domains = v.domains;
  view.directory = v.directory;
  view.created_at = v.created_at;
  return view;
}

AttemptView ToView(const store::Attempt& a) {
  AttemptView view;
  view.id = a.id;
  view.certificate = a.certificate;
  view.started_at = a.started_at;
  view.finished_at = a.finished_at;
  view.server = a.server;
  view.reason = a.reason;
  view.outcome = std::string(store::AttemptOutcomeName(a.outcome));
  view.error_type = a.error_type;
  view.error_detail = a.error_detail;
  view.retry_after = a.retry_after;
  for (const store::AttemptStep& s : a.steps) {
    StepView step;
    step.kind = s.kind;
    step.challenge = s.challenge_type;
    step.identifier = s.identifier;
    step.result = std::string(store::StepResultName(s.result));
    step.error = s.error;
    step.output = s.output;
    step.time = s.at;
    if (!s.challenge_type.empty() && (s.kind == "validation" || view.challenge.empty())) {
      view.challenge = s.challenge_type;
    }
    view.steps.push_back(std::move(step));
  }
  return view;
}

Result<std::unique_ptr<Engine>> Engine::Open(const Config& config, Clock* clock) {
  return Open(config, clock, nullptr);
}

Result<std::unique_ptr<Engine>> Engine::Open(const Config& config, Clock* clock,
                                             std::shared_ptr<acme::HttpClient> http) {
  StateLayout layout(config.state_dir);
  CK_RETURN_IF_ERROR(layout.Prepare());
  store::SqliteOptions options;
  options.clock = clock;
  auto inventory = store::SqliteInventory::Open(layout.db_path(), options);
  if (!inventory.ok()) return inventory.status().Annotate("open inventory");
  return std::unique_ptr<Engine>(
      new EngineImpl(config, clock, std::move(*inventory), std::move(http)));
}

EngineImpl::EngineImpl(Config config, Clock* clock, std::unique_ptr<store::Inventory> inventory,
                       std::shared_ptr<acme::HttpClient> http)
    : config_(std::move(config)),
      clock_(clock),
      layout_(config_.state_dir),
      inventory_(std::move(inventory)),
      http_(std::move(http)),
      random_(SystemUniformRandom()) {}

Status EngineImpl::AcquireLock() {
  if (lock_) return Status::Ok();
  CK_ASSIGN_OR_RETURN(store::RunLock lock, store::RunLock::TryAcquire(config_.state_dir));
  lock_ = std::make_unique<store::RunLock>(std::move(lock));
  // Attempts left running belong to a process that died: close them now that
  // no other run can be writing.
  auto closed = inventory_->CloseInterruptedAttempts(clock_->Now());
  if (closed.ok() && *closed > 0) {
    log::Warn("closed attempts left running by an interrupted run",
              {{"count", std::to_string(*closed)}});
  }
  // Temporary files of writes that run did not finish (a key among them).
  // Best effort: a leftover that cannot be removed harms nothing but space.
  Result<int> removed = layout_.RemoveLeftovers();
  if (!removed.ok()) {
    log::Warn("leftover temporary files not removed",
              {{"state_dir", config_.state_dir}, {"reason", removed.status().ToString()}});
  } else if (*removed > 0) {
    log::Info("removed temporary files left by an interrupted run",
              {{"count", std::to_string(*removed)}});
  }
  Reconcile();
  return Status::Ok();
}

Status EngineImpl::RequireServer() const {
  if (config_.acme.server.empty()) {
    return Status(ErrorCode::kInvalidArgument, "no ACME server configured")
        .Hint("pass --server URL or set server in the [acme] section of the config file");
  }
  // Checked before anything is recorded or asked (acme::Client checks again).
  CK_RETURN_IF_ERROR(
      acme::CheckDirectoryUrl(config_.acme.server, config_.acme.allow_insecure_http));
  return acme::CheckRequestTimeout(config_.acme.timeout);
}

void EngineImpl::AddStep(int64_t attempt_id, store::AttemptStep step) {
  auto r = inventory_->AddAttemptStep(attempt_id, step);
  if (!r.ok()) log::Warn("cannot record attempt step", {{"error", r.status().ToString()}});
}

void EngineImpl::Event(const std::string& certificate, const std::string& kind,
                       const std::string& message) {
  store::Event e;
  e.at = clock_->Now();
  e.certificate = certificate;
  e.kind = kind;
  e.message = message;
  auto r = inventory_->AddEvent(e);
  if (!r.ok()) log::Warn("cannot record event", {{"error", r.status().ToString()}});
}

Result<CertificateView> EngineImpl::MakeView(const store::Certificate& cert, bool with_versions) {
  auto live = inventory_->LiveVersion(cert.spec.name);
  if (!live.ok() && live.status().code() != ErrorCode::kNotFound) return live.status();
  std::optional<store::Attempt> last;
  auto attempts = inventory_->ListAttempts(cert.spec.name, 1);
  if (attempts.ok() && !attempts->empty()) last = attempts->front();
  return MakeView(cert, live.ok() ? &*live : nullptr, last ? &*last : nullptr, with_versions);
}

Result<CertificateView> EngineImpl::MakeView(const store::Certificate& cert,
                                             const store::Version* live,
                                             const store::Attempt* last_attempt,
                                             bool with_versions) {
  TimePoint now = clock_->Now();
  CertificateView view;
  view.name = cert.spec.name;
  view.domains = cert.spec.domains;
  view.key_type = cert.spec.key_type;
  view.challenges = cert.spec.challenges;
  view.deploy = cert.spec.deploy_targets;
  view.live_directory = layout_.LiveDir(cert.spec.name);
  if (live) view.live = ToView(*live);
  if (last_attempt) view.last_attempt = ToView(*last_attempt);

  DueInput due;
  due.now = now;
  due.domains = cert.spec.domains;
  auto kt = ParseKeyType(cert.spec.key_type);
  if (kt.ok()) due.key_type = *kt;
  if (live) {
    LiveVersionFacts facts;
    facts.not_before = live->not_before;
    facts.not_after = live->not_after;
    facts.revoked = live->state == store::VersionState::kRevoked;
    facts.domains = live->domains;
    auto lkt = ParseKeyType(live->key_type);
    if (lkt.ok()) facts.key_type = *lkt;
    due.live = facts;
    due.ari = StoredAriSchedule(cert.renewal_info, live->n);
    if (due.ari) {
      view.renewal_info = CertificateView::RenewalInfo{
          due.ari->window.start, due.ari->window.end, due.ari->chosen,
          cert.renewal_info->next_fetch_at, cert.renewal_info->explanation_url};
    }
  }
  due.renew_before = config_.renewal.renew_before;
  due.jitter_fraction = StableJitterFraction(cert.spec.name);
  DueDecision decision = ComputeDue(due);

  const store::Schedule& sched = cert.schedule;
  if (!live) {
    view.status = sched.consecutive_failures > 0 ? "failing" : "pending";
    view.status_reason = "no version issued yet";
  } else if (live->not_after <= now) {
    view.status = "expired";
    view.status_reason = "expired " + FormatDurationHuman(now - live->not_after) + " ago";
  } else if (sched.consecutive_failures > 0) {
    view.status = "failing";
    view.status_reason = std::to_string(sched.consecutive_failures) + " consecutive failures";
  } else if (decision.due) {
    view.status = "due";
    view.status_reason = decision.reason;
  } else {
    view.status = "valid";
    view.status_reason = decision.reason;
  }
  std::optional<TimePoint> next = sched.next_attempt_at;
  std::string why = sched.deferred_reason;
  if (sched.ca_retry_after && (!next || *sched.ca_retry_after > *next)) {
    next = sched.ca_retry_after;
    why = "CA asked to retry after " + FormatRfc3339(*sched.ca_retry_after);
  }
  if (!next) {
    next = decision.renew_at;
    // The window itself is in renewal_info.
    why = decision.due ? "due: " + decision.reason
          : due.ari && decision.renew_at == due.ari->chosen ? "the CA's renewal information window"
                                                            : "renewal window";
  }
  view.next_attempt = next;
  view.next_attempt_reason = why;

  if (with_versions) {
    CK_ASSIGN_OR_RETURN(auto versions, inventory_->ListVersions(cert.spec.name));
    for (const auto& v : versions) view.versions.push_back(ToView(v));
  }
  return view;
}

Result<std::vector<CertificateView>> EngineImpl::List() {
  // Three reads for the whole inventory, not three per certificate.
  CK_ASSIGN_OR_RETURN(auto certs, inventory_->ListCertificates(false));
  CK_ASSIGN_OR_RETURN(auto versions, inventory_->AllCurrentVersions());
  CK_ASSIGN_OR_RETURN(auto attempts, inventory_->LatestAttempts());
  std::vector<CertificateView> out;
  out.reserve(certs.size());
  for (const auto& c : certs) {
    const store::Version* live = nullptr;
    if (auto v = versions.find(c.spec.name); v != versions.end() && v->second.live) {
      live = &*v->second.live;
    }
    auto a = attempts.find(c.spec.name);
    CK_ASSIGN_OR_RETURN(CertificateView view,
                        MakeView(c, live, a == attempts.end() ? nullptr : &a->second, false));
    out.push_back(std::move(view));
  }
  return out;
}

Result<store::Certificate> EngineImpl::FindManaged(const std::string& name) {
  auto cert = inventory_->GetCertificate(name);
  if (!cert.ok() && cert.status().code() == ErrorCode::kNotFound) {
    return Status(ErrorCode::kNotFound, "no certificate named \"" + name + "\" in the inventory")
        .Hint("`certkeeper list` shows the managed certificates");
  }
  return cert;
}

Result<CertificateView> EngineImpl::Show(const std::string& name) {
  CK_ASSIGN_OR_RETURN(store::Certificate cert, FindManaged(name));
  return MakeView(cert, true);
}

Result<std::vector<AttemptView>> EngineImpl::History(const std::string& name) {
  CK_RETURN_IF_ERROR(FindManaged(name).status());
  CK_ASSIGN_OR_RETURN(auto attempts, inventory_->ListAttempts(name, 0));
  std::vector<AttemptView> out;
  for (const auto& a : attempts) out.push_back(ToView(a));
  return out;
}

}  // namespace certkeeper::lifecycle
