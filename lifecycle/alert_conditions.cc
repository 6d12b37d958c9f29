#include "lifecycle/alert_conditions.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "base/text.h"

namespace certkeeper::lifecycle {

namespace {

std::string Bounded(std::string_view text) {
  std::string clean = SanitizeUtf8(text);
  if (clean.size() <= kMaxConditionDetailBytes) return clean;
  return std::string(Utf8Prefix(clean, kMaxConditionDetailBytes - 3)) + "...";
}

bool Chosen(const std::vector<std::string>& list, std::string_view value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

class Collector {
 public:
  Collector(const AlertSettings& alert, std::vector<AlertCondition>& out)
      : alert_(alert), out_(out) {}
  bool Wants(std::string_view event) const { return Chosen(alert_.events, event); }
  void Add(std::string_view event, std::string subject, std::string_view detail) {
    if (!Wants(event)) return;
    out_.push_back({std::string(event), std::move(subject), Bounded(detail)});
  }

 private:
  const AlertSettings& alert_;
  std::vector<AlertCondition>& out_;
};

std::string Percent(double fraction) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100);
  return buf;
}

// Why the live version counts as expiring, or "" when it does not.
std::string ExpiringReason(const CertificateView& c, const AlertSettings& alert, TimePoint now) {
  const VersionView& live = *c.live;
  const std::string expires = FormatRfc3339(live.not_after);
  if (now >= live.not_after) return "expired at " + expires;
  const Duration left = live.not_after - now;
  const Duration lifetime = live.not_after - live.not_before;
  std::string reason;
  if (c.renew_at && now >= *c.renew_at + alert.expiring_grace) {
    reason = "renewal was due at " + FormatRfc3339(*c.renew_at);
  }
  if (lifetime > Duration::zero()) {
    const double fraction = static_cast<double>(left.count()) / lifetime.count();
    if (fraction < alert.expiring_fraction) {
      reason += (reason.empty() ? "" : "; ") + Percent(fraction) + " of its lifetime left";
    }
  }
  if (reason.empty()) return "";
  return "expires at " + expires + " (in " + FormatDurationHuman(left) + "): " + reason;
}

const std::vector<StepView>* StepsOf(const CertificateView& c, const DeliverySteps& deliveries) {
  if (auto it = deliveries.find(c.name); it != deliveries.end()) return &it->second;
  return c.last_attempt ? &c.last_attempt->steps : nullptr;
}

// The newest failed step that is not a rollback.
const StepView* FailedStep(const std::vector<StepView>* steps) {
  if (!steps) return nullptr;
  for (auto it = steps->rbegin(); it != steps->rend(); ++it) {
    if (it->result == "failed" && it->kind != "rollback") return &*it;
  }
  return nullptr;
}

bool RolledBack(const std::vector<StepView>* steps) {
  return steps && std::any_of(steps->begin(), steps->end(), [](const StepView& s) {
           return s.kind == "rollback" && s.result == "ok";
         });
}

void CertificateConditions(const MonitorSnapshot& snap, const CertificateView& c,
                           const AlertSettings& alert, const DeliverySteps& deliveries,
                           Collector& out) {
  if (c.live && out.Wants("expiring")) {
    std::string reason = ExpiringReason(c, alert, snap.now);
    if (!reason.empty()) out.Add("expiring", c.name, reason);
  }
  if (c.consecutive_failures >= alert.failures) {
    std::string detail = std::to_string(c.consecutive_failures) + " failed attempts in a row";
    if (c.last_attempt && !c.last_attempt->error_detail.empty()) {
      detail += "; last: " + c.last_attempt->error_detail;
    }
    out.Add("renewal-failing", c.name, detail);
  }
  if (c.newest && c.newest->state == "deploy_failed") {
    std::string detail = "version " + std::to_string(c.newest->n) + " did not go live";
    const std::vector<StepView>* steps = StepsOf(c, deliveries);
    if (const StepView* step = FailedStep(steps)) {
      detail += ": " + step->kind + (step->identifier.empty() ? "" : " " + step->identifier) +
                " failed: " + step->error;
    }
    out.Add("deploy-failed", c.name, detail);
    if (RolledBack(steps)) {
      out.Add("rolled-back", c.name,
              "version " + std::to_string(c.newest->n) + " was rolled back; version " +
                  (c.live ? std::to_string(c.live->n) : std::string("none")) + " stays live");
    }
  }
  // A revocation is seen by the run that then replaces the certificate: the
  // condition covers the live version while it is revoked, and a replaced
  // version for a day after the answer came, so that the alert fires (and
  // resolves a day later) even when the same run renewed it.
  std::string revoked;
  if (c.live && c.live->state == "revoked") {
    revoked = "version " + std::to_string(c.live->n) + " revoked";
  }
  for (const RevocationView& r : snap.revocations) {
    if (!revoked.empty()) break;
    if (r.certificate != c.name || r.status != "revoked") continue;
    const bool is_live = c.live && r.version == c.live->n;
    if (!is_live && snap.now - r.checked_at >= kReplacedRevocationAlert) continue;
    revoked = "version " + std::to_string(r.version) + " revoked according to " + r.method +
              " (" + r.url + ")" + (r.reason.empty() ? "" : ", reason " + r.reason);
    if (!is_live) {
      revoked += c.live ? "; version " + std::to_string(c.live->n) + " replaces it"
                        : "; no version is live";
    }
  }
  if (!revoked.empty()) out.Add("revoked", c.name, revoked);
}

void ProbeConditions(const ProbeView& p, Collector& out) {
  const std::string where = p.address + (p.sni.empty() ? "" : " (" + p.sni + ")");
  if (p.live_match == "no") {
    out.Add("endpoint-mismatch", p.endpoint,
            where + " serves serial " + p.serial + ", not the live version of " + p.certificate);
  }
  std::string why;
  if (!p.ok) {
    why = "handshake failed";
  } else if (!p.chain_valid) {
    why = "served chain is not valid";
  } else if (!p.names_match) {
    why = "served names do not cover " + (p.sni.empty() ? p.address : p.sni);
  }
  if (!why.empty()) {
    out.Add("probe-failing", p.endpoint,
            where + ": " + why + (p.error.empty() ? "" : ": " + p.error));
  }
}

}  // namespace

bool IsDeliveryStep(const StepView& step, const CertificateView& c) {
  if (step.kind == "deploy-check" || step.kind == "verify" || step.kind == "rollback") {
    return true;
  }
  return !step.identifier.empty() &&
         std::find(c.deploy.begin(), c.deploy.end(), step.identifier) != c.deploy.end();
}

size_t AlertEventIndex(std::string_view event) {
  return static_cast<size_t>(std::find(kAlertEvents.begin(), kAlertEvents.end(), event) -
                             kAlertEvents.begin());
}

std::vector<AlertCondition> AlertConditions(const MonitorSnapshot& snapshot,
                                            const AlertSettings& alert,
                                            const DeliverySteps& deliveries) {
  std::vector<AlertCondition> out;
  Collector collect(alert, out);
  for (const CertificateView& c : snapshot.certificates) {
    if (Chosen(alert.certificates, c.name)) CertificateConditions(snapshot, c, alert, deliveries, collect);
  }
  for (const CaStatusView& ca : snapshot.cas) {
    if (ca.unreachable_runs < alert.ca_unreachable_runs) continue;
    collect.Add("ca-unreachable", ca.ca.empty() ? ca.server : ca.ca,
                ca.server + " unreachable for " + std::to_string(ca.unreachable_runs) +
                    " runs in a row" + (ca.last_error.empty() ? "" : "; last: " + ca.last_error));
  }
  for (const ProbeView& p : snapshot.probes) {
    if (!alert.certificates.empty() &&
        (p.certificate.empty() || !Chosen(alert.certificates, p.certificate))) {
      continue;
    }
    ProbeConditions(p, collect);
  }
  auto key = [](const AlertCondition& c) { return std::tie(c.event, c.subject); };
  std::sort(out.begin(), out.end(), [&](const AlertCondition& a, const AlertCondition& b) {
    size_t ia = AlertEventIndex(a.event), ib = AlertEventIndex(b.event);
    return ia != ib ? ia < ib : a.subject < b.subject;
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [&](const AlertCondition& a, const AlertCondition& b) {
                          return key(a) == key(b);
                        }),
            out.end());
  return out;
}

}  // namespace certkeeper::lifecycle
