#include "cli/command_context.h"

namespace certkeeper::cli {

int CmdServe(CommandContext& ctx, const std::vector<std::string>&) {
  return ctx.Fail(Status(ErrorCode::kInternal, "serve is not built yet"), 2);
}

}  // namespace certkeeper::cli
