#include "lifecycle/ca_wait.h"

#include <algorithm>

#include "acme/problem.h"

namespace certkeeper::lifecycle {

Duration ExpiryMargin(TimePoint not_before, TimePoint not_after) {
  if (not_after <= not_before) return Duration::zero();
  const Duration lifetime = not_after - not_before;
  const Duration one_day = std::chrono::hours(24);
  return std::max(lifetime / 10, std::min(one_day, lifetime / 3));
}

TimePoint LatestRenewalStart(TimePoint not_before, TimePoint not_after) {
  return not_after - ExpiryMargin(not_before, not_after);
}

FailureRetryAfter ClassifyRetryAfter(const Status& error, TimePoint now) {
  FailureRetryAfter r;
  const auto retry_after = error.retry_after();
  if (!retry_after || *retry_after <= now) return r;
  const TimePoint until = std::min(*retry_after, now + acme::kMaxRetryAfter);
  const Problem* problem = error.problem();
  if (problem && problem->Is("rateLimited")) {
    r.ca_limit_until = until;
    r.backoff_floor = until;
  } else {
    r.backoff_floor = std::min(until, now + kMaxTransientRetryAfter);
  }
  return r;
}

CaWaitDecision BoundCaWait(const CaWaitInput& in) {
  CaWaitDecision d;
  d.until = std::min(in.until, in.now + acme::kMaxRetryAfter);
  if (!in.not_after) return d;
  // Without a known start, the lifetime is taken as the time left: the margin
  // is then at least as strict as for any longer-lived certificate.
  const TimePoint not_before = in.not_before.value_or(std::min(in.now, *in.not_after));
  d.latest_start = LatestRenewalStart(not_before, *in.not_after);
  d.already_too_close = in.now >= *d.latest_start;
  d.runs_into_expiry = d.already_too_close || d.until > *d.latest_start;
  return d;
}

Status CaWaitRunsIntoExpiry(const CaWaitDecision& d, TimePoint not_after,
                            std::string_view what) {
  std::string message = std::string(what) + ": the CA asked to wait until " +
                        FormatRfc3339(d.until) + ", ";
  if (d.until >= not_after) {
    message += "past the certificate's expiry at " + FormatRfc3339(not_after);
  } else if (d.already_too_close || !d.latest_start) {
    message += "but the certificate expires at " + FormatRfc3339(not_after) +
               " and is already too close to its expiry to wait";
  } else {
    message += "too close to the certificate's expiry at " + FormatRfc3339(not_after) +
               " (a renewal must start by " + FormatRfc3339(*d.latest_start) + ")";
  }
  message += "; waiting would let it run out";
  return Status(ErrorCode::kRateLimited, std::move(message))
      .WithRetryAfter(d.until)
      .Hint("renew now from another CA (--server URL), or renew after " +
            FormatRfc3339(d.until) + " (the CA's limit binds even --force)");
}

}  // namespace certkeeper::lifecycle
