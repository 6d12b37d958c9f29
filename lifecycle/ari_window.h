// ACME Renewal Information (RFC 9773): choosing a renewal time inside the CA's
// suggested window, and when to ask the CA again. Pure code: time and
// randomness are passed in.
#ifndef CERTKEEPER_LIFECYCLE_ARI_WINDOW_H_
#define CERTKEEPER_LIFECYCLE_ARI_WINDOW_H_

#include <chrono>
#include <optional>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/backoff.h"

namespace certkeeper::lifecycle {

// The suggestedWindow of a RenewalInfo object (RFC 9773 §4.2): renew at some
// time in [start, end).
struct AriWindow {
  TimePoint start;
  TimePoint end;
};

// kProtocol when end is not after start (RFC 9773 §4.2 requires end > start);
// `where` names the renewalInfo URL in the error.
Status ValidateAriWindow(const AriWindow& window, std::string_view where);

// A uniformly random time in [start, end), as RFC 9773 §4.2 asks, so that the
// CA's load spreads across the window. When the whole window is already in the
// past (end <= now) the result is `now`: renew immediately. A chosen time in the
// past inside a still-open window is returned as is; the caller treats it as
// due now. Precondition: window validated (start < end); otherwise `start`.
TimePoint ChooseRenewalTime(const AriWindow& window, TimePoint now, const UniformRandom& random);

struct AriRefetchPolicy {
  // Re-check interval when the CA sent no Retry-After.
  Duration default_interval = std::chrono::hours(6);
  // A Retry-After further away than this is shortened to it, so a wrong or
  // hostile header cannot silence renewal information for weeks (RFC 9773 §4.3
  // asks clients to keep their checking interval within reasonable limits).
  Duration max_interval = std::chrono::hours(24);
  // A Retry-After sooner than this is lengthened to it, so a CA answering
  // "Retry-After: 0" is not polled in a tight loop.
  Duration min_interval = std::chrono::minutes(1);
};

// When renewalInfo should next be fetched after a fetch at `now` (successful or
// not): now + default_interval without a Retry-After; with one, the Retry-After
// itself (RFC 9773 §4.3), bounded to [now + min_interval, now + max_interval].
TimePoint NextAriFetch(TimePoint now, std::optional<TimePoint> retry_after,
                       const AriRefetchPolicy& policy = {});

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ARI_WINDOW_H_
