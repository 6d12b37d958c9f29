// When to try again after a failed renewal: exponential backoff with jitter,
// tightened as the live certificate's expiry nears, floored by the CA's
// Retry-After. Pure code: time and randomness are passed in.
#ifndef CERTKEEPER_LIFECYCLE_BACKOFF_H_
#define CERTKEEPER_LIFECYCLE_BACKOFF_H_

#include <chrono>
#include <functional>
#include <optional>

#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::lifecycle {

// A source of uniform random numbers in [0, 1). Policy code never draws its own
// randomness, so tests pass a fixed sequence. Values outside [0, 1) (or NaN) are
// clamped into it by every user in lifecycle/.
using UniformRandom = std::function<double()>;

// A thread-safe UniformRandom seeded from std::random_device, for production.
UniformRandom SystemUniformRandom();

// Clamps a sample into [0, 1); NaN becomes 0.
double ClampUnit(double sample);

struct BackoffPolicy {
  // The delay after the first failure; the n-th consecutive failure waits
  // base * factor^(n-1), jittered, at most `cap`.
  Duration base = std::chrono::minutes(5);
  double factor = 2.0;
  Duration cap = std::chrono::hours(24);
  // The delay is multiplied by a uniform factor in [1 - jitter, 1 + jitter] so
  // that certificates failing together do not retry together.
  double jitter = 0.2;
  // While a live certificate is still valid, the delay never exceeds this
  // fraction of the time left until its not_after, so a certificate close to
  // expiry is retried more often, never less.
  double max_fraction_of_time_left = 0.1;
  // No delay is shorter than this, unless the live version has less than
  // twice this left (see max_fraction_until_expiry).
  Duration floor = std::chrono::minutes(1);
  // While a live certificate is still valid, the next attempt is never later
  // than this fraction of the time left, whatever the floor and the CA's
  // Retry-After say: a short-lived certificate (hours) must not lapse because
  // one failure pushed its next attempt past not_after. The CA's own wait is
  // kept apart (store::Schedule::ca_retry_after, lifecycle/ca_wait.h), so
  // this bounds when the certificate is looked at again, not when that CA is
  // asked.
  double max_fraction_until_expiry = 0.5;
};

// kInvalidArgument naming the field when base or floor is not positive, factor
// < 1, cap < base, cap < floor, jitter outside [0, 1),
// max_fraction_of_time_left outside (0, 1] or max_fraction_until_expiry
// outside (0, 1).
Status ValidateBackoffPolicy(const BackoffPolicy& policy);

struct BackoffInput {
  // Consecutive failures including the one just recorded; values below 1 are
  // treated as 1.
  int consecutive_failures = 1;
  TimePoint now;
  // not_after of the live version; unset when nothing was ever issued.
  std::optional<TimePoint> not_after;
  // The CA's Retry-After (RFC 8555 §6.6, RFC 9110 §10.2.3) from the failure, if
  // any. It is a floor: the result is never earlier.
  std::optional<TimePoint> retry_after;
  // Called exactly once; when empty, the delay is not jittered.
  UniformRandom random;
  BackoffPolicy policy;
};

// The delay before the next attempt, before Retry-After is applied: in
// [policy.floor, policy.cap], and at most max(floor, max_fraction_of_time_left
// * time left) while the live version is valid; in any case, while it is
// valid, at most max_fraction_until_expiry * time left (which may undercut the
// floor in the last two minutes). An expired certificate or no version at all
// gets the plain capped backoff.
Duration BackoffDelay(const BackoffInput& input);

// The earliest time the next attempt may start: now + BackoffDelay(input), or
// the Retry-After when that is later; while the live version is valid, never
// later than now + max_fraction_until_expiry * time left, so the next attempt
// is always well before not_after.
TimePoint NextAttemptAfterFailure(const BackoffInput& input);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_BACKOFF_H_
