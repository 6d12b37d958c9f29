// What a command implemented outside app.cc gets from the command line: the
// parsed options, the loaded config, the engine, and the one way to print and
// to fail (errors are printed once, here at the edge).
#ifndef CERTKEEPER_CLI_COMMAND_CONTEXT_H_
#define CERTKEEPER_CLI_COMMAND_CONTEXT_H_

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "cli/commands.h"
#include "lifecycle/config.h"
#include "lifecycle/engine.h"

namespace certkeeper::cli {

class CommandContext {
 public:
  virtual ~CommandContext() = default;
  virtual const GlobalValues& globals() const = 0;
  virtual const CommandValues& values() const = 0;
  virtual const lifecycle::Config& config() const = 0;
  virtual Result<std::unique_ptr<lifecycle::Engine>> OpenEngine() = 0;
  // Prints s (JSON with --json) to the right stream and returns code.
  virtual int Fail(const Status& s, int code) = 0;
  // The exit code for an error: 3 locked, 1 usage, else 2.
  virtual int ExitFor(const Status& s) const = 0;
  virtual void Print(const std::string& text) = 0;
  virtual void PrintJson(const nlohmann::json& j) = 0;
};

// cli/cmd_metrics.cc, cli/cmd_serve.cc, cli/cmd_probe.cc
int CmdMetrics(CommandContext& ctx, const std::vector<std::string>& args);
int CmdServe(CommandContext& ctx, const std::vector<std::string>& args);
int CmdProbe(CommandContext& ctx, const std::vector<std::string>& args);
int CmdAlerts(CommandContext& ctx, const std::vector<std::string>& args);  // cli/cmd_alerts.cc
int CmdStore(CommandContext& ctx, const std::vector<std::string>& args);   // cli/cmd_store.cc
int CmdImportFrom(CommandContext& ctx, const std::vector<std::string>& args);  // cli/cmd_import.cc

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_COMMAND_CONTEXT_H_
