// The reference documents that are generated from the command table
// (cli/commands.h), so that they cannot drift from what the parser takes:
// the certkeeper(1) man page and the bash completion script.
#ifndef CERTKEEPER_PACKAGING_DOCGEN_DOCGEN_H_
#define CERTKEEPER_PACKAGING_DOCGEN_DOCGEN_H_

#include <string>
#include <string_view>

namespace certkeeper::docgen {

// `text` as roff body text: backslashes and hyphens escaped, and a line that
// would start with a control character ('.' or '\'') made literal.
std::string RoffEscape(std::string_view text);

// certkeeper(1): `page_template` (packaging/man/certkeeper.1.in) with
// @VERSION@, @GLOBAL_OPTIONS@ and @COMMANDS@ replaced by the version and the
// roff of every global option and every command (usage, description, actions,
// options).
std::string ManPage(std::string_view page_template, std::string_view version);

// A bash completion script defining _certkeeper and `complete -F _certkeeper
// certkeeper`: commands, actions, global options and each command's own
// options; FILE, DIR and PATH values complete as paths. It needs plain bash
// only (not the bash-completion package's helpers).
std::string BashCompletion();

}  // namespace certkeeper::docgen

#endif  // CERTKEEPER_PACKAGING_DOCGEN_DOCGEN_H_
