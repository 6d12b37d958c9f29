#include "packaging/docgen/docgen.h"

#include <set>
#include <sstream>
#include <vector>

#include <boost/program_options.hpp>

#include "cli/commands.h"

namespace certkeeper::docgen {

namespace {

namespace po = boost::program_options;

struct Option {
  std::string long_name;   // "--config"
  std::string short_name;  // "-c" or empty
  std::string parameter;   // "FILE" or empty for a switch
  std::string description;
};

std::vector<Option> OptionsOf(const po::options_description& d) {
  std::vector<Option> out;
  for (const auto& o : d.options()) {
    Option option;
    option.long_name = "--" + o->long_name();
    std::string short_name = o->canonical_display_name(po::command_line_style::allow_dash_for_short);
    if (short_name.size() == 2 && short_name[0] == '-') option.short_name = short_name;
    option.parameter = o->format_parameter();
    option.description = o->description();
    out.push_back(option);
  }
  return out;
}

std::vector<Option> GlobalOptionList() {
  cli::GlobalValues unused;
  return OptionsOf(cli::GlobalOptions(unused));
}

std::vector<Option> CommandOptionList(std::string_view command) {
  cli::CommandValues unused;
  return OptionsOf(cli::CommandOptions(command, unused));
}

// ".TP" items, one per option: "-c, --config FILE" then its description.
std::string RoffOptions(const std::vector<Option>& options) {
  std::string out;
  for (const Option& o : options) {
    out += ".TP\n";
    if (!o.short_name.empty()) out += "\\fB" + RoffEscape(o.short_name) + "\\fR, ";
    out += "\\fB" + RoffEscape(o.long_name) + "\\fR";
    if (!o.parameter.empty()) out += " \\fI" + RoffEscape(o.parameter) + "\\fR";
    out += "\n" + RoffEscape(o.description) + "\n";
  }
  return out;
}

std::string RoffCommands() {
  std::string out;
  for (const cli::CommandInfo& c : cli::Commands()) {
    out += ".SS " + RoffEscape(c.name) + "\n";
    out += "\\fBcertkeeper\\fR [\\fIGLOBAL OPTIONS\\fR] " + RoffEscape(c.usage) + "\n";
    out += ".PP\n" + RoffEscape(c.description) + "\n";
    if (!c.actions.empty()) {
      out += ".PP\nActions:\n";
      for (const cli::ActionInfo& a : c.actions) {
        out += ".TP\n\\fB" + RoffEscape(a.name) + "\\fR\n" + RoffEscape(a.description) + "\n";
      }
    }
    std::vector<Option> options = CommandOptionList(c.name);
    if (!options.empty()) {
      out += ".PP\nOptions:\n" + RoffOptions(options);
    }
  }
  return out;
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Words for bash's `compgen -W`, space separated.
std::string Words(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::vector<std::string> OptionWords(const std::vector<Option>& options) {
  std::vector<std::string> out;
  for (const Option& o : options) {
    out.push_back(o.long_name);
    if (!o.short_name.empty()) out.push_back(o.short_name);
  }
  return out;
}

// Options that take a value, split by whether the value is a path.
void ValuedOptions(const std::vector<Option>& options, std::set<std::string>& path_valued,
                   std::set<std::string>& other_valued) {
  for (const Option& o : options) {
    if (o.parameter.empty()) continue;
    const bool path = o.parameter == "FILE" || o.parameter == "DIR" || o.parameter == "PATH";
    std::set<std::string>& into = path ? path_valued : other_valued;
    into.insert(o.long_name);
    if (!o.short_name.empty()) into.insert(o.short_name);
  }
}

}  // namespace

std::string RoffEscape(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char ch : text) {
    if (line_start && (ch == '.' || ch == '\'')) out += "\\&";
    line_start = ch == '\n';
    if (ch == '\\') {
      out += "\\e";
    } else if (ch == '-') {
      out += "\\-";
    } else {
      out += ch;
    }
  }
  return out;
}

std::string ManPage(std::string_view page_template, std::string_view version) {
  std::string page(page_template);
  ReplaceAll(page, "@VERSION@", version);
  ReplaceAll(page, "@GLOBAL_OPTIONS@\n", RoffOptions(GlobalOptionList()));
  ReplaceAll(page, "@COMMANDS@\n", RoffCommands());
  return page;
}

std::string BashCompletion() {
  const std::vector<Option> globals = GlobalOptionList();
  std::set<std::string> path_valued, other_valued;
  ValuedOptions(globals, path_valued, other_valued);
  std::vector<std::string> commands;
  for (const cli::CommandInfo& c : cli::Commands()) commands.emplace_back(c.name);

  std::ostringstream cases_options, cases_actions;
  for (const cli::CommandInfo& c : cli::Commands()) {
    std::vector<Option> own = CommandOptionList(c.name);
    ValuedOptions(own, path_valued, other_valued);
    if (!own.empty()) cases_options << "    " << c.name << ") opts=\"" << Words(OptionWords(own)) << "\" ;;\n";
    std::vector<std::string> actions;
    for (const cli::ActionInfo& a : c.actions) actions.emplace_back(a.name);
    if (c.name == "help") actions = commands;
    if (!actions.empty()) cases_actions << "    " << c.name << ") actions=\"" << Words(actions) << "\" ;;\n";
  }
  std::set<std::string> valued = path_valued;
  valued.insert(other_valued.begin(), other_valued.end());
  auto case_words = [](const std::set<std::string>& words) {
    std::string out;
    for (const std::string& w : words) out += (out.empty() ? "" : "|") + w;
    return out.empty() ? std::string("--certkeeper-none") : out;
  };

  std::ostringstream out;
  out << "# bash completion for certkeeper, generated from its command table.\n"
         "# shellcheck shell=bash\n"
         "_certkeeper() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} prev=\n"
         "  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
         "  COMPREPLY=()\n"
         "  case $prev in\n"
         "    " << case_words(path_valued) << ")\n"
         "      mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
         "      return ;;\n"
         "    " << case_words(other_valued) << ")\n"
         "      return ;;\n"
         "  esac\n"
         "  # The command word and its action: the first words that are neither an\n"
         "  # option nor an option's value.\n"
         "  local i word command= action=\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    word=${COMP_WORDS[i]}\n"
         "    case $word in\n"
         "      " << case_words(valued) << ") ((i += 1)) ;;\n"
         "      -*) ;;\n"
         "      *) if [[ -z $command ]]; then command=$word; elif [[ -z $action ]]; then action=$word; fi ;;\n"
         "    esac\n"
         "  done\n"
         "  local globals=\"" << Words(OptionWords(globals)) << "\"\n"
         "  if [[ -z $command ]]; then\n"
         "    if [[ $cur == -* ]]; then\n"
         "      mapfile -t COMPREPLY < <(compgen -W \"$globals\" -- \"$cur\")\n"
         "    else\n"
         "      mapfile -t COMPREPLY < <(compgen -W \"" << Words(commands) << "\" -- \"$cur\")\n"
         "    fi\n"
         "    return\n"
         "  fi\n"
         "  local opts= actions=\n"
         "  case $command in\n" << cases_options.str() << "  esac\n"
         "  case $command in\n" << cases_actions.str() << "  esac\n"
         "  if [[ $cur == -* ]]; then\n"
         "    mapfile -t COMPREPLY < <(compgen -W \"$opts --help $globals\" -- \"$cur\")\n"
         "  elif [[ -n $actions && -z $action ]]; then\n"
         "    mapfile -t COMPREPLY < <(compgen -W \"$actions\" -- \"$cur\")\n"
         "  fi\n"
         "}\n"
         "complete -F _certkeeper certkeeper\n";
  return out.str();
}

}  // namespace certkeeper::docgen
