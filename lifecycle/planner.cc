#include "lifecycle/planner.h"

#include <algorithm>
#include <utility>

#include "acme/problem.h"
#include "lifecycle/ca_wait.h"
#include "lifecycle/request_keys.h"

namespace certkeeper::lifecycle {

namespace {

Decision Make(const CertificateFacts& f, DecisionKind kind, std::string reason) {
  Decision d;
  d.name = f.spec.name;
  d.kind = kind;
  d.reason = std::move(reason);
  return d;
}

Decision Deferred(const CertificateFacts& f, Hold hold, std::string reason,
                  std::optional<TimePoint> until) {
  Decision d = Make(f, DecisionKind::kDeferred, std::move(reason));
  d.hold = hold;
  d.until = until;
  return d;
}

Decision Blocked(const CertificateFacts& f, Hold hold, Status error) {
  Decision d = Make(f, DecisionKind::kBlocked, error.message());
  d.hold = hold;
  d.error = std::move(error);
  return d;
}

// A fact that could not be read: the certificate must not reach the CA.
Decision Unreadable(const CertificateFacts& f, std::string what, const Status& error) {
  Decision d = Blocked(f, Hold::kUnreadable,
                       Status(error).Annotate("cannot read " + what + " for \"" + f.spec.name +
                                              "\"; not asking the CA"));
  d.limit_detail = std::move(what);
  return d;
}

bool InBackoff(const store::Schedule& s, TimePoint now) {
  return s.next_attempt_at && *s.next_attempt_at > now;
}

DueDecision DueFor(const PlanInput& in, const CertificateFacts& f) {
  DueInput due;
  due.now = in.now;
  due.domains = f.spec.domains;
  due.key_type = f.spec.key_type;
  if (f.live) {
    LiveVersionFacts facts;
    facts.not_before = f.live->not_before;
    facts.not_after = f.live->not_after;
    facts.domains = f.live->domains;
    if (auto kt = ParseKeyType(f.live->key_type); kt.ok()) facts.key_type = *kt;
    due.live = facts;
    // RFC 9773: the CA's renewal window replaces the local one when it offers one.
    due.ari = f.ari;
  } else if (f.latest && f.latest->state == store::VersionState::kRevoked) {
    LiveVersionFacts facts;
    facts.not_before = f.latest->not_before;
    facts.not_after = f.latest->not_after;
    facts.revoked = true;
    facts.domains = f.latest->domains;
    due.live = facts;
  }
  due.renew_before = in.renewal.renew_before;
  due.jitter_fraction = StableJitterFraction(f.spec.name);
  return ComputeDue(due);
}

// One CA-imposed wait until `until` (RFC 8555 §6.6): a deferral, or blocked
// when waiting would let the live version run out (ca_wait.h).
Decision CaWait(const PlanInput& in, const CertificateFacts& f, TimePoint until, Hold hold,
                const std::string& why) {
  CaWaitInput w;
  w.now = in.now;
  w.until = until;
  if (f.live) {
    w.not_before = f.live->not_before;
    w.not_after = f.live->not_after;
  }
  CaWaitDecision wait = BoundCaWait(w);
  if (!wait.runs_into_expiry) {
    return Deferred(f, hold, "CA asked to retry after " + FormatRfc3339(wait.until) + why,
                    wait.until);
  }
  Decision d = Blocked(f, hold, CaWaitRunsIntoExpiry(wait, f.live->not_after, "CA limit" + why));
  d.until = wait.until;
  return d;
}

std::optional<Decision> ScopeLimit(const PlanInput& in, const CaFacts& ca,
                                   const CertificateFacts& f, const std::string& scope,
                                   Hold hold) {
  auto limit = std::find_if(ca.limits.begin(), ca.limits.end(), [&](const auto& l) {
    return l.server == ca.server && l.scope == scope && l.until > in.now;
  });
  if (limit == ca.limits.end()) return std::nullopt;
  Decision d = CaWait(in, f, limit->until, hold, " (" + limit->reason + ")");
  d.limit_detail = limit->reason;
  // A limit stored before Retry-After was bounded may lie a year out.
  if (limit->until > in.now + acme::kMaxRetryAfter) {
    d.writes.ca_limit = *limit;
    d.writes.ca_limit->until = in.now + acme::kMaxRetryAfter;
  }
  return d;
}

// Step 4: the CA's waits, which bind even --force.
std::optional<Decision> CaWaits(const PlanInput& in, const CaFacts& ca,
                                const CertificateFacts& f) {
  const store::Schedule& sched = f.schedule;
  if (sched.ca_retry_after && *sched.ca_retry_after > in.now) {
    Decision d = CaWait(in, f, *sched.ca_retry_after, Hold::kCaRetryAfter, "");
    // A wait stored before Retry-After was bounded may lie a year out.
    if (*sched.ca_retry_after > in.now + acme::kMaxRetryAfter) {
      d.writes.schedule = sched;
      d.writes.schedule->ca_retry_after = in.now + acme::kMaxRetryAfter;
    }
    return d;
  }
  if (!ca.limits_error.ok()) return Unreadable(f, "the CA limits", ca.limits_error);
  if (auto d = ScopeLimit(in, ca, f, store::CertificateScope(f.spec.name),
                          Hold::kCaLimitCertificate)) {
    return d;
  }
  if (!ca.account_error.ok()) return Unreadable(f, "the account", ca.account_error);
  return ScopeLimit(in, ca, f, store::AccountScope(ca.account_url), Hold::kCaLimitAccount);
}

BudgetQuery QueryFor(const CaFacts& ca, const CertificateFacts& f) {
  BudgetQuery q;
  q.account_url = ca.account_url;
  q.identifiers = f.spec.domains;
  q.registered_domains = RegisteredDomains(f.spec.domains);
  q.names_key = NamesKey(f.spec.domains);
  q.renews_names = (f.latest && SameNameSet(f.latest->domains, f.spec.domains)) ||
                   (f.live && SameNameSet(f.live->domains, f.spec.domains));
  return q;
}

// Step 6 for `due`: a budget that one more order would exceed (deferred and
// persisted), or blocked when the request log could not be read.
std::optional<Decision> BudgetHold(const Decision& due, const CertificateFacts& f,
                                   const BudgetSettings& settings,
                                   const std::vector<store::RequestRecord>& requests,
                                   const Status& requests_error, TimePoint now) {
  if (!due.budget || !BudgetLookback(settings)) return std::nullopt;
  if (!requests_error.ok()) return Unreadable(f, "the request log", requests_error);
  BudgetPolicy policy = BudgetPolicyFrom(settings);
  BudgetCounts counts = CountRequests(*due.budget, policy, requests, now);
  BudgetDecision budget = CheckBudgets(policy, counts, now);
  if (budget.allowed) return std::nullopt;
  Decision d = Deferred(f, Hold::kBudget, "budget: " + budget.reason, budget.retry_at);
  for (const BudgetHit& hit : budget.hits) {
    d.limit_detail += (d.limit_detail.empty() ? "" : "; ") + hit.limit;
  }
  // Recorded, so that the next runs wait without counting again and `list`
  // shows why.
  d.persist = d.until.has_value();
  if (d.persist) {
    d.writes.schedule = f.schedule;
    d.writes.schedule->next_attempt_at = d.until;
    d.writes.schedule->deferred_reason = d.reason;
  }
  return d;
}

// When every CA holds the certificate back: a deferral that ends (the first
// to end), else the first CA's hold (blocked, or deferred until the CA answers).
Decision FirstToEnd(std::vector<std::pair<size_t, Decision>>& held) {
  Decision* best = &held.front().second;
  for (auto& [ca, d] : held) {
    if (d.kind != DecisionKind::kDeferred || !d.until) continue;
    if (best->kind != DecisionKind::kDeferred || !best->until || *d.until < *best->until) {
      best = &d;
    }
  }
  return std::move(*best);
}

Decision PlanDeploy(const PlanInput& in, const CertificateFacts& f, int version) {
  // Deploying asks nothing of the CA: only our own backoff applies.
  if (!in.force && InBackoff(f.schedule, in.now)) {
    const TimePoint next = *f.schedule.next_attempt_at;
    return Deferred(f, Hold::kDeployBackoff,
                    "deploy backoff (next attempt " + FormatRfc3339(next) + ")", next);
  }
  Decision d = Make(f, DecisionKind::kDeployPending,
                    "version " + std::to_string(version) + " is issued but not deployed");
  d.version = version;
  return d;
}

Decision PlanCertificate(const PlanInput& in, const CertificateFacts& f) {
  if (!f.read_error.ok()) return Unreadable(f, "the inventory record", f.read_error);
  // A version issued but never delivered is retried before anything new.
  if (std::optional<int> pending = PendingDeployVersion(f, in.now)) {
    return PlanDeploy(in, f, *pending);
  }
  DueDecision due = DueFor(in, f);
  if (!due.due && !in.force) {
    Decision d = Make(f, DecisionKind::kNotDue, due.reason);
    d.until = due.renew_at;
    return d;
  }
  // Only a certificate that would reach the CA can be held back by it.
  std::vector<size_t> order = f.cas.empty() ? std::vector<size_t>{0} : f.cas;
  std::vector<std::pair<size_t, Decision>> held;
  std::vector<size_t> open;
  for (size_t ca : order) {
    if (auto h = CaWaits(in, in.cas[ca], f)) {
      held.emplace_back(ca, std::move(*h));
    } else {
      open.push_back(ca);
    }
  }
  if (open.empty()) return FirstToEnd(held);
  if (!in.force && InBackoff(f.schedule, in.now)) {
    const std::string& why = f.schedule.deferred_reason;
    return Deferred(f, Hold::kBackoff,
                    (why.empty() ? "backoff" : why) + " (next attempt " +
                        FormatRfc3339(*f.schedule.next_attempt_at) + ")",
                    f.schedule.next_attempt_at);
  }
  Decision d = Make(f, DecisionKind::kDue, due.due ? due.reason : "forced: " + due.reason);
  for (size_t ca : open) {
    const CaFacts& facts = in.cas[ca];
    if (!in.force) d.budget = QueryFor(facts, f);
    if (auto h = BudgetHold(d, f, facts.budgets, facts.requests, facts.requests_error, in.now)) {
      held.emplace_back(ca, std::move(*h));
    } else {
      d.cas.push_back(ca);
    }
  }
  if (d.cas.empty()) return FirstToEnd(held);
  if (!in.force) d.budget = QueryFor(in.cas[d.cas.front()], f);
  for (const auto& [ca, h] : held) d.skipped.push_back({ca, h.hold, h.reason, h.until});
  return d;
}

WindowCount CountWindow(const std::vector<store::RequestRecord>& requests, store::RequestKind kind,
                        const std::string& account, const std::string& key, TimePoint since) {
  // Stored times are whole seconds; the store counts from the second of `since`.
  since = std::chrono::floor<std::chrono::seconds>(since);
  WindowCount wc;
  for (const store::RequestRecord& r : requests) {
    if (r.kind != kind || r.at < since || (!account.empty() && r.account_url != account) ||
        (!key.empty() && r.key != key)) {
      continue;
    }
    ++wc.count;
    if (!wc.oldest || r.at < *wc.oldest) wc.oldest = r.at;
  }
  return wc;
}

}  // namespace

std::string_view DecisionKindName(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kDeployPending: return "deploy-pending";
    case DecisionKind::kNotDue: return "not-due";
    case DecisionKind::kDue: return "due";
    case DecisionKind::kDeferred: return "deferred";
    case DecisionKind::kBlocked: return "blocked";
  }
  return "unknown";
}

std::string_view HoldName(Hold hold) {
  switch (hold) {
    case Hold::kNone: return "";
    case Hold::kDeployBackoff: return "deploy-backoff";
    case Hold::kBackoff: return "backoff";
    case Hold::kCaRetryAfter: return "ca-retry-after";
    case Hold::kCaLimitCertificate: return "ca-limit:certificate";
    case Hold::kCaLimitAccount: return "ca-limit:account";
    case Hold::kBudget: return "budget";
    case Hold::kCaDown: return "ca-down";
    case Hold::kUnreadable: return "unreadable";
  }
  return "unknown";
}

std::optional<int> PendingDeployVersion(const CertificateFacts& f, TimePoint now) {
  if (!f.latest) return std::nullopt;
  const bool undelivered = f.latest->state == store::VersionState::kIssued ||
                           f.latest->state == store::VersionState::kDeployFailed;
  if (undelivered && (!f.live || f.latest->n > f.live->n) && f.latest->not_after > now) {
    return f.latest->n;
  }
  return std::nullopt;
}

bool UsesRenewalInfo(const CertificateFacts& f, TimePoint now) {
  return f.read_error.ok() && f.live && !PendingDeployVersion(f, now);
}

BudgetPolicy BudgetPolicyFrom(const BudgetSettings& s) {
  BudgetPolicy p;
  p.new_orders_per_account.limit = s.new_orders_per_3h;
  p.failed_validations_per_identifier.limit = s.failed_validations_per_identifier_per_hour;
  p.certificates_per_registered_domain.limit = s.certificates_per_registered_domain_per_week;
  p.duplicate_certificates.limit = s.duplicate_certificates_per_week;
  return p;
}

std::optional<Duration> BudgetLookback(const BudgetSettings& settings) {
  BudgetPolicy p = BudgetPolicyFrom(settings);
  std::optional<Duration> longest;
  for (const RateLimit& l : {p.new_orders_per_account, p.failed_validations_per_identifier,
                             p.certificates_per_registered_domain, p.duplicate_certificates}) {
    if (l.limit > 0 && (!longest || l.window > *longest)) longest = l.window;
  }
  return longest;
}

BudgetCounts CountRequests(const BudgetQuery& q, const BudgetPolicy& policy,
                           const std::vector<store::RequestRecord>& requests, TimePoint now) {
  using store::RequestKind;
  BudgetCounts counts;
  counts.orders = CountWindow(requests, RequestKind::kNewOrder, q.account_url, "",
                              now - policy.new_orders_per_account.window);
  for (const std::string& d : q.identifiers) {
    counts.failed_validations.push_back(
        {d, CountWindow(requests, RequestKind::kFailedValidation, q.account_url, d,
                        now - policy.failed_validations_per_identifier.window)});
  }
  // Certificates count across accounts: the CA counts them per domain.
  for (const std::string& rd : q.registered_domains) {
    counts.certificates.push_back(
        {rd, CountWindow(requests, RequestKind::kCertificate, "", rd,
                         now - policy.certificates_per_registered_domain.window)});
  }
  counts.duplicates = CountWindow(requests, RequestKind::kCertificate, "", q.names_key,
                                  now - policy.duplicate_certificates.window);
  // A renewal is an order for exactly the set of names of a certificate issued
  // before (Let's Encrypt exempts it from the per-domain limit); a changed set
  // of names is a new certificate.
  counts.renewal = counts.duplicates.count > 0 || q.renews_names;
  return counts;
}

std::vector<Decision> Plan(const PlanInput& input) {
  std::vector<Decision> plan;
  plan.reserve(input.certificates.size());
  for (const CertificateFacts& f : input.certificates) plan.push_back(PlanCertificate(input, f));
  return plan;
}

Decision BeforeOrder(const Decision& planned, const CertificateFacts& facts, const CaFacts& ca,
                     const RunSoFar& run) {
  Decision due = planned;
  if (due.budget) due.budget->account_url = ca.account_url;
  if (run.requests || !run.requests_error.ok()) {
    static const std::vector<store::RequestRecord> kNone;
    const auto& requests = run.requests ? *run.requests : kNone;
    if (auto held = BudgetHold(due, facts, ca.budgets, requests, run.requests_error, run.now)) {
      return *held;
    }
  }
  if (run.ca_unavailable_streak >= kCaDownThreshold) {
    return Deferred(facts, Hold::kCaDown,
                    "the CA was unavailable for the last " + std::to_string(kCaDownThreshold) +
                        " certificates of this run",
                    std::nullopt);
  }
  return due;
}

CertificateOutcome PlannedOutcome(const Decision& d, bool dry_run) {
  CertificateOutcome out;
  out.name = d.name;
  out.reason = d.reason;
  out.decision = std::string(DecisionKindName(d.kind));
  out.until = d.until;
  out.limit = std::string(HoldName(d.hold));
  if (!d.limit_detail.empty() && (d.hold == Hold::kBudget || d.hold == Hold::kUnreadable)) {
    out.limit += ": " + d.limit_detail;
  }
  switch (d.kind) {
    case DecisionKind::kDeployPending: out.outcome = dry_run ? "would-deploy" : "deploy"; break;
    case DecisionKind::kNotDue: out.outcome = "not-due"; break;
    case DecisionKind::kDue: out.outcome = dry_run ? "would-renew" : "renew"; break;
    case DecisionKind::kDeferred: out.outcome = "deferred"; break;
    case DecisionKind::kBlocked:
      out.outcome = "failed";
      out.error = d.error;
      break;
  }
  return out;
}

}  // namespace certkeeper::lifecycle
