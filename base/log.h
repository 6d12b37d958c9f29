// Logs narrate: one line per step a user would care about, on stderr, as text or
// (with --json) as one JSON object per line. Never log a private key. Values
// can come from the network or a hook: text lines escape them with
// EscapeForTerminal (one line each, no terminal controls), JSON lines replace
// invalid UTF-8 with U+FFFD.
#ifndef CERTKEEPER_BASE_LOG_H_
#define CERTKEEPER_BASE_LOG_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certkeeper::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Options {
  Level min_level = Level::kInfo;
  bool json = false;  // JSON lines instead of text
};

// Set once at startup by the program; the default logs kInfo and above as text.
void Configure(const Options& options);
bool Enabled(Level level);

// Key/value context printed after the message ("name=web domain=example.com").
using Fields = std::vector<std::pair<std::string, std::string>>;

void Write(Level level, std::string_view message, const Fields& fields = {});
inline void Debug(std::string_view m, const Fields& f = {}) { Write(Level::kDebug, m, f); }
inline void Info(std::string_view m, const Fields& f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, const Fields& f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, const Fields& f = {}) { Write(Level::kError, m, f); }

}  // namespace certkeeper::log

#endif  // CERTKEEPER_BASE_LOG_H_
