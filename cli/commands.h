// The command table of the certkeeper command line (ARCHITECTURE.md, "CLI
// contract"): every command's name, usage, description and options.
//
// Contract:
//  - The Boost.Program_options descriptions returned here are the ones the
//    parser uses (app.cc) AND the ones the help prints, so the help MUST NOT
//    name an option the parser does not take, or miss one it does.
//  - Help is pure text: nothing here reads the config, the environment or the
//    inventory, so `COMMAND --help` works on a host with no config at all.
#ifndef CERTKEEPER_CLI_COMMANDS_H_
#define CERTKEEPER_CLI_COMMANDS_H_

#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options.hpp>

#include "base/status.h"

namespace certkeeper::cli {

// Values of the global options, filled in by the parser.
struct GlobalValues {
  std::string config_path;
  std::string state_dir;
  std::string server;
  bool staging = false;
  std::string ca_bundle;
  std::string email;
  bool agree_tos = false;
  bool allow_insecure_http = false;
  bool json = false;
  bool verbose = false;
  bool quiet = false;
};

// Values of the command options (each command binds only its own).
struct CommandValues {
  std::vector<std::string> domains, deploy;
  std::string challenge_list, key_type = "ec256", reason = "unspecified";
  int jobs = 1;
  bool all = false, force = false, dry_run = false;
  std::string textfile;                           // metrics
  std::string listen, renew_every, probe_every;  // serve
  std::string store_to, password_file, key_file;  // store copy
  std::string from, write_config;                 // import --from
};

// An action of a command that has them (`account register`, ...).
struct ActionInfo {
  std::string_view name;
  std::string_view summary;      // one line in the command's help
  std::string_view description;  // one paragraph in the action's own help
};

struct CommandInfo {
  std::string_view name;
  std::string_view usage;        // what follows "usage: certkeeper [GLOBAL OPTIONS] "
  std::string_view summary;      // one line in `certkeeper --help`
  std::string_view description;  // one paragraph in `certkeeper NAME --help`
  std::vector<ActionInfo> actions;
};

// Every command, in the order `certkeeper --help` lists them.
const std::vector<CommandInfo>& Commands();
// nullptr when there is no such command (or action).
const CommandInfo* FindCommandInfo(std::string_view name);
const ActionInfo* FindAction(const CommandInfo& command, std::string_view name);
// "issue, renew, ..., help": for error messages.
std::string CommandNames();
std::string ActionNames(const CommandInfo& command);

boost::program_options::options_description GlobalOptions(GlobalValues& values);
// The options of `command` (by name), bound to `values`; empty for a command
// that has none or a name that is no command.
boost::program_options::options_description CommandOptions(std::string_view command,
                                                           CommandValues& values);

// Which argv entry is the command word (-1 when there is none): the first word
// that is neither an option nor the value of a global option that takes one.
int FindCommandIndex(int argc, char** argv,
                     const boost::program_options::options_description& globals);

// kInvalidArgument errors that name the word and list what would be valid.
Status UnknownCommandError(std::string_view command);
Status UnknownActionError(const CommandInfo& command, std::string_view action);

// `certkeeper --help`: the global usage, every command with one line, the
// global options and the exit codes.
std::string GlobalHelp();
// `certkeeper COMMAND --help` (action == nullptr) or `certkeeper COMMAND
// ACTION --help`: the usage line, one paragraph, the command's own options
// (or actions) and a pointer to the global options.
std::string CommandHelp(const CommandInfo& command, const ActionInfo* action);

// What help prints for a command line whose command word is `command` ("" for
// none), its positional arguments `args` (without the command word) and whether
// --help was given: `--help` and `help` give GlobalHelp(); `X [ACTION] --help`
// and `help X [ACTION]` give X's help; `help --help` gives help's own. Arguments
// after the command (or action) do not change it. An unknown command or action
// is an error.
Result<std::string> HelpText(std::string_view command, std::vector<std::string> args,
                             bool help_option);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_COMMANDS_H_
