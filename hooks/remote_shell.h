// Building command lines for a remote POSIX shell. `ssh host CMD` hands CMD to
// the remote user's login shell, so everything certkeeper sends is made of fixed
// text plus arguments quoted here; domains and other CA- or user-provided data are
// never part of it.
#ifndef CERTKEEPER_HOOKS_REMOTE_SHELL_H_
#define CERTKEEPER_HOOKS_REMOTE_SHELL_H_

#include <string>
#include <string_view>
#include <vector>

namespace certkeeper::hooks {

// True when text has a byte < 0x20 or 0x7f (newline, tab, escape, NUL ...).
bool HasControlCharacter(std::string_view text);

// Wraps text in single quotes; each embedded ' becomes '\'' (close, escaped
// quote, reopen). Inside single quotes a POSIX shell interprets nothing
// (POSIX.1-2017 XCU §2.2.2), so the result is always exactly one word.
// Callers refuse control characters first (HasControlCharacter).
std::string ShellQuote(std::string_view text);

// Each argument quoted, joined with spaces.
std::string ShellJoin(const std::vector<std::string>& argv);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_REMOTE_SHELL_H_
