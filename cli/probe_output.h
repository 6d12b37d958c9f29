// Rendering endpoint probes (lifecycle/prober.h) for `probe` and `show NAME`.
// Every string that came from a probed server (issuer, SAN names, error text
// holding a TLS alert) is escaped with EscapeForTerminal in text output; --json
// carries the raw strings (valid UTF-8, as the inventory keeps them).
#ifndef CERTKEEPER_CLI_PROBE_OUTPUT_H_
#define CERTKEEPER_CLI_PROBE_OUTPUT_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/config.h"
#include "lifecycle/engine.h"
#include "lifecycle/monitor.h"

namespace certkeeper::cli {

// "ok": handshake done, names and chain valid, and the live version when the
// endpoint names a certificate that has one; "failed": no handshake;
// "mismatch": anything else.
std::string ProbeResult(const lifecycle::ProbeView& p);

// The object documented in docs/probes.md ("Output").
nlohmann::json ToJson(const lifecycle::ProbeView& p, TimePoint now);

// A table: ADDRESS SNI RESULT DAYS LIVE MS ERROR, one row per probe, in order;
// `indent` prefixes each line.
std::string RenderProbes(const std::vector<lifecycle::ProbeView>& probes, TimePoint now,
                         const std::string& indent = "");

// For `show NAME`: the newest recorded probe of each configured [[endpoint]]
// whose `certificate` is `name`, in config order (an endpoint never probed
// is left out). Reads only; nothing is read when no endpoint names `name`.
Result<std::vector<lifecycle::ProbeView>> LatestProbesFor(lifecycle::Engine& engine,
                                                          const lifecycle::Config& config,
                                                          const std::string& name);
// The "Endpoints:" section of `show NAME`; "" when there is no probe.
std::string RenderShowProbes(const std::vector<lifecycle::ProbeView>& probes, TimePoint now);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_PROBE_OUTPUT_H_
