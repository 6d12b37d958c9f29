// `renew`: for every selected certificate decide, from the inventory alone, whether
// to act (retry an undeployed version, renew, or defer and why), then act with
// bounded parallelism. A CA that limits us or is down is never hammered: its
// Retry-After is honoured across runs, budgets are checked before an order is
// placed, and after a few consecutive "unavailable" failures the rest of the run
// is deferred.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "acme/problem.h"
#include "base/log.h"
#include "lifecycle/budget.h"
#include "lifecycle/ca_wait.h"
#include "lifecycle/due.h"
#include "lifecycle/engine_impl.h"
#include "lifecycle/registered_domain.h"

namespace certkeeper::lifecycle {

namespace {

// After this many consecutive "CA unavailable" failures in one run, the
// remaining certificates of that CA are deferred instead of tried one by one.
constexpr int kCaDownThreshold = 3;

std::string NamesKey(std::vector<std::string> domains) {
  std::sort(domains.begin(), domains.end());
  std::string key = "names:";
  for (size_t i = 0; i < domains.size(); ++i) key += (i ? "," : "") + domains[i];
  return key;
}

// Names compared as a set, case-insensitively (RFC 8555 §7.1.4 identifiers are
// lower-cased by the config loader; this is a safety net).
std::set<std::string> NameSet(const std::vector<std::string>& domains) {
  std::set<std::string> names;
  for (std::string d : domains) {
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    names.insert(std::move(d));
  }
  return names;
}

BudgetPolicy PolicyFrom(const BudgetSettings& s) {
  BudgetPolicy p;
  p.new_orders_per_account.limit = s.new_orders_per_3h;
  p.failed_validations_per_identifier.limit = s.failed_validations_per_identifier_per_hour;
  p.certificates_per_registered_domain.limit = s.certificates_per_registered_domain_per_week;
  p.duplicate_certificates.limit = s.duplicate_certificates_per_week;
  return p;
}

}  // namespace

void EngineImpl::FailIntoExpiry(const CertificateSpec& spec, TimePoint now, bool dry_run,
                                Status error, CertificateOutcome& out) {
  out.outcome = "failed";
  out.reason = error.message();
  log::Warn("certificate cannot wait for the CA",
            {{"certificate", spec.name}, {"error", error.ToString()}});
  if (!dry_run) {
    // Recorded for `history`; the schedule stays as the CA set it.
    store::Attempt a;
    a.certificate = spec.name;
    a.started_at = now;
    a.server = config_.acme.server;
    a.reason = "CA limit runs into expiry";
    auto id = inventory_->StartAttempt(a);
    if (id.ok()) {
      store::AttemptEnd end;
      end.finished_at = now;
      end.outcome = store::AttemptOutcome::kFailed;
      end.error_type = "caLimitRunsIntoExpiry";
      end.error_detail = error.ToString();
      end.retry_after = error.retry_after();
      Status s = inventory_->FinishAttempt(*id, end);
      if (!s.ok()) log::Warn("cannot record attempt end", {{"error", s.ToString()}});
    }
  }
  out.error = std::move(error);
}

Result<RunReport> EngineImpl::Renew(const RenewOptions& options) {
  if (!options.dry_run) {
    CK_RETURN_IF_ERROR(RequireServer());
    CK_RETURN_IF_ERROR(AcquireLock());
    // The config file is declarative: its certificates are managed. One
    // transaction for all of them: a commit per certificate would dominate a
    // run over a large config.
    CK_RETURN_IF_ERROR(inventory_->Transaction([&]() -> Status {
      for (const CertificateSpec& spec : config_.certificates) {
        CK_RETURN_IF_ERROR(inventory_->PutCertificate(ToStoreSpec(spec, config_)));
      }
      return Status::Ok();
    }));
    // Serially, before anything below reads the versions or delivers.
    FinishInterruptedDeliveries();
  }
  std::vector<CertificateSpec> selected;
  // With --all, the certificates (with their schedules) and their latest and
  // live versions are read once per run, not once per certificate: a timer run
  // over thousands of certificates that are not due stays cheap.
  std::map<std::string, store::Certificate> snapshot;
  std::optional<std::map<std::string, store::CurrentVersions>> versions;
  if (options.all) {
    CK_ASSIGN_OR_RETURN(auto certs, inventory_->ListCertificates(false));
    CK_ASSIGN_OR_RETURN(versions, inventory_->AllCurrentVersions());
    std::map<std::string_view, const CertificateSpec*> configured_by_name;
    for (const CertificateSpec& spec : config_.certificates) {
      configured_by_name.emplace(spec.name, &spec);
    }
    std::set<std::string> seen;
    for (auto& c : certs) snapshot.emplace(c.spec.name, c);
    for (const auto& c : certs) {
      auto found = configured_by_name.find(c.spec.name);
      const CertificateSpec* configured =
          found == configured_by_name.end() ? nullptr : found->second;
      if (configured) {
        selected.push_back(*configured);
      } else {
        CK_ASSIGN_OR_RETURN(CertificateSpec spec, FromStoreSpec(c.spec));
        selected.push_back(spec);
      }
      seen.insert(c.spec.name);
    }
    for (const CertificateSpec& spec : config_.certificates) {
      if (!seen.count(spec.name)) selected.push_back(spec);  // dry run only
    }
  } else {
    for (const std::string& name : options.names) {
      const CertificateSpec* configured = config_.FindCertificate(name);
      auto cert = inventory_->GetCertificate(name);
      if (cert.ok()) snapshot.emplace(name, *cert);
      if (configured) {
        selected.push_back(*configured);
      } else if (cert.ok()) {
        CK_ASSIGN_OR_RETURN(CertificateSpec spec, FromStoreSpec(cert->spec));
        selected.push_back(spec);
      } else {
        return Status(ErrorCode::kNotFound, "no certificate named \"" + name + "\"")
            .Hint("`certkeeper list` shows the managed certificates");
      }
    }
  }

  const std::string& server = config_.acme.server;
  std::string account_url;
  if (auto account = inventory_->FindAccount(server); account.ok()) {
    account_url = account->account_url;
  }
  BudgetPolicy policy = PolicyFrom(config_.renewal.budgets);
  // CA-imposed limits in force now, read once: an account-wide Retry-After
  // defers every certificate of the run without a request (RFC 8555 §6.6).
  std::map<std::string, store::CaLimit> ca_limits;
  if (auto limits = inventory_->ListCaLimits(clock_->Now()); limits.ok()) {
    for (const store::CaLimit& l : *limits) {
      if (l.server == server) ca_limits.emplace(l.scope, l);
    }
  }
  ca_unavailable_streak_ = 0;
  ForgetDirectory();
  RunReport report;
  report.certificates.resize(selected.size());
  if (!selected.empty()) {
    log::Info("checking certificates", {{"count", std::to_string(selected.size())},
                                        {"jobs", std::to_string(options.jobs)}});
  }

  auto process = [&](size_t index) {
    const CertificateSpec& spec = selected[index];
    CertificateOutcome& out = report.certificates[index];
    out.name = spec.name;
    TimePoint now = clock_->Now();
    auto known = snapshot.find(spec.name);
    const bool in_inventory = known != snapshot.end();
    store::Schedule sched = in_inventory ? known->second.schedule : store::Schedule{};
    // A certificate the inventory does not know has no versions (dry run of
    // a newly configured certificate): no query needed.
    Result<store::Version> live = Status(ErrorCode::kNotFound, "no version");
    Result<store::Version> latest = live;
    if (in_inventory && versions) {
      auto current = versions->find(spec.name);
      if (current != versions->end() && current->second.live) live = *current->second.live;
      if (current != versions->end() && current->second.latest) latest = *current->second.latest;
    } else if (in_inventory) {
      live = inventory_->LiveVersion(spec.name);
      latest = inventory_->LatestVersion(spec.name);
    }
    auto defer = [&](std::string why, std::optional<TimePoint> until, bool persist) {
      out.outcome = "deferred";
      out.reason = std::move(why);
      if (persist && !options.dry_run && until) {
        sched.next_attempt_at = until;
        sched.deferred_reason = out.reason;
        (void)inventory_->SetSchedule(spec.name, sched);
        store::Attempt a;
        a.certificate = spec.name;
        a.started_at = now;
        a.server = server;
        a.reason = out.reason;
        auto id = inventory_->StartAttempt(a);
        if (id.ok()) {
          store::AttemptEnd end;
          end.finished_at = now;
          end.outcome = store::AttemptOutcome::kDeferred;
          end.error_type = "deferred";
          end.error_detail = out.reason;
          end.retry_after = until;
          (void)inventory_->FinishAttempt(*id, end);
        }
      }
    };

    // A version issued but never delivered is retried before anything new.
    bool undeployed = latest.ok() &&
                      (latest->state == store::VersionState::kIssued ||
                       latest->state == store::VersionState::kDeployFailed) &&
                      (!live.ok() || latest->n > live->n) && latest->not_after > now;
    if (undeployed) {
      // Deploying asks nothing of the CA: only our own backoff applies.
      if (!options.force && sched.next_attempt_at && *sched.next_attempt_at > now) {
        return defer("deploy backoff (next attempt " + FormatRfc3339(*sched.next_attempt_at) + ")",
                     std::nullopt, false);
      }
      if (options.dry_run) {
        out.outcome = "would-deploy";
        out.reason = "version " + std::to_string(latest->n) + " is issued but not deployed";
        return;
      }
      auto deployed = DeployNewest(spec.name);
      if (deployed.ok()) {
        out = *deployed;
        if (out.error.ok()) return;
      } else {
        out.outcome = "failed";
        out.error = deployed.status();
      }
      RecordFailure(spec, 0, out.error, live.ok() ? std::optional(live->not_after) : std::nullopt);
      return;
    }

    DueInput due;
    due.now = now;
    due.domains = spec.domains;
    due.key_type = spec.key_type;
    if (live.ok()) {
      LiveVersionFacts facts;
      facts.not_before = live->not_before;
      facts.not_after = live->not_after;
      facts.domains = live->domains;
      auto kt = ParseKeyType(live->key_type);
      if (kt.ok()) facts.key_type = *kt;
      due.live = facts;
    } else if (latest.ok() && latest->state == store::VersionState::kRevoked) {
      LiveVersionFacts facts;
      facts.not_before = latest->not_before;
      facts.not_after = latest->not_after;
      facts.revoked = true;
      facts.domains = latest->domains;
      due.live = facts;
    }
    // RFC 9773: the CA's renewal window replaces the local one when it offers
    // one. A dry run uses what is stored and asks nothing.
    if (live.ok()) {
      std::optional<store::RenewalInfoRecord> ari =
          in_inventory ? known->second.renewal_info : std::nullopt;
      if (!options.dry_run) ari = RefreshRenewalInfo(spec.name, *live, ari);
      due.ari = StoredAriSchedule(ari, live->n);
    }
    due.renew_before = config_.renewal.renew_before;
    due.jitter_fraction = StableJitterFraction(spec.name);
    DueDecision decision = ComputeDue(due);
    if (!decision.due && !options.force) {
      out.outcome = "not-due";
      out.reason = decision.reason;
      return;
    }
    std::string reason = decision.due ? decision.reason : "forced: " + decision.reason;

    // Only a certificate that would reach the CA can be held back by it: a
    // certificate that is not due reports "not-due" whatever the CA said.
    // A CA's Retry-After binds even --force (RFC 8555 §6.6), but a wait that
    // would let the live certificate run out is a failure, not a deferral.
    auto ca_wait = [&](TimePoint until, const std::string& why) {
      CaWaitInput w;
      w.now = now;
      w.until = until;
      if (live.ok()) {
        w.not_before = live->not_before;
        w.not_after = live->not_after;
      }
      CaWaitDecision d = BoundCaWait(w);
      if (!d.runs_into_expiry) {
        return defer("CA asked to retry after " + FormatRfc3339(d.until) + why, std::nullopt,
                     false);
      }
      FailIntoExpiry(spec, now, options.dry_run,
                     CaWaitRunsIntoExpiry(d, live->not_after, "CA limit" + why), out);
    };
    if (sched.ca_retry_after && *sched.ca_retry_after > now) {
      // A wait stored before Retry-After was bounded may lie a year out.
      if (*sched.ca_retry_after > now + acme::kMaxRetryAfter && !options.dry_run) {
        sched.ca_retry_after = now + acme::kMaxRetryAfter;
        Status s = inventory_->SetSchedule(spec.name, sched);
        if (!s.ok()) log::Warn("cannot record schedule", {{"error", s.ToString()}});
      }
      return ca_wait(*sched.ca_retry_after, "");
    }
    for (const std::string& scope :
         {store::CertificateScope(spec.name), store::AccountScope(account_url)}) {
      auto limit = ca_limits.find(scope);
      if (limit != ca_limits.end() && limit->second.until > now) {
        if (limit->second.until > now + acme::kMaxRetryAfter && !options.dry_run) {
          store::CaLimit bounded = limit->second;
          bounded.until = now + acme::kMaxRetryAfter;
          Status s = inventory_->SetCaLimit(bounded);
          if (!s.ok()) log::Warn("cannot record CA limit", {{"error", s.ToString()}});
        }
        return ca_wait(limit->second.until, " (" + limit->second.reason + ")");
      }
    }
    if (!options.force && sched.next_attempt_at && *sched.next_attempt_at > now) {
      return defer((sched.deferred_reason.empty() ? "backoff" : sched.deferred_reason) +
                       " (next attempt " + FormatRfc3339(*sched.next_attempt_at) + ")",
                   std::nullopt, false);
    }


    if (!options.force) {
      BudgetCounts counts;
      auto count = [&](std::string_view account, store::RequestKind kind, std::string_view key,
                       Duration window) {
        WindowCount wc;
        auto w = inventory_->WindowSince(server, account, kind, key, now - window);
        if (w.ok()) {
          wc.count = static_cast<int>(w->count);
          wc.oldest = w->oldest;
        }
        return wc;
      };
      counts.orders = count(account_url, store::RequestKind::kNewOrder, "",
                            policy.new_orders_per_account.window);
      for (const std::string& d : spec.domains) {
        counts.failed_validations.push_back(
            {d, count(account_url, store::RequestKind::kFailedValidation, d,
                      policy.failed_validations_per_identifier.window)});
      }
      std::set<std::string> registered;
      for (const std::string& d : spec.domains) {
        auto rd = PublicSuffixList::Default().RegisteredDomain(d);
        if (rd.ok()) registered.insert(*rd);
      }
      for (const std::string& rd : registered) {
        counts.certificates.push_back(
            {rd, count("", store::RequestKind::kCertificate, rd,
                       policy.certificates_per_registered_domain.window)});
      }
      counts.duplicates = count("", store::RequestKind::kCertificate, NamesKey(spec.domains),
                                policy.duplicate_certificates.window);
      // A renewal is an order for exactly the set of names of a certificate
      // issued before (Let's Encrypt exempts it from the per-domain limit); a
      // changed set of names is a new certificate.
      counts.renewal = counts.duplicates.count > 0 ||
                       (latest.ok() && NameSet(latest->domains) == NameSet(spec.domains)) ||
                       (live.ok() && NameSet(live->domains) == NameSet(spec.domains));
      BudgetDecision budget = CheckBudgets(policy, counts, now);
      if (!budget.allowed) {
        return defer("budget: " + budget.reason, budget.retry_at, true);
      }
    }
    if (ca_unavailable_streak_ >= kCaDownThreshold) {
      return defer("the CA was unavailable for the last " + std::to_string(kCaDownThreshold) +
                       " certificates of this run",
                   std::nullopt, false);
    }
    if (options.dry_run) {
      out.outcome = "would-renew";
      out.reason = reason;
      return;
    }
    out = IssueAndDeploy(spec, reason);
  };

  int jobs = std::max(1, std::min<int>(options.jobs, static_cast<int>(selected.size())));
  if (jobs <= 1) {
    for (size_t i = 0; i < selected.size(); ++i) process(i);
  } else {
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < jobs; ++w) {
      workers.emplace_back([&]() {
        for (size_t i = next++; i < selected.size(); i = next++) process(i);
      });
    }
    for (auto& t : workers) t.join();
  }
  if (!options.dry_run) ReportUnfinishedDeliveries(report);
  return report;
}

void EngineImpl::ReportUnfinishedDeliveries(RunReport& report) const {
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
