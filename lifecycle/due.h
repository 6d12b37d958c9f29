// Is a managed certificate due for renewal, why, and when does it become due?
// Pure code: the caller gathers the facts (inventory, configuration, renewal
// information) and passes the time in.
#ifndef CERTKEEPER_LIFECYCLE_DUE_H_
#define CERTKEEPER_LIFECYCLE_DUE_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/crypto.h"
#include "lifecycle/ari_window.h"

namespace certkeeper::lifecycle {

// Why a certificate is (or is not) due; the first that applies, in this order.
enum class DueReason {
  kNotIssued,        // no version exists yet
  kRevoked,          // the live version was revoked
  kInvalidValidity,  // the live version's not_after is not after its not_before
  kExpired,          // now >= not_after
  kDomainsChanged,   // the managed definition names other domains than the live version
  kKeyTypeChanged,   // the managed definition asks for another key type
  kAriWindow,        // the CA's renewal information (RFC 9773) says renew now
  kRenewalWindow,    // the local renewal window has opened
  kNotDue,
};

// "not_issued", "revoked", "invalid_validity", "expired", "domains_changed",
// "key_type_changed", "ari_window", "renewal_window", "not_due": stable names
// for logs and --json.
std::string_view DueReasonName(DueReason reason);

// What the inventory knows about the live version.
struct LiveVersionFacts {
  TimePoint not_before;
  TimePoint not_after;
  bool revoked = false;
  std::vector<std::string> domains;
  KeyType key_type = KeyType::kEc256;
};

// A renewal information window and the time chosen inside it with
// ChooseRenewalTime. The chosen time is stored by the caller with the window so
// that it stays the same across runs until the window changes.
struct AriSchedule {
  AriWindow window;
  TimePoint chosen;
};

struct DueInput {
  TimePoint now;
  // The managed definition (configuration): domains in any order and case.
  std::vector<std::string> domains;
  KeyType key_type = KeyType::kEc256;
  // Unset when no version was ever issued.
  std::optional<LiveVersionFacts> live;
  // The newest version that was deployed has been revoked since. The store no
  // longer counts a revoked version as live, so `live` is then an older
  // deployed version or unset, while live/<name> and the targets may still
  // hold the revoked one: due at once with reason "revoked", before any other
  // reason (also before kNotIssued).
  bool newest_deployed_revoked = false;
  // Renew when less than this is left before not_after. Unset (or not positive,
  // or not shorter than the lifetime): renew when less than a third of the
  // lifetime is left, which gives 30 days for 90-day and 15 days for 45-day
  // certificates. A short-lived certificate (lifetime under
  // kShortLivedLifetime) renews at half its lifetime: 3 days for 6-day and 6
  // hours for 12-hour certificates, so that a failed attempt still leaves half
  // the lifetime for retries; renew_before applies to it only when it asks for
  // an earlier renewal than that.
  std::optional<Duration> renew_before;
  // Renewal information from the CA; when present and plausible it replaces the
  // local renewal window (RFC 9773 §4.2). Ignored when the window is empty or
  // its chosen time is at or after the live version's not_after.
  std::optional<AriSchedule> ari;
  // A per-certificate value in [0, 1) (see StableJitterFraction) that moves the
  // local renewal time earlier by that fraction of MaxJitter(lifetime), so
  // that certificates issued together do not all renew in the same run.
  double jitter_fraction = 0.0;
};

struct DueDecision {
  bool due = false;
  DueReason why = DueReason::kNotDue;
  // One line for people: "expires in 9d (renew window opened 2d ago)".
  std::string reason;
  // When the certificate is or became due. Invariant: due == (renew_at <= now).
  TimePoint renew_at;
};

// Certificates with a lifetime under this renew at half their lifetime.
inline constexpr Duration kShortLivedLifetime = std::chrono::hours(24 * 10);

// The jitter never moves renewal by more than this fraction of the lifetime...
inline constexpr double kMaxJitterFractionOfLifetime = 0.02;
// ...nor by more than this.
inline constexpr Duration kMaxJitterCap = std::chrono::hours(4);

// min(lifetime * kMaxJitterFractionOfLifetime, kMaxJitterCap); zero for a
// non-positive lifetime.
Duration MaxJitter(Duration lifetime);

DueDecision ComputeDue(const DueInput& input);

// How `check` judges a live version's expiry, relative to its lifetime and its
// renewal schedule rather than to a fixed number of days: a fresh 12-hour
// certificate is as healthy as a fresh 90-day one.
struct ExpiryHealthInput {
  TimePoint now;
  TimePoint not_before;
  TimePoint not_after;
  // When the certificate is (or became) due: DueDecision::renew_at.
  TimePoint renew_at;
  // The earliest time the schedule lets the next attempt start (backoff after
  // failures, the CA's Retry-After); unset when nothing holds it back.
  std::optional<TimePoint> next_attempt;
  // How often `renew` runs (the timer), when known. The attempt that could
  // replace the certificate starts at the first run after it is allowed.
  std::optional<Duration> run_interval;
};

enum class ExpiryHealth { kHealthy, kWarning, kError };

struct ExpiryVerdict {
  ExpiryHealth health = ExpiryHealth::kHealthy;
  std::string message;  // empty when healthy
};

// The margin past renew_at after which a certificate not yet renewed is a
// warning: a tenth of the lifetime, but at most half of the time from renew_at
// to not_after (so that a late renew_before still warns before the expiry).
// 9 days for a 90-day certificate renewing at 30 days left, 1h 12m for a
// 12-hour one.
Duration LateRenewalMargin(Duration lifetime, Duration renew_at_to_expiry);

// kError when expired, when the validity period is invalid, or when the next
// attempt the schedule allows (max(now, renew_at, next_attempt), plus
// run_interval when known) is not before not_after; kWarning when now is
// later than renew_at + LateRenewalMargin; otherwise kHealthy. The message
// says when it expires only for an error or a warning.
ExpiryVerdict AssessExpiry(const ExpiryHealthInput& input);

// A value in [0, 1) derived from the certificate's name (FNV-1a), stable across
// runs and machines, for DueInput::jitter_fraction.
double StableJitterFraction(std::string_view certificate_name);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_DUE_H_
