// `certkeeper probe`: connects to every [[endpoint]] and reports what it
// serves (docs/probes.md). Exit codes: 0 every endpoint is fine, 2 at least one
// failed, serves a chain that does not verify or names that do not cover its
// SNI, or is not the live version; 1 usage or configuration errors, among them
// a config without any [[endpoint]] (asking to probe nothing is a mistake
// worth seeing, not a success). Probes do not wait for the run lock: the
// alerts they evaluate take it only when it is free.
#include <algorithm>

#include "base/clock.h"
#include "cli/app.h"
#include "cli/command_context.h"
#include "cli/probe_output.h"
#include "lifecycle/monitor.h"

namespace certkeeper::cli {

int CmdProbe(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) {
    return ctx.Fail(Status(ErrorCode::kInvalidArgument, "probe takes no arguments")
                        .Hint("usage: certkeeper probe; the endpoints come from the config"),
                    kExitUsage);
  }
  if (ctx.config().endpoints.empty()) {
    return ctx.Fail(Status(ErrorCode::kInvalidArgument, "no [[endpoint]] is configured")
                        .Hint("add one per TLS server to probe, e.g.\n"
                              "  [[endpoint]]\n  address = \"203.0.113.10:443\"\n"
                              "  sni = \"www.example.com\"\n  certificate = \"web\""),
                    kExitUsage);
  }
  auto engine = ctx.OpenEngine();
  if (!engine.ok()) return ctx.Fail(engine.status(), ctx.ExitFor(engine.status()));
  auto probes = (*engine)->Probe();
  if (!probes.ok()) return ctx.Fail(probes.status(), ctx.ExitFor(probes.status()));
  const TimePoint now = RealClock()->Now();
  if (ctx.globals().json) {
    nlohmann::json out = nlohmann::json::array();
    for (const lifecycle::ProbeView& p : *probes) out.push_back(ToJson(p, now));
    ctx.PrintJson(out);
  } else {
    ctx.Print(RenderProbes(*probes, now));
  }
  const bool all_ok = std::all_of(probes->begin(), probes->end(), [](const auto& p) {
    return ProbeResult(p) == "ok";
  });
  return all_ok ? kExitOk : kExitFailed;
}

}  // namespace certkeeper::cli
