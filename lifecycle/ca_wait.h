// How long a CA may make a certificate wait. A CA's Retry-After (RFC 8555
// §6.6, RFC 9110 §10.2.3) is honoured, even over --force, but never at the
// price of the certificate: a wait that ends too close to the live version's
// expiry (or a certificate already that close) is a failure the operator has to
// see, not a silent "deferred". Pure code: time is passed in.
#ifndef CERTKEEPER_LIFECYCLE_CA_WAIT_H_
#define CERTKEEPER_LIFECYCLE_CA_WAIT_H_

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::lifecycle {

// The margin before not_after by which a renewal must be able to start:
// max(10% of the lifetime, min(1 day, a third of the lifetime)). 9 days for a
// 90-day certificate, 1 day for a 6-day one, 8 hours for a 24-hour one; a
// lifetime that is not positive gives a margin of 0.
Duration ExpiryMargin(TimePoint not_before, TimePoint not_after);

// The latest time a renewal may start: not_after - ExpiryMargin(...).
TimePoint LatestRenewalStart(TimePoint not_before, TimePoint not_after);

struct CaWaitInput {
  TimePoint now;
  // The time the CA asked to wait until. Bounded to now + acme::kMaxRetryAfter
  // first (a value stored by an older version may lie further out).
  TimePoint until;
  // The live version's validity; unset when nothing was ever issued (then
  // only the bound above applies).
  std::optional<TimePoint> not_before;
  std::optional<TimePoint> not_after;
};

struct CaWaitDecision {
  TimePoint until;  // the bounded wait
  // Set with a live version: LatestRenewalStart of it.
  std::optional<TimePoint> latest_start;
  // The wait ends after latest_start, or now is already past it (also: the
  // certificate has expired): waiting would let the certificate run out.
  bool runs_into_expiry = false;
  // runs_into_expiry because now is already past latest_start.
  bool already_too_close = false;
};

// A Retry-After on an error that is not a rateLimited problem (a 503 during
// maintenance, a 429 without a problem document) only delays the ordinary
// backoff, by at most this much; it is never persisted as a CA limit.
inline constexpr Duration kMaxTransientRetryAfter = std::chrono::hours(1);

// What a failure's Retry-After means for the schedule.
struct FailureRetryAfter {
  // Only for a problem of type urn:ietf:params:acme:error:rateLimited (RFC
  // 8555 §6.6): a CA limit, kept across runs and binding even --force.
  std::optional<TimePoint> ca_limit_until;
  // Any Retry-After, as a floor for the backoff: for a rate limit the CA's
  // time, otherwise at most now + kMaxTransientRetryAfter.
  std::optional<TimePoint> backoff_floor;
};

// Pure: classifies error.retry_after() (already bounded by acme::ParseRetryAfter).
FailureRetryAfter ClassifyRetryAfter(const Status& error, TimePoint now);

// Pure: the decision for one CA-imposed wait.
CaWaitDecision BoundCaWait(const CaWaitInput& input);

// The error for a decision with runs_into_expiry: kRateLimited saying that
// the CA (`what`, e.g. "CA rate limit: too many orders") asked to wait until T,
// which is past or too close to the expiry E, and what to do. `not_after` is
// the live version's.
Status CaWaitRunsIntoExpiry(const CaWaitDecision& decision, TimePoint not_after,
                            std::string_view what);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_CA_WAIT_H_
