// Per-command help: `certkeeper COMMAND --help` and `certkeeper help COMMAND`
// print that command's usage, description and own options only; `--help`
// lists every command; unknown commands and options are named with a pointer
// to the right help. The command lines run in-process through cli::Main.
#include "cli/commands.h"

#include <stdlib.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "cli/app.h"
#include "tests/unit/cli/run_main.h"

namespace certkeeper::cli {
namespace {

using testing::Ran;

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class CliHelpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Help reads no config: a config path that does not exist must not matter.
    setenv("CERTKEEPER_CONFIG", (dir_.path() + "/missing.toml").c_str(), 1);
    setenv("CERTKEEPER_STATE_DIR", (dir_.path() + "/state").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("CERTKEEPER_CONFIG");
    unsetenv("CERTKEEPER_STATE_DIR");
  }

  Ran Run(std::vector<std::string> args) { return testing::RunMain(std::move(args)); }

  fs::TempDir dir_;
};

// One row per command: what its help must show, and which options are its own.
struct HelpRow {
  const char* command;
  const char* usage;  // expected on the usage line
  std::vector<std::string> own_options;
};

const std::vector<HelpRow>& HelpRows() {
  static const std::vector<HelpRow> kRows = {
      {"issue", "usage: certkeeper [GLOBAL OPTIONS] issue NAME -d DOMAIN",
       {"--domain", "--challenge", "--key-type", "--deploy"}},
      {"renew", "usage: certkeeper [GLOBAL OPTIONS] renew (--all | NAME ...)",
       {"--all", "--force", "--dry-run", "--jobs"}},
      {"list", "usage: certkeeper [GLOBAL OPTIONS] list\n", {}},
      {"show", "usage: certkeeper [GLOBAL OPTIONS] show NAME\n", {}},
      {"history", "usage: certkeeper [GLOBAL OPTIONS] history NAME\n", {}},
      {"revoke", "usage: certkeeper [GLOBAL OPTIONS] revoke NAME [--reason REASON]", {"--reason"}},
      {"deploy", "usage: certkeeper [GLOBAL OPTIONS] deploy NAME\n", {}},
      {"check", "usage: certkeeper [GLOBAL OPTIONS] check\n", {}},
      {"import", "usage: certkeeper [GLOBAL OPTIONS] import PATH ... | import --from",
       {"--from", "--write-config", "--dry-run"}},
      {"account", "usage: certkeeper [GLOBAL OPTIONS] account ACTION\n", {}},
      {"metrics", "usage: certkeeper [GLOBAL OPTIONS] metrics [--textfile PATH]\n",
       {"--textfile"}},
      {"serve", "usage: certkeeper [GLOBAL OPTIONS] serve [--listen ADDR]",
       {"--listen", "--renew-every", "--probe-every"}},
      {"probe", "usage: certkeeper [GLOBAL OPTIONS] probe\n", {}},
      {"alerts", "usage: certkeeper [GLOBAL OPTIONS] alerts\n", {}},
      {"store", "usage: certkeeper [GLOBAL OPTIONS] store (migrate | copy --to URL",
       {"--to", "--password-file", "--key-file", "--dry-run"}},
      {"help", "usage: certkeeper [GLOBAL OPTIONS] help [COMMAND [ACTION]]\n", {}},
  };
  return kRows;
}

std::set<std::string> LongNames(const boost::program_options::options_description& d) {
  std::set<std::string> names;
  for (const auto& o : d.options()) names.insert("--" + o->long_name());
  return names;
}

TEST_F(CliHelpTest, TableHasARowForEveryCommandWithItsParsedOptions) {
  std::set<std::string> in_table;
  for (const HelpRow& row : HelpRows()) {
    in_table.insert(row.command);
    CommandValues values;
    std::set<std::string> own(row.own_options.begin(), row.own_options.end());
    EXPECT_EQ(LongNames(CommandOptions(row.command, values)), own) << row.command;
  }
  std::set<std::string> commands;
  for (const CommandInfo& c : Commands()) commands.insert(std::string(c.name));
  EXPECT_EQ(in_table, commands);
}

TEST_F(CliHelpTest, CommandHelpShowsItsUsageAndOwnOptionsOnly) {
  std::set<std::string> every_option;
  for (const HelpRow& row : HelpRows()) every_option.insert(row.own_options.begin(), row.own_options.end());
  for (const HelpRow& row : HelpRows()) {
    SCOPED_TRACE(row.command);
    Ran r = Run({row.command, "--help"});
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out.rfind(row.usage, 0), 0u) << r.out;
    // The paragraph is the command's own (its opening words; the rest is wrapped).
    std::string opening(FindCommandInfo(row.command)->description.substr(0, 30));
    EXPECT_TRUE(Has(r.out, "\n\n" + opening)) << r.out;
    for (const std::string& option : row.own_options) EXPECT_TRUE(Has(r.out, option)) << option;
    std::set<std::string> own(row.own_options.begin(), row.own_options.end());
    for (const std::string& option : every_option) {
      if (!own.count(option)) {
        EXPECT_FALSE(Has(r.out, option)) << option << " in\n" << r.out;
      }
    }
    // The global options are one pointer, not the list.
    EXPECT_TRUE(Has(r.out, "Global options: certkeeper --help\n")) << r.out;
    EXPECT_FALSE(Has(r.out, "--state-dir")) << r.out;
    EXPECT_FALSE(Has(r.out, "Commands:")) << r.out;
  }
}

TEST_F(CliHelpTest, ShortHelpOptionAndOtherArgumentsGiveTheSameHelp) {
  Ran long_form = Run({"renew", "--help"});
  Ran short_form = Run({"renew", "-h"});
  Ran with_args = Run({"--json", "renew", "web", "--force", "--help"});
  EXPECT_EQ(short_form.code, kExitOk);
  EXPECT_EQ(with_args.code, kExitOk);
  EXPECT_EQ(short_form.out, long_form.out);
  EXPECT_EQ(with_args.out, long_form.out);
}

TEST_F(CliHelpTest, UsageLineNamesExactlyTheCommandsOptions) {
  for (const CommandInfo& c : Commands()) {
    SCOPED_TRACE(std::string(c.name));
    CommandValues values;
    auto options = CommandOptions(c.name, values);
    std::string usage(c.usage);
    for (const auto& o : options.options()) {
      std::string short_name = o->canonical_display_name(
          boost::program_options::command_line_style::allow_dash_for_short);
      bool has_short = short_name.size() == 2 && short_name[0] == '-';
      EXPECT_TRUE(Has(usage, "--" + o->long_name()) || (has_short && Has(usage, short_name + " ")))
          << o->long_name() << " missing from " << usage;
    }
    // And no option in the usage that the parser does not take.
    std::set<std::string> names = LongNames(options);
    size_t at = 0;
    while ((at = usage.find("--", at)) != std::string::npos) {
      size_t end = usage.find_first_of(" ]|)", at);
      std::string token = usage.substr(at, end == std::string::npos ? end : end - at);
      EXPECT_TRUE(names.count(token)) << token << " in " << usage;
      at += 2;
    }
  }
}

TEST_F(CliHelpTest, GlobalHelpListsEveryCommandOnOneLine) {
  Ran r = Run({"--help"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("usage: certkeeper [GLOBAL OPTIONS] COMMAND [ARGS]\n", 0), 0u) << r.out;
  for (const CommandInfo& c : Commands()) {
    std::string name(c.name);
    std::string line_start = "\n  " + name + " ";
    size_t at = r.out.find(line_start);
    ASSERT_NE(at, std::string::npos) << name << " not listed in\n" << r.out;
    size_t eol = r.out.find('\n', at + 1);
    EXPECT_TRUE(Has(r.out.substr(at, eol - at), std::string(c.summary))) << name;
  }
  for (const char* global : {"--config", "--state-dir", "--server", "--json", "--version"}) {
    EXPECT_TRUE(Has(r.out, global)) << global;
  }
  EXPECT_TRUE(Has(r.out, "certkeeper COMMAND --help")) << r.out;
  // Command options belong to the commands' help.
  EXPECT_FALSE(Has(r.out, "--key-type")) << r.out;
  EXPECT_FALSE(Has(r.out, "--dry-run")) << r.out;
  EXPECT_EQ(Run({"help"}).out, r.out);
  EXPECT_EQ(Run({"-h"}).out, r.out);
}

TEST_F(CliHelpTest, HelpCommandPrintsTheSameAsTheHelpOption) {
  for (const HelpRow& row : HelpRows()) {
    SCOPED_TRACE(row.command);
    Ran option = Run({row.command, "--help"});
    Ran command = Run({"help", row.command});
    EXPECT_EQ(command.code, kExitOk) << command.err;
    EXPECT_EQ(command.out, option.out);
  }
  EXPECT_EQ(Run({"help", "account", "rollover"}).out, Run({"account", "rollover", "--help"}).out);
  EXPECT_EQ(Run({"help", "--help"}).out, Run({"help", "help"}).out);
}

TEST_F(CliHelpTest, AccountHelpListsItsActionsAndEachActionHasHelp) {
  Ran r = Run({"account", "--help"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const CommandInfo* account = FindCommandInfo("account");
  ASSERT_NE(account, nullptr);
  ASSERT_EQ(account->actions.size(), 4u);
  for (const char* action : {"register", "show", "rollover", "deactivate"}) {
    SCOPED_TRACE(action);
    EXPECT_TRUE(Has(r.out, std::string("\n  ") + action + " ")) << r.out;
    Ran one = Run({"account", action, "--help"});
    EXPECT_EQ(one.code, kExitOk) << one.err;
    EXPECT_EQ(one.out.rfind(std::string("usage: certkeeper [GLOBAL OPTIONS] account ") + action +
                                "\n",
                            0),
              0u)
        << one.out;
    EXPECT_TRUE(Has(one.out, std::string(FindAction(*account, action)->description.substr(0, 30))));
    EXPECT_FALSE(Has(one.out, "Actions:")) << one.out;
    EXPECT_TRUE(Has(one.out, "Global options: certkeeper --help\n"));
  }
  EXPECT_TRUE(Has(Run({"account", "rollover", "--help"}).out, "account.key.old"));
}

TEST_F(CliHelpTest, UnknownCommandIsNamedWithTheListOfCommands) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"renwe"}, {"renwe", "--help"}, {"help", "renwe"}, {"renwe", "--all"}}) {
    SCOPED_TRACE(args.size() > 1 ? args[0] + " " + args[1] : args[0]);
    Ran r = Run(args);
    EXPECT_EQ(r.code, kExitUsage);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(Has(r.err, "unknown command \"renwe\"")) << r.err;
    for (const CommandInfo& c : Commands()) {
      EXPECT_TRUE(Has(r.err, std::string(c.name))) << c.name << " not in " << r.err;
    }
  }
}

TEST_F(CliHelpTest, UnknownActionIsNamedWithTheListOfActions) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"account", "rollback", "--help"}, {"help", "account", "rollback"}}) {
    Ran r = Run(args);
    EXPECT_EQ(r.code, kExitUsage);
    EXPECT_TRUE(Has(r.err, "unknown account action \"rollback\"")) << r.err;
    EXPECT_TRUE(Has(r.err, "register, show, rollover, deactivate")) << r.err;
  }
}

TEST_F(CliHelpTest, UnknownOptionOfACommandIsNamedWithThatCommandsHelp) {
  struct Case {
    std::vector<std::string> args;
    const char* option;
    const char* help;
  };
  const Case cases[] = {
      {{"renew", "--all", "--key-type", "ec256"}, "--key-type", "`certkeeper renew --help`"},
      {{"issue", "web", "-d", "a.example.com", "--reason", "x"}, "--reason",
       "`certkeeper issue --help`"},
      {{"list", "--reason", "x"}, "--reason", "`certkeeper list --help`"},
      {{"renew", "--all", "--frobnicate", "--help"}, "--frobnicate", "`certkeeper renew --help`"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.option);
    Ran r = Run(c.args);
    EXPECT_EQ(r.code, kExitUsage);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(Has(r.err, c.option)) << r.err;
    EXPECT_TRUE(Has(r.err, c.help)) << r.err;
  }
}

// Boost's default style completes a unique prefix: `issue --all` was taken for
// --allow-insecure-http and `renew --dry` for --dry-run.
TEST_F(CliHelpTest, AbbreviatedOptionsAreNotCompleted) {
  const std::vector<std::string> cases[] = {
      {"issue", "web", "-d", "a.example.com", "--all"},
      {"--allow", "list"},
      {"renew", "--all", "--dry"},
  };
  for (const std::vector<std::string>& args : cases) {
    SCOPED_TRACE(args.back());
    Ran r = Run(args);
    EXPECT_EQ(r.code, kExitUsage);
    EXPECT_TRUE(Has(r.err, "unrecognised option")) << r.err;
  }
}

TEST_F(CliHelpTest, UsageErrorsAndTheBareCommandKeepTheirExitCodes) {
  Ran bare = Run({});
  EXPECT_EQ(bare.code, kExitUsage);
  EXPECT_EQ(bare.out, "");
  EXPECT_TRUE(Has(bare.err, "usage: certkeeper [GLOBAL OPTIONS] COMMAND [ARGS]")) << bare.err;
  unsetenv("CERTKEEPER_CONFIG");
  Ran renew = Run({"renew"});
  EXPECT_EQ(renew.code, kExitUsage);
  EXPECT_TRUE(Has(renew.err, "renew needs --all or certificate names")) << renew.err;
  Ran jobs = Run({"renew", "--all", "--jobs", "65"});
  EXPECT_EQ(jobs.code, kExitUsage);
  EXPECT_TRUE(Has(jobs.err, "--jobs must be between 1 and 64")) << jobs.err;
  Ran account = Run({"account"});
  EXPECT_EQ(account.code, kExitUsage);
  EXPECT_TRUE(Has(account.err, "account needs one action")) << account.err;
  Ran version = Run({"--version"});
  EXPECT_EQ(version.code, kExitOk);
  EXPECT_EQ(version.out.rfind("certkeeper ", 0), 0u) << version.out;
}

TEST_F(CliHelpTest, FindCommandIndexSkipsTheValuesOfGlobalOptions) {
  GlobalValues values;
  auto globals = GlobalOptions(values);
  std::vector<std::string> args = {"certkeeper", "-c",    "list",  "--state-dir", "show",
                                   "--json",     "--email", "a@b", "renew",       "--all"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  EXPECT_EQ(FindCommandIndex(static_cast<int>(argv.size()), argv.data(), globals), 8);
  std::vector<std::string> none = {"certkeeper", "--json", "--server", "help"};
  std::vector<char*> none_argv;
  for (auto& a : none) none_argv.push_back(a.data());
  EXPECT_EQ(FindCommandIndex(static_cast<int>(none_argv.size()), none_argv.data(), globals), -1);
}

}  // namespace
}  // namespace certkeeper::cli
