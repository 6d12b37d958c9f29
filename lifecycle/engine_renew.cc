// `renew` in three steps: gather the facts (the inventory, read once per run,
// and the CA's renewal information, refreshed where a decision depends on it),
// plan (lifecycle/planner.h, pure), and execute the plan with bounded
// parallelism: deliver pending versions, order due certificates, record
// deferrals and certificates that must not reach the CA. A CA that limits us or
// is down is never hammered: its Retry-After is honoured across runs, budgets
// are checked before an order is placed, and after a few consecutive
// "unavailable" failures the rest of the run is deferred.
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "base/log.h"
#include "lifecycle/engine_impl.h"
#include "lifecycle/engine_renew_run.h"
#include "lifecycle/name_index.h"
#include "lifecycle/planner.h"
#include "lifecycle/revocation.h"

namespace certkeeper::lifecycle {

namespace {

// Runs fn(0), ..., fn(n - 1) on at most `jobs` threads.
void ForEachParallel(size_t n, int jobs, const std::function<void(size_t)>& fn) {
  const int threads = std::max(1, std::min<int>(jobs, static_cast<int>(n)));
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) {
    workers.emplace_back([&]() {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : workers) t.join();
}

// Records an attempt that ended as it started (a deferral, a certificate that
// must not reach the CA), for `history`. Best effort: the outcome is already
// decided, so a failure is logged and the run goes on.
void RecordAttemptBestEffort(store::Inventory& inventory, const std::string& host,
                             const std::string& name, const std::string& server,
                             const std::string& reason, const store::AttemptEnd& end) {
  store::Attempt attempt;
  attempt.host = host;
  attempt.certificate = name;
  attempt.started_at = end.finished_at;
  attempt.server = server;
  attempt.reason = reason;
  auto id = inventory.StartAttempt(attempt);
  Status s = id.ok() ? inventory.FinishAttempt(*id, end) : id.status();
  if (!s.ok()) {
    log::Warn("cannot record the attempt", {{"certificate", name}, {"error", s.ToString()}});
  }
}

store::AttemptEnd EndOf(TimePoint now, store::AttemptOutcome outcome, std::string type,
                        std::string detail, std::optional<TimePoint> retry_after) {
  store::AttemptEnd end;
  end.finished_at = now;
  end.outcome = outcome;
  end.error_type = std::move(type);
  end.error_detail = std::move(detail);
  end.retry_after = retry_after;
  return end;
}

// kNotFound is "nothing there"; any other error is a fact that could not be read.
Status ReadVersion(const Result<store::Version>& read, std::optional<store::Version>& out) {
  if (read.ok()) {
    out = *read;
    return Status::Ok();
  }
  return read.status().code() == ErrorCode::kNotFound ? Status::Ok() : read.status();
}

}  // namespace

Result<RunReport> RenewRun::Run() {
  const TimePoint started = e_.clock_->Now();
  CK_RETURN_IF_ERROR(Prepare());
  if (!options_.dry_run) RefreshRevocation();
  CK_RETURN_IF_ERROR(options_.all ? SelectAll() : SelectNamed());
  input_.now = e_.clock_->Now();
  input_.renewal = e_.config_.renewal;
  input_.force = options_.force;
  input_.dry_run = options_.dry_run;
  ReadCaFacts();
  e_.issuance_.ForgetUnavailable();
  e_.ForgetDirectory();
  const size_t n = input_.certificates.size();
  if (n > 0) {
    log::Info("checking certificates",
              {{"count", std::to_string(n)}, {"jobs", std::to_string(options_.jobs)}});
  }
  RefreshRenewalInfo();
  plan_ = Plan(input_);
  report_.certificates.resize(n);
  note_.resize(n);
  ForEachParallel(n, options_.jobs, [this](size_t i) { Execute(i); });
  report_.lease_conflicts = lease_conflicts_;
  if (e_.fleet_ && report_.lease_conflicts > 0) {
    log::Info("certificates skipped: another host held their claim",
              {{"lease_conflicts", std::to_string(report_.lease_conflicts)}});
  }
  if (!options_.dry_run) {
    e_.ReportUnfinishedDeliveries(report_);
    e_.monitoring_.RecordRun("renew", started, CountOutcomes(report_));
    e_.monitoring_.AfterRun(e_.fleet_ ? e_.leases_.get() : nullptr);
  }
  return std::move(report_);
}

// Before the plan reads the versions: a live certificate the CA revoked
// becomes due in this very run. A failure to ask is logged; it does not stop
// the renewal of the rest.
void RenewRun::RefreshRevocation() {
  // Over the versions Prepare read, when it read them: not once more. Only
  // the answers that can change the plan (a revoked version) or need asking
  // again are looked at.
  RevocationChecker checker(e_.ctx_);
  Result<std::vector<RevocationView>> answers =
      versions_ ? checker.RefreshUnsettled(*versions_) : checker.Refresh(false);
  if (!answers.ok()) {
    log::Error("could not check revocation", {{"error", answers.status().ToString()}});
  }
  // A version marked revoked changed the versions Prepare read: read them
  // again, or the plan would still see it live and not due.
  if (!answers.ok() || std::any_of(answers->begin(), answers->end(), [](const RevocationView& a) {
        return a.status == "revoked";
      })) {
    versions_.reset();
    stored_.reset();  // (only versions changed; read everything again all the same)
  }
}

Status RenewRun::Prepare() {
  if (options_.dry_run) return Status::Ok();
  CK_RETURN_IF_ERROR(e_.RequireServer());
  CK_RETURN_IF_ERROR(e_.AcquireLock());
  // The config file is declarative: its certificates are managed. Only what
  // changed is written, in one transaction: a run over a large config that
  // changed nothing writes nothing.
  CK_ASSIGN_OR_RETURN(auto stored, e_.inventory_->ListCertificates(true));
  std::vector<store::CertificateSpec> changed;
  if (!e_.config_.certificates.empty()) {
    const NameIndex stored_by_name(
        stored, [](const store::Certificate& c) -> const std::string& { return c.spec.name; });
    for (const CertificateSpec& spec : e_.config_.certificates) {
      store::CertificateSpec wanted = ToStoreSpec(spec, e_.config_);
      const size_t found = stored_by_name.Find(wanted.name);
      if (found == NameIndex::kNone || stored[found].removed || !(stored[found].spec == wanted)) {
        changed.push_back(std::move(wanted));
      }
    }
  }
  if (!changed.empty()) {
    CK_RETURN_IF_ERROR(e_.inventory_->Transaction([&]() -> Status {
      for (const store::CertificateSpec& spec : changed) {
        CK_RETURN_IF_ERROR(e_.inventory_->PutCertificate(spec));
      }
      return Status::Ok();
    }));
  } else {
    stored_ = std::move(stored);  // still the inventory's rows
  }
  // Serially, before anything below reads the versions or delivers.
  e_.FinishInterruptedDeliveries();
  versions_ = e_.delivery_.TakeUnchangedVersions();
  // Finishing a delivery records attempts and schedules: read the rows again.
  if (!versions_ || e_.fleet_) stored_.reset();
  e_.delivery_.DeliverFleetVersions();  // a fleet: what this host lacks (engine_fleet_delivery.cc)
  return Status::Ok();
}

// A certificate the inventory knows (cert set) or a newly configured one (dry
// run only), with its versions when they were read once for the run.
void RenewRun::AddFacts(CertificateSpec spec, const store::Certificate* cert) {
  CertificateFacts f;
  f.spec = std::move(spec);
  if (cert) f.schedule = cert->schedule;
  input_.certificates.push_back(std::move(f));
  stored_ari_.push_back(cert ? cert->renewal_info : std::nullopt);
}

void RenewRun::TakeFacts(CertificateSpec spec, store::Certificate&& cert) {
  CertificateFacts& f = input_.certificates.emplace_back();
  f.spec = std::move(spec);
  f.schedule = std::move(cert.schedule);
  stored_ari_.push_back(std::move(cert.renewal_info));
}

// With --all, the certificates (with their schedules) and their latest and
// live versions are read once per run, not once per certificate: a timer run
// over thousands of certificates that are not due stays cheap.
Status RenewRun::SelectAll() {
  std::vector<store::Certificate> certs;
  if (stored_) {
    certs = std::move(*stored_);
    stored_.reset();
    std::erase_if(certs, [](const store::Certificate& c) { return c.removed; });
  } else {
    CK_ASSIGN_OR_RETURN(certs, e_.inventory_->ListCertificates(false));
  }
  if (!versions_) {
    CK_ASSIGN_OR_RETURN(versions_, e_.inventory_->AllCurrentVersions());
  }
  // Nothing reads the versions after this: they are moved into the facts.
  auto& versions = *versions_;
  input_.certificates.reserve(certs.size() + e_.config_.certificates.size());
  stored_ari_.reserve(certs.size() + e_.config_.certificates.size());
  const auto& configured_specs = e_.config_.certificates;
  const NameIndex configured_by_name(
      configured_specs, [](const CertificateSpec& s) -> const std::string& { return s.name; });
  // Which configured names certs has (by the index of the first spec of
  // each name): a flag each, not a set of 10,000 names.
  std::vector<bool> seen(configured_specs.size(), false);
  // The rows and versions are taken over, not copied, and each version's
  // entry is freed once taken: the run's peak memory (and the page faults
  // of a fresh process) stays about one copy of the inventory.
  for (store::Certificate& c : certs) {
    const size_t configured = configured_by_name.Find(c.spec.name);
    // In a fleet a host renews what it delivers: the certificates of its own
    // config that name it (or every host). The others are other hosts' work.
    if (e_.fleet_ && (configured == NameIndex::kNone ||
                      !e_.config_.DeliversHere(configured_specs[configured]))) {
      continue;
    }
    auto current = versions.find(c.spec.name);
    if (configured != NameIndex::kNone) {
      seen[configured] = true;
      TakeFacts(configured_specs[configured], std::move(c));
    } else {
      CK_ASSIGN_OR_RETURN(CertificateSpec spec, FromStoreSpec(std::move(c.spec)));
      TakeFacts(std::move(spec), std::move(c));
    }
    if (current != versions.end()) {
      input_.certificates.back().live = std::move(current->second.live);
      input_.certificates.back().latest = std::move(current->second.latest);
      versions.erase(current);
    }
  }
  certs = {};
  for (const CertificateSpec& spec : configured_specs) {
    if (e_.fleet_ && !e_.config_.DeliversHere(spec)) continue;
    if (!seen[configured_by_name.Find(spec.name)]) AddFacts(spec, nullptr);  // dry run only
  }
  versions_.reset();  // moved from above
  return Status::Ok();
}

Status RenewRun::SelectNamed() {
  for (const std::string& name : options_.names) {
    const CertificateSpec* configured = e_.config_.FindCertificate(name);
    if (e_.fleet_ && configured && !e_.config_.DeliversHere(*configured)) {
      std::string hosts;
      for (const std::string& h : configured->hosts) hosts += (hosts.empty() ? "" : ", ") + h;
      return Status(ErrorCode::kInvalidArgument, "certificate \"" + name +
                                                     "\" is not delivered by this host (\"" +
                                                     e_.config_.host + "\")")
          .Hint("its hosts are " + hosts + "; renew it on one of them, or add \"" +
                e_.config_.host + "\" to its hosts");
    }
    auto cert = e_.inventory_->GetCertificate(name);
    if (cert.ok()) {
      if (configured) {
        AddFacts(*configured, &*cert);
      } else {
        CK_ASSIGN_OR_RETURN(CertificateSpec spec, FromStoreSpec(cert->spec));
        AddFacts(spec, &*cert);
      }
      CertificateFacts& f = input_.certificates.back();
      f.read_error = ReadVersion(e_.inventory_->LiveVersion(name), f.live);
      if (f.read_error.ok()) {
        f.read_error = ReadVersion(e_.inventory_->LatestVersion(name), f.latest);
      }
    } else if (cert.status().code() != ErrorCode::kNotFound && configured) {
      AddFacts(*configured, nullptr);
      input_.certificates.back().read_error = cert.status();
    } else if (cert.status().code() != ErrorCode::kNotFound) {
      return Status(cert.status()).Annotate("read the certificate \"" + name + "\"");
    } else if (configured) {
      AddFacts(*configured, nullptr);  // not recorded yet: dry run only
    } else {
      return Status(ErrorCode::kNotFound, "no certificate named \"" + name + "\"")
          .Hint("`certkeeper list` shows the managed certificates");
    }
  }
  return Status::Ok();
}

// The CA's facts, read once: an account-wide Retry-After defers every
// certificate of the run without a request (RFC 8555 §6.6). A failed read is
// kept as such: the planner does not let those certificates reach the CA.
void RenewRun::ReadCaFacts() {
  input_.cas.clear();
  // One read of the limits serves every CA (each keeps its own server's).
  auto limits = e_.inventory_->ListCaLimits(input_.now);
  for (size_t i = 0; i < std::max<size_t>(e_.accounts_.size(), 1); ++i) {
    CaFacts& ca = input_.cas.emplace_back();
    const AcmeSettings& settings =
        e_.accounts_.size() > 0 ? e_.accounts_.Settings(i) : e_.config_.acme;
    ca.server = settings.server;
    ca.budgets = EffectiveBudgets(settings, e_.config_.renewal);
    if (auto account = e_.inventory_->FindAccount(ca.server); account.ok()) {
      ca.account_url = account->account_url;
    } else if (account.status().code() != ErrorCode::kNotFound) {
      ca.account_error = account.status();
    }
    if (limits.ok()) {
      ca.limits = *limits;
    } else {
      ca.limits_error = limits.status();
    }
    std::optional<Duration> lookback = BudgetLookback(ca.budgets);
    if (options_.force || !lookback) continue;
    if (auto requests = e_.inventory_->ListRequestsSince(ca.server, input_.now - *lookback);
        requests.ok()) {
      ca.requests = std::move(*requests);
    } else {
      ca.requests_error = requests.status();
    }
  }
  // Each certificate's CAs in the order to try (return_to_preferred).
  for (CertificateFacts& f : input_.certificates) {
    f.cas = e_.issuance_.RouteFor(f.spec, f.live ? &*f.live : nullptr).order;
  }
}

// RFC 9773: the CA's renewal window replaces the local one when it offers one.
// A dry run uses what is stored and asks nothing.
void RenewRun::RefreshRenewalInfo() {
  ForEachParallel(input_.certificates.size(), options_.jobs, [this](size_t i) {
    CertificateFacts& f = input_.certificates[i];
    if (!UsesRenewalInfo(f, input_.now)) return;
    std::optional<store::RenewalInfoRecord> info = stored_ari_[i];
    if (!options_.dry_run) info = e_.RefreshRenewalInfo(f.spec.name, *f.live, info);
    f.ari = StoredAriSchedule(info, f.live->n);
  });
}

void RenewRun::Execute(size_t i) {
  const bool acts = !options_.dry_run && (plan_[i].kind == DecisionKind::kDeployPending ||
                                          plan_[i].kind == DecisionKind::kDue);
  if (!acts) {
    if (!options_.dry_run) ApplyWrites(plan_[i]);
    return Report(i, plan_[i]);
  }
  // Delivering or ordering: only with the certificate's claim, held until
  // this certificate is done.
  std::unique_ptr<store::CertificateClaim> claim = ClaimOrReport(i);
  if (!claim) return;
  if (e_.fleet_) Redecide(i);
  const Decision& d = plan_[i];
  ApplyWrites(d);
  if (d.kind == DecisionKind::kDeployPending) return ExecuteDeploy(i);
  if (d.kind == DecisionKind::kDue) return ExecuteDue(i, claim.get());
  Report(i, d);
}

void RenewRun::ExecuteDeploy(size_t i) {
  const CertificateFacts& f = input_.certificates[i];
  CertificateOutcome& out = report_.certificates[i];
  auto deployed = e_.DeployNewest(f.spec.name);
  if (deployed.ok()) {
    out = *deployed;
  } else {
    out.name = f.spec.name;
    out.outcome = "failed";
    out.error = deployed.status();
  }
  out.decision = std::string(DecisionKindName(DecisionKind::kDeployPending));
  if (out.error.ok()) return;
  e_.RecordFailure(f.spec, 0, out.error, f.live ? std::optional(f.live->not_after) : std::nullopt);
}

void RenewRun::ExecuteDue(size_t i, const store::CertificateClaim* claim) {
  const CertificateFacts& f = input_.certificates[i];
  const Decision& planned = plan_[i];
  CertificateOutcome& out = report_.certificates[i];
  // What earlier certificates of this run changed: the plan predates them.
  // The first CA that can still take the order has it reserved before the
  // attempt starts; every CA held now holds the certificate as planned.
  CaRoute route;
  for (const CaSkip& skip : planned.skipped) route.held.emplace_back(skip.ca, skip.reason);
  std::optional<Decision> held;
  size_t first = 0;
  for (; first < planned.cas.size(); ++first) {
    Decision d = Check(i, planned.cas[first], /*reserve=*/true);
    if (d.kind == DecisionKind::kDue) break;
    if (!held) held = d;
    route.held.emplace_back(planned.cas[first], d.reason);
  }
  if (first == planned.cas.size()) {
    ApplyWrites(*held);
    return Report(i, *held);
  }
  route.order.assign(planned.cas.begin() + static_cast<std::ptrdiff_t>(first), planned.cas.end());
  route.claim = claim;
  // In a fleet every CA's order is reserved by recording its requests.
  route.requests_reserved = e_.fleet_ != nullptr;
  // The CAs after the first are counted and reserved when the attempt reaches
  // them (after the first failed).
  const size_t reserved_ca = route.order.front();
  route.gate = [this, i, reserved_ca](size_t ca) -> std::optional<std::string> {
    if (ca == reserved_ca) return std::nullopt;
    Decision d = Check(i, ca, /*reserve=*/true);
    if (d.kind == DecisionKind::kDue) return std::nullopt;
    return d.reason;
  };
  out = e_.IssueAndDeploy(f.spec, planned.reason, &route, claim);
  out.decision = std::string(DecisionKindName(DecisionKind::kDue));
  Release(i);
}

// BeforeOrder at CA `ca`, counted with what the run has ordered and reserved
// so far, under one lock: with --jobs, two certificates cannot both take the
// last order a budget allows.
Decision RenewRun::Check(size_t i, size_t ca, bool reserve) {
  std::lock_guard<std::mutex> lock(budget_mu_);
  // Before the fleet's first account at this CA exists there is no account
  // to record a reservation under: the run counts its own orders only, as
  // on a single host (docs/fleet.md).
  if (reserve && e_.fleet_ && !input_.cas[ca].account_url.empty()) {
    return ReserveFleetWide(i, ca);
  }
  const CertificateFacts& f = input_.certificates[i];
  const CaFacts& facts = input_.cas[ca];
  RunSoFar run = SoFar(ca);
  Decision d = BeforeOrder(plan_[i], f, facts, run);
  if (!reserve || d.kind != DecisionKind::kDue) return d;
  orders_started_++;
  if (!d.budget) return d;
  // What the order will record when it is placed and issued (engine_issue.cc).
  auto add = [&](store::RequestKind kind, std::string key) {
    reserved_.push_back({i, {facts.server, facts.account_url, kind, std::move(key), run.now}});
  };
  add(store::RequestKind::kNewOrder, "");
  add(store::RequestKind::kCertificate, d.budget->names_key);
  for (const std::string& rd : d.budget->registered_domains) add(store::RequestKind::kCertificate, rd);
  return d;
}

void RenewRun::Release(size_t i) {
  std::lock_guard<std::mutex> lock(budget_mu_);
  std::erase_if(reserved_, [i](const auto& r) { return r.first == i; });
}

RunSoFar RenewRun::SoFar(size_t ca) {
  const CaFacts& facts = input_.cas[ca];
  RunSoFar run;
  run.now = e_.clock_->Now();
  run.ca_unavailable_streak = e_.issuance_.UnavailableStreak(ca);
  std::optional<Duration> lookback = BudgetLookback(facts.budgets);
  if (options_.force || !lookback) return run;
  // The run's own orders count against the budgets of the next ones: the log
  // read again once the run has ordered, and the orders reserved and not yet
  // recorded.
  if (orders_started_ == 0) {
    run.requests = facts.requests;
    if (!facts.requests_error.ok()) run.requests_error = facts.requests_error;
  } else if (auto requests = e_.inventory_->ListRequestsSince(facts.server, run.now - *lookback);
             requests.ok()) {
    run.requests = std::move(*requests);
  } else {
    run.requests_error = requests.status();
  }
  if (run.requests) {
    for (const auto& [cert, r] : reserved_) {
      if (r.server == facts.server) run.requests->push_back(r);
    }
  }
  return run;
}

void RenewRun::ApplyWrites(const Decision& d) {
  if (d.writes.schedule) {
    RecordBestEffort(e_.inventory_->SetSchedule(d.name, *d.writes.schedule), d.name,
                                 "record the schedule");
  }
  if (d.writes.ca_limit) {
    RecordBestEffort(e_.inventory_->SetCaLimit(*d.writes.ca_limit), d.name,
                                 "record the CA limit");
  }
}

void RenewRun::Report(size_t i, const Decision& d) {
  const CertificateFacts& f = input_.certificates[i];
  CertificateOutcome& out = report_.certificates[i];
  out = PlannedOutcome(d, options_.dry_run);
  if (!note_.empty() && !note_[i].empty()) out.reason = note_[i];
  const bool caught_by_ca_wait = d.hold != Hold::kUnreadable;
  if (d.kind == DecisionKind::kBlocked && caught_by_ca_wait) {
    return e_.FailIntoExpiry(f.spec, input_.now, options_.dry_run, d.error, out);
  }
  if (d.kind == DecisionKind::kBlocked) {
    log::Warn("certificate not renewed: a fact could not be read",
              {{"certificate", d.name}, {"error", d.error.ToString()}});
  }
  if (options_.dry_run) return;
  if (d.kind == DecisionKind::kBlocked) {
    RecordAttemptBestEffort(*e_.inventory_, e_.ctx_.host(), d.name, e_.config_.acme.server, "inventory unreadable",
                            EndOf(input_.now, store::AttemptOutcome::kFailed, "unreadable",
                                  d.error.ToString(), std::nullopt));
  } else if (d.kind == DecisionKind::kDeferred && d.persist && d.until) {
    RecordAttemptBestEffort(*e_.inventory_, e_.ctx_.host(), d.name, e_.config_.acme.server, d.reason,
                            EndOf(input_.now, store::AttemptOutcome::kDeferred, "deferred",
                                  d.reason, d.until));
  }
}

void EngineImpl::FailIntoExpiry(const CertificateSpec& spec, TimePoint now, bool dry_run,
                                Status error, CertificateOutcome& out) {
  out.outcome = "failed";
  out.reason = error.message();
  log::Warn("certificate cannot wait for the CA",
            {{"certificate", spec.name}, {"error", error.ToString()}});
  if (!dry_run) {
    // Recorded for `history`; the schedule stays as the CA set it.
    RecordAttemptBestEffort(*inventory_, ctx_.host(), spec.name, config_.acme.server,
                            "CA limit runs into expiry",
                            EndOf(now, store::AttemptOutcome::kFailed, "caLimitRunsIntoExpiry",
                                  error.ToString(), error.retry_after()));
  }
  out.error = std::move(error);
}

Result<RunReport> EngineImpl::Renew(const RenewOptions& options) {
  RenewRun run(*this, options);
  return run.Run();
}

void EngineImpl::ReportUnfinishedDeliveries(RunReport& report) const {
  delivery_.ReportFleetDeliveries(report);
  // An interrupted delivery that could not be finished fails the run, also
  // when its certificate was not selected or had nothing to do; a later
  // delivery of it in this run that succeeded finished it after all.
  for (const auto& unfinished : delivery_.unfinished_deliveries()) {
    const std::string& name = unfinished.first;
    auto found = std::find_if(report.certificates.begin(), report.certificates.end(),
                              [&](const CertificateOutcome& o) { return o.name == name; });
    if (found != report.certificates.end() &&
        (!found->error.ok() || found->outcome == "renewed" || found->outcome == "issued" ||
         found->outcome == "deployed")) {
      continue;
    }
    if (found == report.certificates.end()) {
      found = report.certificates.insert(report.certificates.end(), CertificateOutcome{});
      found->name = name;
    }
    found->outcome = "failed";
    found->reason = "an interrupted deploy could not be finished";
    found->error = unfinished.second;
  }
}

}  // namespace certkeeper::lifecycle
