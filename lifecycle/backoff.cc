#include "lifecycle/backoff.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <random>
#include <string>

namespace certkeeper::lifecycle {

namespace {

using Seconds = std::chrono::duration<double>;

double ToSeconds(Duration d) { return std::chrono::duration_cast<Seconds>(d).count(); }

Duration FromSeconds(double s) { return std::chrono::duration_cast<Duration>(Seconds(s)); }

Status BadPolicy(std::string field, std::string why) {
  return Status(ErrorCode::kInvalidArgument, "invalid backoff policy: " + field + " " + why)
      .Hint("fix the backoff settings in the configuration");
}

// max_fraction_until_expiry of the time left; only while the live version
// is valid.
Duration UntilExpiryBound(const BackoffInput& in) {
  const double left_s = ToSeconds(*in.not_after - in.now);
  return FromSeconds(left_s * in.policy.max_fraction_until_expiry);
}

}  // namespace

double ClampUnit(double sample) {
  if (!(sample >= 0.0)) return 0.0;  // also NaN
  if (sample >= 1.0) return std::nextafter(1.0, 0.0);
  return sample;
}

UniformRandom SystemUniformRandom() {
  struct State {
    std::mutex mu;
    std::mt19937_64 engine{std::random_device{}()};
    std::uniform_real_distribution<double> dist{0.0, 1.0};
  };
  auto state = std::make_shared<State>();
  return [state]() {
    std::lock_guard<std::mutex> lock(state->mu);
    return ClampUnit(state->dist(state->engine));
  };
}

Status ValidateBackoffPolicy(const BackoffPolicy& p) {
  if (p.base <= Duration::zero()) return BadPolicy("base", "must be positive");
  if (p.floor <= Duration::zero()) return BadPolicy("floor", "must be positive");
  if (!(p.factor >= 1.0)) return BadPolicy("factor", "must be at least 1");
  if (p.cap < p.base) return BadPolicy("cap", "must not be shorter than base");
  if (p.cap < p.floor) return BadPolicy("cap", "must not be shorter than floor");
  if (!(p.jitter >= 0.0 && p.jitter < 1.0)) return BadPolicy("jitter", "must be in [0, 1)");
  if (!(p.max_fraction_of_time_left > 0.0 && p.max_fraction_of_time_left <= 1.0)) {
    return BadPolicy("max_fraction_of_time_left", "must be in (0, 1]");
  }
  if (!(p.max_fraction_until_expiry > 0.0 && p.max_fraction_until_expiry < 1.0)) {
    return BadPolicy("max_fraction_until_expiry", "must be in (0, 1)");
  }
  return Status::Ok();
}

Duration BackoffDelay(const BackoffInput& in) {
  const BackoffPolicy& p = in.policy;
  const int n = std::max(1, in.consecutive_failures);
  const double cap_s = ToSeconds(p.cap);
  const double floor_s = ToSeconds(p.floor);

  // pow() may overflow to +inf for long failure streaks; min() with the cap
  // brings it back, so no exponent bound is needed.
  double delay_s = std::min(ToSeconds(p.base) * std::pow(p.factor, n - 1), cap_s);
  const double u = ClampUnit(in.random ? in.random() : 0.5);
  delay_s *= 1.0 + p.jitter * (2.0 * u - 1.0);
  delay_s = std::min(delay_s, cap_s);

  if (in.not_after && *in.not_after > in.now) {
    const double left_s = ToSeconds(*in.not_after - in.now);
    delay_s = std::min(delay_s, std::max(floor_s, left_s * p.max_fraction_of_time_left));
    delay_s = std::max(delay_s, floor_s);
    return std::min(FromSeconds(delay_s), UntilExpiryBound(in));
  }
  delay_s = std::max(delay_s, floor_s);
  return FromSeconds(delay_s);
}

TimePoint NextAttemptAfterFailure(const BackoffInput& in) {
  TimePoint next = in.now + BackoffDelay(in);
  if (in.retry_after && *in.retry_after > next) next = *in.retry_after;
  if (in.not_after && *in.not_after > in.now) next = std::min(next, in.now + UntilExpiryBound(in));
  return next;
}

}  // namespace certkeeper::lifecycle
