#include "cli/probe_output.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "base/text.h"
#include "cli/output.h"

namespace certkeeper::cli {

namespace {

using nlohmann::json;

// Whole days until not_after (negative once expired); nullopt without a leaf.
std::optional<int64_t> DaysLeft(const lifecycle::ProbeView& p, TimePoint now) {
  if (!p.not_after) return std::nullopt;
  auto left = std::chrono::duration_cast<std::chrono::seconds>(*p.not_after - now).count();
  return static_cast<int64_t>(std::floor(static_cast<double>(left) / 86400.0));
}

std::string Milliseconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", seconds * 1000.0);
  return buf;
}

// Pads columns to the widest cell; the last column is not padded.
std::string Table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string ProbeResult(const lifecycle::ProbeView& p) {
  if (!p.ok) return "failed";
  return p.names_match && p.chain_valid && p.live_match != "no" ? "ok" : "mismatch";
}

json ToJson(const lifecycle::ProbeView& p, TimePoint now) {
  std::optional<int64_t> days = DaysLeft(p, now);
  return json{{"endpoint", p.endpoint},
              {"address", p.address},
              {"sni", p.sni.empty() ? json(nullptr) : json(p.sni)},
              {"certificate", p.certificate.empty() ? json(nullptr) : json(p.certificate)},
              {"at", FormatRfc3339(p.at)},
              {"result", ProbeResult(p)},
              {"ok", p.ok},
              {"error", p.error.empty() ? json(nullptr) : json(p.error)},
              {"handshake_ms", std::round(p.handshake_seconds * 1e4) / 10.0},
              {"serial", p.serial.empty() ? json(nullptr) : json(p.serial)},
              {"fingerprint_sha256", p.fingerprint.empty() ? json(nullptr) : json(p.fingerprint)},
              {"issuer", p.issuer.empty() ? json(nullptr) : json(p.issuer)},
              {"names", p.names},
              {"not_before", TimeOrNull(p.not_before)},
              {"not_after", TimeOrNull(p.not_after)},
              {"days_left", days ? json(*days) : json(nullptr)},
              {"names_match", p.names_match},
              {"chain_valid", p.chain_valid},
              {"live_match", p.live_match.empty() ? json(nullptr) : json(p.live_match)}};
}

std::string RenderProbes(const std::vector<lifecycle::ProbeView>& probes, TimePoint now,
                         const std::string& indent) {
  std::vector<std::vector<std::string>> rows = {
      {"ADDRESS", "SNI", "RESULT", "DAYS", "LIVE", "MS", "ERROR"}};
  for (const lifecycle::ProbeView& p : probes) {
    std::optional<int64_t> days = DaysLeft(p, now);
    std::string days_text = !days                                 ? "-"
                            : p.not_after && *p.not_after <= now ? "expired"
                                                                 : std::to_string(*days);
    rows.push_back({EscapeForTerminal(p.address), p.sni.empty() ? "-" : EscapeForTerminal(p.sni),
                    ProbeResult(p), days_text,
                    p.live_match.empty() ? "-" : EscapeForTerminal(p.live_match),
                    p.ok ? Milliseconds(p.handshake_seconds) : "-",
                    EscapeForTerminal(p.error)});
  }
  return Table(rows, indent);
}

Result<std::vector<lifecycle::ProbeView>> LatestProbesFor(lifecycle::Engine& engine,
                                                          const lifecycle::Config& config,
                                                          const std::string& name) {
  std::vector<lifecycle::ProbeView> out;
  std::vector<std::string> keys;
  for (const lifecycle::EndpointSettings& e : config.endpoints) {
    if (e.certificate == name) keys.push_back(e.Key());
  }
  if (keys.empty()) return out;
  CK_ASSIGN_OR_RETURN(lifecycle::MonitorSnapshot snap, engine.Snapshot());
  for (const std::string& key : keys) {
    for (const lifecycle::ProbeView& p : snap.probes) {
      if (p.endpoint == key) out.push_back(p);
    }
  }
  return out;
}

std::string RenderShowProbes(const std::vector<lifecycle::ProbeView>& probes, TimePoint now) {
  if (probes.empty()) return "";
  return "\nEndpoints (last probe):\n" + RenderProbes(probes, now, "  ");
}

}  // namespace certkeeper::cli
