#include "lifecycle/due.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "lifecycle/backoff.h"

namespace certkeeper::lifecycle {

namespace {

std::string NormalizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::set<std::string> NameSet(const std::vector<std::string>& names) {
  std::set<std::string> out;
  for (const std::string& name : names) out.insert(NormalizeName(name));
  return out;
}

// "+new.example.com -old.example.com", empty when the sets are equal.
std::string DomainDiff(const std::vector<std::string>& wanted,
                       const std::vector<std::string>& live) {
  if (wanted == live) return "";  // the usual case, without two sets per certificate
  const std::set<std::string> want = NameSet(wanted);
  const std::set<std::string> have = NameSet(live);
  std::string diff;
  for (const std::string& name : want) {
    if (!have.count(name)) diff += (diff.empty() ? "+" : " +") + name;
  }
  for (const std::string& name : have) {
    if (!want.count(name)) diff += (diff.empty() ? "-" : " -") + name;
  }
  return diff;
}

DueDecision Due(DueReason why, std::string reason, TimePoint renew_at) {
  return DueDecision{true, why, std::move(reason), renew_at};
}

// "valid for 3d 4h more; renews from <renew_at><note>": every certificate
// that is not due gets one, so it is built in one string.
std::string NotDueReason(Duration left, TimePoint renew_at, std::string_view note) {
  std::string reason;
  reason.reserve(64 + note.size());
  reason += "valid for ";
  AppendDurationHuman(reason, left);
  reason += " more; renews from ";
  AppendRfc3339(reason, renew_at);
  reason += note;
  return reason;
}

std::string WindowText(const AriWindow& w) {
  return FormatRfc3339(w.start) + " to " + FormatRfc3339(w.end);
}

// How long before not_after the local window opens (DueInput::renew_before);
// appends to note why a configured renew_before was not used.
Duration RenewBefore(Duration lifetime, const std::optional<Duration>& renew_before,
                     std::string& note) {
  const bool fits = renew_before && *renew_before > Duration::zero() && *renew_before < lifetime;
  if (lifetime < kShortLivedLifetime) {
    // A short-lived certificate renews at half its lifetime, or earlier when
    // renew_before asks for it, never later: what is left after the window
    // opens is the time failures have to be retried in.
    const Duration half = lifetime / 2;
    return fits && *renew_before > half ? *renew_before : half;
  }
  if (fits) return *renew_before;
  if (renew_before) {
    note += " (renew_before " + FormatDurationHuman(*renew_before) + " does not fit the " +
            FormatDurationHuman(lifetime) + " lifetime; using the last third)";
  }
  return lifetime / 3;
}

}  // namespace

std::string_view DueReasonName(DueReason reason) {
  switch (reason) {
    case DueReason::kNotIssued:
      return "not_issued";
    case DueReason::kRevoked:
      return "revoked";
    case DueReason::kInvalidValidity:
      return "invalid_validity";
    case DueReason::kExpired:
      return "expired";
    case DueReason::kDomainsChanged:
      return "domains_changed";
    case DueReason::kKeyTypeChanged:
      return "key_type_changed";
    case DueReason::kAriWindow:
      return "ari_window";
    case DueReason::kRenewalWindow:
      return "renewal_window";
    case DueReason::kNotDue:
      return "not_due";
  }
  return "unknown";
}

Duration MaxJitter(Duration lifetime) {
  if (lifetime <= Duration::zero()) return Duration::zero();
  const auto by_fraction =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, Duration::period>(
          static_cast<double>(lifetime.count()) * kMaxJitterFractionOfLifetime));
  return std::min(by_fraction, kMaxJitterCap);
}

DueDecision ComputeDue(const DueInput& in) {
  const TimePoint now = in.now;
  if (in.newest_deployed_revoked || (in.live && in.live->revoked)) {
    return Due(DueReason::kRevoked, "revoked", now);
  }
  if (!in.live) return Due(DueReason::kNotIssued, "not yet issued", now);
  const LiveVersionFacts& live = *in.live;

  const Duration lifetime = live.not_after - live.not_before;
  if (lifetime <= Duration::zero()) {
    return Due(DueReason::kInvalidValidity,
               "live version has an invalid validity period (not_before " +
                   FormatRfc3339(live.not_before) + ", not_after " + FormatRfc3339(live.not_after) +
                   ")",
               now);
  }
  if (now >= live.not_after) {
    return Due(DueReason::kExpired, "expired " + FormatDurationHuman(now - live.not_after) + " ago",
               live.not_after);
  }
  if (std::string diff = DomainDiff(in.domains, live.domains); !diff.empty()) {
    return Due(DueReason::kDomainsChanged, "domains changed: " + diff, now);
  }
  if (in.key_type != live.key_type) {
    return Due(DueReason::kKeyTypeChanged,
               "key type changed " + std::string(KeyTypeName(live.key_type)) + " -> " +
                   std::string(KeyTypeName(in.key_type)),
               now);
  }

  std::string note;
  if (in.ari) {
    const AriWindow& w = in.ari->window;
    if (w.end <= w.start) {
      note = " (renewal information ignored: its window is empty)";
    } else {
      // RFC 9773 §4.2: renew at the chosen time; a window entirely in the past
      // means renew now.
      const TimePoint at = std::clamp(in.ari->chosen, w.start, w.end - Duration(1));
      if (w.end <= now) {
        return Due(DueReason::kAriWindow,
                   "renewal information window: " + WindowText(w) + " has passed",
                   std::min(at, now));
      }
      if (at < live.not_after) {
        if (at <= now) {
          return Due(DueReason::kAriWindow,
                     "renewal information window: " + WindowText(w) + " (chosen time " +
                         FormatRfc3339(at) + " reached)",
                     at);
        }
        return DueDecision{false, DueReason::kNotDue,
                           NotDueReason(live.not_after - now, at,
                                        " (renewal information window: " + WindowText(w) + ")"),
                           at};
      }
      note = " (renewal information ignored: its window " + WindowText(w) +
             " suggests renewing after expiry)";
    }
  }

  const Duration before = RenewBefore(lifetime, in.renew_before, note);
  const double fraction = ClampUnit(in.jitter_fraction);
  const auto jitter =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, Duration::period>(
          static_cast<double>(MaxJitter(lifetime).count()) * fraction));
  const TimePoint renew_at = std::max(live.not_after - before - jitter, live.not_before);

  if (renew_at <= now) {
    return Due(DueReason::kRenewalWindow,
               "expires in " + FormatDurationHuman(live.not_after - now) +
                   " (renew window opened " + FormatDurationHuman(now - renew_at) + " ago)" + note,
               renew_at);
  }
  return DueDecision{false, DueReason::kNotDue,
                     NotDueReason(live.not_after - now, renew_at, note), renew_at};
}

Duration LateRenewalMargin(Duration lifetime, Duration renew_at_to_expiry) {
  if (lifetime <= Duration::zero()) return Duration::zero();
  return std::clamp(renew_at_to_expiry / 2, Duration::zero(), lifetime / 10);
}

ExpiryVerdict AssessExpiry(const ExpiryHealthInput& in) {
  const TimePoint now = in.now;
  if (in.not_after <= in.not_before) {
    return {ExpiryHealth::kError, "invalid validity period (not_before " +
                                      FormatRfc3339(in.not_before) + ", not_after " +
                                      FormatRfc3339(in.not_after) + ")"};
  }
  if (in.not_after <= now) {
    return {ExpiryHealth::kError, "expired at " + FormatRfc3339(in.not_after)};
  }
  const std::string expires = "expires in " + FormatDurationHuman(in.not_after - now);
  TimePoint next = std::max(now, in.renew_at);
  if (in.next_attempt) next = std::max(next, *in.next_attempt);
  const TimePoint could_replace = next + in.run_interval.value_or(Duration::zero());
  if (could_replace >= in.not_after) {
    std::string when = "the next renewal attempt is not before " + FormatRfc3339(next);
    if (in.run_interval) {
      when += " plus up to " + FormatDurationHuman(*in.run_interval) + " until the next run";
    }
    return {ExpiryHealth::kError,
            expires + " (" + FormatRfc3339(in.not_after) + "), before it can be renewed: " + when};
  }
  const Duration margin =
      LateRenewalMargin(in.not_after - in.not_before, in.not_after - in.renew_at);
  if (now > in.renew_at + margin) {
    return {ExpiryHealth::kWarning, expires + " and is not renewed: due since " +
                                        FormatRfc3339(in.renew_at) + " (" +
                                        FormatDurationHuman(now - in.renew_at) + " ago)"};
  }
  return {};
}

double StableJitterFraction(std::string_view certificate_name) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a offset basis
  for (unsigned char c : certificate_name) {
    hash ^= c;
    hash *= 1099511628211ull;  // FNV prime
  }
  // The top 53 bits, scaled into [0, 1) exactly representable as a double.
  return static_cast<double>(hash >> 11) / 9007199254740992.0;
}

}  // namespace certkeeper::lifecycle
