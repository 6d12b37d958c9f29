// What the package ships beside the binary stays true to it: certkeeper(1)
// and the bash completion come from the command table, certkeeper.toml(5)
// names every table and key of the README's config examples, the example
// config is a valid config, and both man pages format without groff warnings.
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/process.h"
#include "cli/commands.h"
#include "cli/config_file.h"
#include "lifecycle/config_check.h"
#include "packaging/docgen/docgen.h"

namespace certkeeper {
namespace {

const std::string kSource = CERTKEEPER_SOURCE_DIR;
const std::string kBuild = CERTKEEPER_BUILD_DIR;

std::string Read(const std::string& path) {
  auto text = fs::ReadFile(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : "";
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> LongOptions(const boost::program_options::options_description& d) {
  std::vector<std::string> out;
  for (const auto& o : d.options()) out.push_back("--" + o->long_name());
  return out;
}

TEST(ManPageTest, NamesEveryCommandActionAndOption) {
  const std::string page = docgen::ManPage(Read(kSource + "/packaging/man/certkeeper.1.in"), "9.9");
  EXPECT_TRUE(Has(page, "\"certkeeper 9.9\"")) << "the version is filled in";
  for (const char* placeholder : {"@VERSION@", "@GLOBAL_OPTIONS@", "@COMMANDS@"}) {
    EXPECT_FALSE(Has(page, placeholder)) << placeholder << " is replaced";
  }
  cli::GlobalValues globals;
  for (const std::string& o : LongOptions(cli::GlobalOptions(globals))) {
    EXPECT_TRUE(Has(page, "\\fB" + docgen::RoffEscape(o) + "\\fR")) << o;
  }
  ASSERT_FALSE(cli::Commands().empty());
  for (const cli::CommandInfo& c : cli::Commands()) {
    EXPECT_TRUE(Has(page, ".SS " + docgen::RoffEscape(c.name) + "\n")) << c.name;
    EXPECT_TRUE(Has(page, docgen::RoffEscape(c.usage))) << c.name;
    for (const cli::ActionInfo& a : c.actions) {
      EXPECT_TRUE(Has(page, ".TP\n\\fB" + docgen::RoffEscape(a.name) + "\\fR\n"))
          << c.name << " " << a.name;
    }
    cli::CommandValues values;
    for (const std::string& o : LongOptions(cli::CommandOptions(c.name, values))) {
      EXPECT_TRUE(Has(page, "\\fB" + docgen::RoffEscape(o) + "\\fR")) << c.name << " " << o;
    }
  }
}

TEST(ManPageTest, BuiltPageIsTheCurrentOne) {
  const std::string built = Read(kBuild + "/packaging/certkeeper.1");
  EXPECT_EQ(built, docgen::ManPage(Read(kSource + "/packaging/man/certkeeper.1.in"),
                                   CERTKEEPER_VERSION));
}

TEST(ManPageTest, RoffEscapeKeepsTextLiteral) {
  EXPECT_EQ(docgen::RoffEscape("--all"), "\\-\\-all");
  EXPECT_EQ(docgen::RoffEscape("a\\b"), "a\\eb");
  EXPECT_EQ(docgen::RoffEscape(".TH x\n'y"), "\\&.TH x\n\\&'y");
  EXPECT_EQ(docgen::RoffEscape("a.b"), "a.b");
}

// groff reports what man would show as garbage: unknown macros, bad escapes.
void ExpectCleanGroff(const std::string& path) {
  ProcessSpec spec;
  spec.argv = {"groff", "-man", "-Tutf8", "-ww", "-z", path};
  auto ran = RunProcess(spec);
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_TRUE(ran->success()) << path << ": " << ran->Describe();
  EXPECT_EQ(ran->stderr_data, "") << path;
}

TEST(ManPageTest, PagesFormatWithoutWarnings) {
  ExpectCleanGroff(kBuild + "/packaging/certkeeper.1");
  ExpectCleanGroff(kSource + "/packaging/man/certkeeper.toml.5");
}

// Tables ("acme", "solvers.http-01", "certificate") and keys of every ```toml
// block of README.md, commented-out keys included.
void ReadmeConfigNames(std::set<std::string>& tables, std::set<std::string>& keys) {
  std::istringstream readme(Read(kSource + "/README.md"));
  const std::regex table(R"(^\[\[?([a-z0-9_.-]+)\]\]?)");
  const std::regex key(R"(^(?:# )?([a-z][a-z0-9_]*) = )");
  bool in_toml = false;
  std::string line;
  while (std::getline(readme, line)) {
    if (line.rfind("```", 0) == 0) {
      in_toml = line == "```toml";
      continue;
    }
    if (!in_toml) continue;
    std::smatch m;
    if (std::regex_search(line, m, table)) tables.insert(m[1]);
    if (std::regex_search(line, m, key)) keys.insert(m[1]);
  }
}

TEST(ConfigManPageTest, NamesEveryTableAndKeyOfTheReadme) {
  std::set<std::string> tables, keys;
  ReadmeConfigNames(tables, keys);
  ASSERT_GE(tables.size(), 10u) << "the README's config examples were found";
  ASSERT_GE(keys.size(), 40u);
  const std::string page = Read(kSource + "/packaging/man/certkeeper.toml.5");
  for (const std::string& t : tables) {
    const std::string escaped = docgen::RoffEscape(t);
    EXPECT_TRUE(Has(page, ".SH [" + escaped + "]\n") || Has(page, ".SH [[" + escaped + "]]\n"))
        << "[" << t << "] has no section";
  }
  // A key is documented where it is set in bold: ".B key", ".BR key , ..."
  // or \fBkey\fR in running text.
  for (const std::string& k : keys) {
    const std::string escaped = docgen::RoffEscape(k);
    const std::regex bold("(^\\.B " + escaped + "$)|(^\\.BR .*\\b" + escaped +
                              "\\b)|(\\\\fB" + escaped + "\\\\fR)",
                          std::regex::multiline);
    EXPECT_TRUE(std::regex_search(page, bold)) << "key " << k << " is not documented";
  }
}

TEST(ExampleConfigTest, IsAValidConfig) {
  const std::string path = kSource + "/packaging/certkeeper.toml";
  auto config = cli::ParseConfig(Read(path), path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(lifecycle::CheckConfig(*config).ok());
}

// Runs the generated completion in bash for the command line `words` (the
// last one is being completed) and returns COMPREPLY.
std::set<std::string> Complete(const std::vector<std::string>& words) {
  ProcessSpec spec;
  spec.argv = {"bash", "--norc", "--noprofile", "-c",
               "source \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); "
               "_certkeeper; printf '%s\\n' \"${COMPREPLY[@]}\"",
               "bash", kBuild + "/packaging/certkeeper.bash"};
  spec.argv.insert(spec.argv.end(), words.begin(), words.end());
  auto ran = RunProcess(spec);
  EXPECT_TRUE(ran.ok() && ran->success()) << (ran.ok() ? ran->Describe() + ran->stderr_data
                                                       : ran.status().ToString());
  std::set<std::string> out;
  if (!ran.ok()) return out;
  std::istringstream lines(ran->stdout_data);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

TEST(BashCompletionTest, CompletesCommandsActionsAndOptions) {
  std::set<std::string> all;
  for (const cli::CommandInfo& c : cli::Commands()) all.emplace(c.name);
  EXPECT_EQ(Complete({"certkeeper", ""}), all);
  EXPECT_EQ(Complete({"certkeeper", "help", ""}), all);
  EXPECT_EQ(Complete({"certkeeper", "is"}), std::set<std::string>{"issue"});
  EXPECT_EQ(Complete({"certkeeper", "--sta"}),
            (std::set<std::string>{"--staging", "--state-dir"}));
  EXPECT_EQ(Complete({"certkeeper", "--config", "/etc/x.toml", "--json", "ren"}),
            std::set<std::string>{"renew"});
  EXPECT_EQ(Complete({"certkeeper", "account", "ro"}), std::set<std::string>{"rollover"});
  EXPECT_EQ(Complete({"certkeeper", "store", "--to", "postgresql://db/ck", "c"}),
            std::set<std::string>{"copy"})
      << "an option's value after the command is no action";
  EXPECT_EQ(Complete({"certkeeper", "account", "--config", "/etc/x.toml", "show", ""}),
            std::set<std::string>{})
      << "one action only";
  EXPECT_EQ(Complete({"certkeeper", "-q", "renew", "--dr"}), std::set<std::string>{"--dry-run"});
  EXPECT_EQ(Complete({"certkeeper", "issue", "web", "--key"}),
            std::set<std::string>{"--key-type"});
  EXPECT_EQ(Complete({"certkeeper", "--server", ""}), std::set<std::string>{})
      << "a URL is not completed from the file system";
  // A path value completes as a path.
  fs::TempDir dir;
  ASSERT_TRUE(fs::WriteFileAtomic(dir.path() + "/ck.toml", "").ok());
  EXPECT_EQ(Complete({"certkeeper", "-c", dir.path() + "/ck"}),
            std::set<std::string>{dir.path() + "/ck.toml"});
}

}  // namespace
}  // namespace certkeeper
