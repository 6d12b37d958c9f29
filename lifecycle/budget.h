// Rate-limit budgets: before placing an order, check the CA's published limits
// against what the inventory recorded, and defer (with the time the budget
// frees up) instead of spending a request the CA would refuse. Pure code: the
// caller counts events from the inventory and passes the time in.
#ifndef CERTKEEPER_LIFECYCLE_BUDGET_H_
#define CERTKEEPER_LIFECYCLE_BUDGET_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::lifecycle {

// At most `limit` events in any sliding `window`. limit == 0 disables the check
// (CAs without that limit, test CAs).
struct RateLimit {
  int limit = 0;
  Duration window = Duration::zero();
};

// Per-CA limits. The defaults are Let's Encrypt's published ones
// (https://letsencrypt.org/docs/rate-limits/).
struct BudgetPolicy {
  // newOrder requests per account.
  RateLimit new_orders_per_account{300, std::chrono::hours(3)};
  // Failed validations per identifier per account.
  RateLimit failed_validations_per_identifier{5, std::chrono::hours(1)};
  // Certificates per registered domain (eTLD+1, see registered_domain.h).
  RateLimit certificates_per_registered_domain{50, std::chrono::hours(24 * 7)};
  // Certificates for exactly the same set of names (case and order ignored).
  RateLimit duplicate_certificates{5, std::chrono::hours(24 * 7)};
  // A renewal (an order for exactly the set of names of a certificate issued
  // before) does not count against certificates_per_registered_domain.
  bool renewals_exempt_from_registered_domain_limit = true;

  // Let's Encrypt's limits, the defaults above.
  static BudgetPolicy LetsEncrypt() { return BudgetPolicy(); }
  // All checks disabled (Pebble, private CAs without limits).
  static BudgetPolicy Unlimited();
};

// kInvalidArgument naming the limit when a limit is negative or an enabled
// limit has a non-positive window.
Status ValidateBudgetPolicy(const BudgetPolicy& policy);

// Events inside one limit's window, as the inventory recorded them.
struct WindowCount {
  int count = 0;
  // The oldest event still inside the window; its leaving the window is the
  // earliest time a slot frees up. Unset when unknown.
  std::optional<TimePoint> oldest;
};

struct KeyedCount {
  std::string key;  // the identifier or registered domain
  WindowCount events;
};

// Filled by the caller from the inventory, each over the matching limit's
// window ending now.
struct BudgetCounts {
  // Orders this account created.
  WindowCount orders;
  // Failed validations of this account, one entry per identifier of the
  // planned order.
  std::vector<KeyedCount> failed_validations;
  // Certificates issued, one entry per registered domain the planned order's
  // names fall in.
  std::vector<KeyedCount> certificates;
  // Certificates issued for exactly the planned set of names.
  WindowCount duplicates;
  // The planned order renews a set of names issued before.
  bool renewal = false;
};

// One limit that would be exceeded by the planned order.
struct BudgetHit {
  std::string limit;  // "new orders per account", ...
  std::string key;    // the identifier or registered domain; empty for per-account limits
  int count = 0;      // events in the window
  int max = 0;        // the limit
  Duration window = Duration::zero();
  TimePoint frees_at;  // the earliest time the planned order could fit
};

struct BudgetDecision {
  bool allowed = true;
  // Every limit that is exhausted; empty when allowed.
  std::vector<BudgetHit> hits;
  // The latest frees_at over hits (all must free up); unset when allowed.
  std::optional<TimePoint> retry_at;
  // One line for people, every hit separated by "; ": "deferred: 5 failed
  // validations per identifier (www.example.com) in the last 1h (limit 5); frees
  // at 2026-11-24T10:13:38Z".
  std::string reason;
};

// Allowed unless one more order would exceed a limit (count >= limit). For an
// exhausted limit, frees_at is oldest + window: the earliest moment the count
// can drop below the limit (more slots may need to free when the count exceeds
// the limit; the caller checks again then). Without `oldest`, or when
// oldest + window is not in the future (inconsistent counts), frees_at is
// now + window: a safe upper bound.
BudgetDecision CheckBudgets(const BudgetPolicy& policy, const BudgetCounts& counts, TimePoint now);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_BUDGET_H_
