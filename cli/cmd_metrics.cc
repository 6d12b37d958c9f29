// `certkeeper metrics [--textfile PATH]`: the Prometheus exposition of a
// fresh snapshot, on stdout or written atomically for node_exporter's
// textfile collector. Reads only: no lease, nothing sent to the CA.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cli/app.h"
#include "cli/command_context.h"
#include "lifecycle/metrics.h"

namespace certkeeper::cli {

namespace {

// The sample lines of an exposition (every line that is not a comment).
size_t CountSeries(std::string_view text) {
  size_t n = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos && text[pos] != '#') ++n;
    pos = end + 1;
  }
  return n;
}

}  // namespace

int CmdMetrics(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) {
    return ctx.Fail(Status(ErrorCode::kInvalidArgument, "metrics takes no arguments")
                        .Where(args.front())
                        .Hint("write the metrics to a file with --textfile PATH"),
                    kExitUsage);
  }
  auto engine = ctx.OpenEngine();
  if (!engine.ok()) return ctx.Fail(engine.status(), ctx.ExitFor(engine.status()));
  auto snapshot = (*engine)->Snapshot();
  if (!snapshot.ok()) return ctx.Fail(snapshot.status(), ctx.ExitFor(snapshot.status()));
  const std::string text = lifecycle::RenderMetrics(*snapshot);
  const std::string& textfile = ctx.values().textfile;
  if (textfile.empty()) {
    ctx.Print(text);
    return kExitOk;
  }
  Status written = lifecycle::WriteMetricsTextfile(textfile, text);
  if (!written.ok()) return ctx.Fail(written, kExitFailed);
  const size_t series = CountSeries(text);
  if (ctx.globals().json) {
    ctx.PrintJson({{"textfile", textfile}, {"series", series}});
  } else if (!ctx.globals().quiet) {
    ctx.Print("wrote " + std::to_string(series) + " series to " + textfile + "\n");
  }
  return kExitOk;
}

}  // namespace certkeeper::cli
