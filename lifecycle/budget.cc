#include "lifecycle/budget.h"

#include <algorithm>
#include <string>

namespace certkeeper::lifecycle {

namespace {

constexpr char kNewOrders[] = "new orders per account";
constexpr char kFailedValidations[] = "failed validations per identifier";
constexpr char kCertificates[] = "certificates per registered domain";
constexpr char kDuplicates[] = "duplicate certificates";

Status CheckLimit(const RateLimit& limit, const char* name) {
  if (limit.limit < 0) {
    return Status(ErrorCode::kInvalidArgument, std::string("invalid rate limit \"") + name +
                                                   "\": limit " + std::to_string(limit.limit) +
                                                   " is negative")
        .Hint("use 0 to disable the limit");
  }
  if (limit.limit > 0 && limit.window <= Duration::zero()) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string("invalid rate limit \"") + name + "\": the window must be positive")
        .Hint("give the window as a duration, e.g. \"3h\" or \"7d\"");
  }
  return Status::Ok();
}

// Adds a hit to `out` when one more event would exceed `limit`.
void Check(const RateLimit& limit, const char* name, const std::string& key,
           const WindowCount& events, TimePoint now, std::vector<BudgetHit>& out) {
  if (limit.limit <= 0 || events.count < limit.limit) return;
  TimePoint frees_at = now + limit.window;
  if (events.oldest && *events.oldest + limit.window > now) {
    frees_at = *events.oldest + limit.window;
  }
  out.push_back(BudgetHit{name, key, events.count, limit.limit, limit.window, frees_at});
}

std::string Describe(const BudgetHit& hit) {
  std::string text = std::to_string(hit.count) + " " + hit.limit;
  if (!hit.key.empty()) text += " (" + hit.key + ")";
  text += " in the last " + FormatDurationHuman(hit.window) + " (limit " + std::to_string(hit.max) +
          "); frees at " + FormatRfc3339(hit.frees_at);
  return text;
}

}  // namespace

BudgetPolicy BudgetPolicy::Unlimited() {
  BudgetPolicy p;
  p.new_orders_per_account = {};
  p.failed_validations_per_identifier = {};
  p.certificates_per_registered_domain = {};
  p.duplicate_certificates = {};
  return p;
}

Status ValidateBudgetPolicy(const BudgetPolicy& p) {
  CK_RETURN_IF_ERROR(CheckLimit(p.new_orders_per_account, kNewOrders));
  CK_RETURN_IF_ERROR(CheckLimit(p.failed_validations_per_identifier, kFailedValidations));
  CK_RETURN_IF_ERROR(CheckLimit(p.certificates_per_registered_domain, kCertificates));
  CK_RETURN_IF_ERROR(CheckLimit(p.duplicate_certificates, kDuplicates));
  return Status::Ok();
}

BudgetDecision CheckBudgets(const BudgetPolicy& policy, const BudgetCounts& counts, TimePoint now) {
  std::vector<BudgetHit> hits;
  Check(policy.new_orders_per_account, kNewOrders, "", counts.orders, now, hits);
  for (const KeyedCount& c : counts.failed_validations) {
    Check(policy.failed_validations_per_identifier, kFailedValidations, c.key, c.events, now, hits);
  }
  if (!(counts.renewal && policy.renewals_exempt_from_registered_domain_limit)) {
    for (const KeyedCount& c : counts.certificates) {
      Check(policy.certificates_per_registered_domain, kCertificates, c.key, c.events, now, hits);
    }
  }
  Check(policy.duplicate_certificates, kDuplicates, "", counts.duplicates, now, hits);

  BudgetDecision decision;
  if (hits.empty()) return decision;
  decision.allowed = false;
  TimePoint retry_at = hits.front().frees_at;
  std::string reason = "deferred: ";
  for (size_t i = 0; i < hits.size(); ++i) {
    retry_at = std::max(retry_at, hits[i].frees_at);
    if (i > 0) reason += "; ";
    reason += Describe(hits[i]);
  }
  decision.retry_at = retry_at;
  decision.reason = std::move(reason);
  decision.hits = std::move(hits);
  return decision;
}

}  // namespace certkeeper::lifecycle
