#include "cli/command_context.h"

namespace certkeeper::cli {

int CmdMetrics(CommandContext& ctx, const std::vector<std::string>&) {
  return ctx.Fail(Status(ErrorCode::kInternal, "metrics is not built yet"), 2);
}

}  // namespace certkeeper::cli
