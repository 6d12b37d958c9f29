// `certkeeper alerts`: the alert conditions the inventory tracks (docs/alerts.md).
// Reads only: the alerts are evaluated, and notified, by `renew` and `probe`.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/text.h"
#include "cli/app.h"
#include "cli/command_context.h"
#include "lifecycle/monitor.h"

namespace certkeeper::cli {

namespace {

nlohmann::json OptionalTime(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(FormatRfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json ToJson(const lifecycle::AlertStateView& a) {
  return {{"alert", a.alert},         {"event", a.event},
          {"subject", a.subject},     {"state", a.state},
          {"since", FormatRfc3339(a.since)},
          {"ended_at", OptionalTime(a.ended_at)},
          {"detail", a.detail},       {"notified", a.notified},
          {"failures", a.failures},   {"next_try_at", OptionalTime(a.next_try_at)},
          {"last_error", a.last_error}};
}

// One line per condition; every field may hold outside text (names, CA
// errors), so all of it is escaped for the terminal.
std::string Render(const std::vector<lifecycle::AlertStateView>& alerts) {
  if (alerts.empty()) return "No alert condition is tracked.\n";
  std::string out;
  for (const lifecycle::AlertStateView& a : alerts) {
    std::string line = a.alert + ": " + a.event + " " + a.subject + ": " + a.state + " since " +
                       FormatRfc3339(a.since) + (a.notified ? ", notified" : ", not notified yet");
    if (a.failures > 0) {
      line += ", " + std::to_string(a.failures) + " failed deliveries (last: " + a.last_error +
              ")";
    }
    if (a.next_try_at) line += ", next try " + FormatRfc3339(*a.next_try_at);
    out += EscapeForTerminal(line) + "\n";
    if (!a.detail.empty()) out += "    " + EscapeForTerminal(a.detail) + "\n";
  }
  return out;
}

}  // namespace

int CmdAlerts(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) {
    return ctx.Fail(Status(ErrorCode::kInvalidArgument, "alerts takes no arguments")
                        .Hint("usage: certkeeper alerts; the alerts come from the config"),
                    kExitUsage);
  }
  auto engine = ctx.OpenEngine();
  if (!engine.ok()) return ctx.Fail(engine.status(), ctx.ExitFor(engine.status()));
  auto snapshot = (*engine)->Snapshot();
  if (!snapshot.ok()) return ctx.Fail(snapshot.status(), ctx.ExitFor(snapshot.status()));
  if (ctx.globals().json) {
    nlohmann::json out = nlohmann::json::array();
    for (const lifecycle::AlertStateView& a : snapshot->alerts) out.push_back(ToJson(a));
    ctx.PrintJson(out);
  } else {
    ctx.Print(Render(snapshot->alerts));
  }
  return kExitOk;
}

}  // namespace certkeeper::cli
