// The renewal planner: what `renew` does with each certificate and why, as
// data. Pure: no inventory, no clock, no network, no logging. The engine
// gathers the facts (inventory rows, the CA limits in force, the request log,
// renewal information it refreshed), calls Plan, prints the plan (--dry-run) or
// executes it (engine_renew.cc); docs/planner.md describes the decisions.
//
// The checks, in order, for one certificate (the first that applies decides):
//  1. a fact of the certificate itself could not be read        -> blocked
//  2. its newest version is issued but not deployed: our own deploy backoff
//     (unless --force)                                            -> deferred
//     else                                                        -> deploy-pending
//  3. not due (lifecycle/due.h ComputeDue) and not --force        -> not-due
//  4. the CA's Retry-After stored in its schedule, then a CA limit of
//     certificate scope, then one of account scope (RFC 8555 §6.6; binding
//     even --force): a wait that ends too close to expiry (ca_wait.h)
//                                                                 -> blocked
//     otherwise                                                   -> deferred
//     (an unreadable CA limit or account record                   -> blocked)
//  5. our backoff after failures (unless --force)                 -> deferred
//  6. a rate-limit budget (budget.h; unless --force) would be exceeded
//                                                                 -> deferred, persisted
//     (an unreadable request log                                  -> blocked)
//  7. otherwise                                                   -> due
// Fail closed toward the CA: a fact that could not be read never reads as
// "nothing there" where it could let a request reach the CA; a certificate
// that is not due or only needs a deploy asks nothing of the CA and is
// unaffected by an unreadable CA limit, account or request log.
//
// Results of the same run: the plan is made before the run's first request to
// the CA. What earlier certificates of the run change is applied to a due
// certificate right before its order by BeforeOrder (the CA-down cut-off and
// the budgets counted again with the run's own requests).
//
// Several CAs: everything about a CA is in its CaFacts (PlanInput::cas); a
// certificate lists the CAs it may use in CertificateFacts::cas, in the order
// to try. Checks 4 and 6 are made for each CA: one that is held is skipped
// (Decision::skipped), the others are tried in order (Decision::cas); only
// when every CA is held is the certificate held, by the hold that ends first.
#ifndef CERTKEEPER_LIFECYCLE_PLANNER_H_
#define CERTKEEPER_LIFECYCLE_PLANNER_H_

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/budget.h"
#include "lifecycle/config.h"
#include "lifecycle/due.h"
#include "lifecycle/engine.h"
#include "store/records.h"

namespace certkeeper::lifecycle {

// What the inventory holds of one selected certificate.
struct CertificateFacts {
  // The managed definition: the config's, or the inventory's for a certificate
  // the config does not name.
  CertificateSpec spec;
  store::Schedule schedule;  // empty for a certificate the inventory does not know yet
  // The CA's renewal window for the live version as it applies now (after the
  // run's refresh, RFC 9773); unset when there is none.
  std::optional<AriSchedule> ari;
  std::optional<store::Version> live;    // the newest deployed version
  std::optional<store::Version> latest;  // the newest version in any state
  // Not OK when the certificate's row or versions could not be read (not "not
  // found": a failed read). The certificate is then blocked.
  Status read_error;
  // Indices into PlanInput::cas in the order to try; empty: {0}.
  std::vector<size_t> cas;
};

// What is known of the CA the certificates renew with. Each `*_error` is a
// fact that could not be read; the value beside it is then meaningless.
struct CaFacts {
  std::string server;       // ACME directory URL
  std::string account_url;  // empty when no account is registered yet
  Status account_error;
  std::vector<store::CaLimit> limits;  // in force at `now`; other servers' are ignored
  Status limits_error;
  // The request log of this server from now - BudgetLookback(budgets) on
  // (Inventory::ListRequestsSince): every budget window is counted from it in
  // memory, so no certificate costs a query. Not read (and not needed) under
  // --force or when every budget is disabled.
  std::vector<store::RequestRecord> requests;
  Status requests_error;
  BudgetSettings budgets;  // EffectiveBudgets of the CA
};

struct PlanInput {
  TimePoint now;
  std::vector<CertificateFacts> certificates;
  std::vector<CaFacts> cas = std::vector<CaFacts>(1);
  RenewalSettings renewal;  // renew_before (budgets: CaFacts::budgets)
  bool force = false;    // ignore our backoff and budgets (never the CA's Retry-After)
  bool dry_run = false;  // the executor writes nothing; the decisions are the same
};

enum class DecisionKind {
  kDeployPending,  // version `version` is issued and not deployed: deliver it
  kNotDue,         // nothing to do until `until`
  kDue,            // order a new certificate (after BeforeOrder)
  kDeferred,       // held back by `limit` until `until`
  kBlocked,        // must not reach the CA; a failure (`error`), exit code 2
};

// "deploy-pending", "not-due", "due", "deferred", "blocked".
std::string_view DecisionKindName(DecisionKind kind);

// What holds a certificate back (deferred or blocked).
enum class Hold {
  kNone,
  kDeployBackoff,       // our backoff after a failed deploy
  kBackoff,             // our backoff after a failed order
  kCaRetryAfter,        // the CA's Retry-After stored in the certificate's schedule
  kCaLimitCertificate,  // a CA limit of certificate scope
  kCaLimitAccount,      // a CA limit of account scope
  kBudget,              // a local rate-limit budget (limit_detail names which)
  kCaDown,              // the CA was unavailable for the last kCaDownThreshold orders
  kUnreadable,          // a fact could not be read (limit_detail names which)
};

// The stored values the executor writes back: never under --dry-run, best
// effort (a failed write is logged; the decision stands).
struct Writes {
  // A CA wait stored beyond acme::kMaxRetryAfter, bounded; or, with
  // Decision::persist, the schedule that records the deferral.
  std::optional<store::Schedule> schedule;
  // A CA limit stored beyond acme::kMaxRetryAfter, bounded.
  std::optional<store::CaLimit> ca_limit;
};

// What a due certificate's order counts against, for CountRequests.
struct BudgetQuery {
  std::string account_url;               // empty: every account of the server
  std::vector<std::string> identifiers;  // the spec's domains
  std::set<std::string> registered_domains;
  std::string names_key;  // NamesKey of the domains
  // The latest or live version names the same set: a renewal.
  bool renews_names = false;
};

// A CA a due certificate does not try, and why (checks 4 and 6 for that CA).
struct CaSkip {
  size_t ca = 0;
  Hold hold = Hold::kNone;
  std::string reason;
  std::optional<TimePoint> until;
};

struct Decision {
  std::string name;  // the certificate
  DecisionKind kind = DecisionKind::kNotDue;
  // One line for people; "forced: ..." for a certificate due only by --force.
  std::string reason;
  // not-due: when it becomes due. deferred: when the hold ends (unset for
  // kCaDown: until the CA answers). blocked by a CA wait: the bounded wait.
  std::optional<TimePoint> until;
  Hold hold = Hold::kNone;
  // kBudget: the exhausted budgets ("new orders per account", ...) joined by
  // "; ". kUnreadable: what could not be read. kCaLimit*: the CA's reason.
  std::string limit_detail;
  // deferred: the executor records the deferral (writes.schedule and a
  // deferred attempt), so that `list` and `history` show it.
  bool persist = false;
  // blocked: why. A CA wait into expiry: kRateLimited from
  // CaWaitRunsIntoExpiry; an unreadable fact: the read's error.
  Status error;
  int version = 0;  // deploy-pending: the version to deliver
  // due without --force: what BeforeOrder counts again (account_url: the
  // first CA's; BeforeOrder uses each CA's own).
  std::optional<BudgetQuery> budget;
  Writes writes;
  // due: the CAs to try, in order; the ones held back.
  std::vector<size_t> cas;
  std::vector<CaSkip> skipped;
};

// One decision per certificate, in the order of input.certificates.
std::vector<Decision> Plan(const PlanInput& input);

// The version to deliver when the newest version is issued (or failed to
// deploy), newer than the live one and not expired at `now`; nullopt
// otherwise. Such a certificate asks nothing of the CA.
std::optional<int> PendingDeployVersion(const CertificateFacts& facts, TimePoint now);

// The certificate's decision depends on the CA's renewal information: it has
// a live version and no pending deploy. The engine refreshes renewal
// information (RFC 9773) only for these.
bool UsesRenewalInfo(const CertificateFacts& facts, TimePoint now);

BudgetPolicy BudgetPolicyFrom(const BudgetSettings& settings);

// How far back the request log must reach for every enabled budget: the
// longest window; nullopt when every budget is disabled.
std::optional<Duration> BudgetLookback(const BudgetSettings& settings);

// The counts of every budget of `policy` for the order `query`, from the
// request log `requests` (of one server), each over its window ending at now.
BudgetCounts CountRequests(const BudgetQuery& query, const BudgetPolicy& policy,
                           const std::vector<store::RequestRecord>& requests, TimePoint now);

// After this many consecutive "CA unavailable" failures in one run, the
// remaining certificates of that CA are deferred instead of tried one by one.
inline constexpr int kCaDownThreshold = 3;

// What earlier certificates of the same run changed, as the executor knows it
// right before an order.
struct RunSoFar {
  TimePoint now;
  int ca_unavailable_streak = 0;  // consecutive kUnavailable order failures of the CA
  // Set when the run placed orders since the plan's read: the request log read
  // again (from now - BudgetLookback). Unset: the plan's counts stand.
  std::optional<std::vector<store::RequestRecord>> requests;
  Status requests_error;  // the read again failed
};

// The decision for the due decision `due` right before its order at the CA
// `ca`: `due` itself, or deferred (a budget the run's own orders exhausted,
// persisted; the CA down) or blocked (the request log could not be read
// again). `facts` are the certificate's, as planned; `run` is of that CA.
Decision BeforeOrder(const Decision& due, const CertificateFacts& facts, const CaFacts& ca,
                     const RunSoFar& run);

// "deploy-backoff", "backoff", "ca-retry-after", "ca-limit:certificate",
// "ca-limit:account", "budget", "ca-down", "unreadable"; empty for kNone.
std::string_view HoldName(Hold hold);

// The outcome reported for a decision that is not executed: every decision of
// a dry run ("would-deploy", "would-renew"), and not-due, deferred and blocked
// ("failed") ones of a real run. CertificateOutcome::decision, until and limit
// carry the plan.
CertificateOutcome PlannedOutcome(const Decision& decision, bool dry_run);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_PLANNER_H_
