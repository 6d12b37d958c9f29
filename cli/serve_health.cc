#include "cli/serve_health.h"

#include <nlohmann/json.hpp>

#include "base/text.h"
#include "cli/output.h"

namespace certkeeper::cli {

namespace {

std::string CertificateReason(const lifecycle::CertificateView& c, TimePoint now) {
  const std::string prefix = "certificate " + c.name + ": ";
  std::string why = c.status_reason;
  if (why.empty() && c.last_attempt) why = c.last_attempt->error_detail;
  if (c.status == "failing") return prefix + "failing" + (why.empty() ? "" : ": " + why);
  if (c.status == "expired" || (c.live && c.live->not_after <= now)) {
    return prefix + "expired" +
           (c.live ? " at " + FormatRfc3339(c.live->not_after) : std::string());
  }
  if (c.live && c.renew_at && now > *c.renew_at + kRenewOverdueGrace) {
    return prefix + "past its renewal time " + FormatRfc3339(*c.renew_at) + " and not renewed";
  }
  return "";
}

}  // namespace

Health EvaluateHealth(const lifecycle::MonitorSnapshot& snapshot) {
  Health h;
  for (const lifecycle::CertificateView& c : snapshot.certificates) {
    std::string reason = CertificateReason(c, snapshot.now);
    if (!reason.empty()) h.reasons.push_back(std::move(reason));
  }
  for (const lifecycle::RevocationView& r : snapshot.revocations) {
    if (r.status == "revoked") {
      h.reasons.push_back("certificate " + r.certificate + ": version " +
                          std::to_string(r.version) + " revoked (" + r.method + ")");
    }
  }
  for (const lifecycle::CaStatusView& ca : snapshot.cas) {
    if (ca.up) continue;
    std::string name = ca.ca.empty() ? ca.server : ca.ca + " (" + ca.server + ")";
    h.reasons.push_back("ca " + name + ": unreachable for " + std::to_string(ca.unreachable_runs) +
                        " run(s)" + (ca.last_error.empty() ? "" : ": " + ca.last_error));
  }
  for (const lifecycle::ProbeView& p : snapshot.probes) {
    if (p.ok && p.error.empty()) continue;
    h.reasons.push_back("endpoint " + p.endpoint + ": probe " + (p.ok ? "found: " : "failed: ") +
                        (p.error.empty() ? "no handshake" : p.error));
  }
  return h;
}

Health UnreadableHealth(const Status& error) {
  Health h;
  h.reasons.push_back("inventory unreadable: " + error.ToString());
  return h;
}

std::string HealthText(const Health& health) {
  if (health.ok()) return "ok\n";
  std::string out = "degraded\n";
  for (const std::string& r : health.reasons) out += EscapeForTerminal(r) + "\n";
  return out;
}

std::string HealthJson(const Health& health) {
  nlohmann::json j = {{"status", health.ok() ? "ok" : "degraded"},
                      {"reasons", health.reasons}};
  return DumpJson(j) + "\n";
}

}  // namespace certkeeper::cli
