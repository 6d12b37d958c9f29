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
  // Renew when less than this is left before not_after. Unset (or not positive,
  // or not shorter than the lifetime): renew when less than a third of the
  // lifetime is left, which gives 30 days for 90-day, 15 days for 45-day and 2
  // days for 6-day certificates.
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

// The jitter never moves renewal by more than this fraction of the lifetime...
inline constexpr double kMaxJitterFractionOfLifetime = 0.02;
// ...nor by more than this.
inline constexpr Duration kMaxJitterCap = std::chrono::hours(4);

// min(lifetime * kMaxJitterFractionOfLifetime, kMaxJitterCap); zero for a
// non-positive lifetime.
Duration MaxJitter(Duration lifetime);

DueDecision ComputeDue(const DueInput& input);

// A value in [0, 1) derived from the certificate's name (FNV-1a), stable across
// runs and machines, for DueInput::jitter_fraction.
double StableJitterFraction(std::string_view certificate_name);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_DUE_H_
