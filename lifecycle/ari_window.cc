#include "lifecycle/ari_window.h"

#include <algorithm>
#include <string>

namespace certkeeper::lifecycle {

Status ValidateAriWindow(const AriWindow& window, std::string_view where) {
  if (window.end <= window.start) {
    return Status(ErrorCode::kProtocol, "renewal information has an empty suggestedWindow: start " +
                                            FormatRfc3339(window.start) + " is not before end " +
                                            FormatRfc3339(window.end))
        .Where(std::string(where))
        .Hint(
            "the CA sent malformed renewal information; the local renewal "
            "schedule is used instead");
  }
  return Status::Ok();
}

TimePoint ChooseRenewalTime(const AriWindow& window, TimePoint now, const UniformRandom& random) {
  if (window.end <= window.start) return window.start;
  if (window.end <= now) return now;
  const double u = ClampUnit(random ? random() : 0.0);
  const auto span = window.end - window.start;
  auto offset = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, Duration::period>(u * static_cast<double>(span.count())));
  // Rounding of u close to 1 must not land on `end`, which is outside the window.
  offset = std::min(offset, span - Duration(1));
  return window.start + std::max(offset, Duration::zero());
}

TimePoint NextAriFetch(TimePoint now, std::optional<TimePoint> retry_after,
                       const AriRefetchPolicy& policy) {
  if (!retry_after) return now + policy.default_interval;
  const TimePoint earliest = now + policy.min_interval;
  const TimePoint latest = std::max(earliest, now + policy.max_interval);
  return std::clamp(*retry_after, earliest, latest);
}

}  // namespace certkeeper::lifecycle
