#include "base/log.h"

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>

#include <nlohmann/json.hpp>

#include "base/text.h"

namespace certkeeper::log {

namespace {

std::mutex& Mu() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}
Options& CurrentOptions() {
  static Options* options = new Options();
  return *options;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

void Configure(const Options& options) {
  std::lock_guard<std::mutex> lock(Mu());
  CurrentOptions() = options;
}

bool Enabled(Level level) {
  std::lock_guard<std::mutex> lock(Mu());
  return level >= CurrentOptions().min_level;
}

void Write(Level level, std::string_view message, const Fields& fields) {
  std::lock_guard<std::mutex> lock(Mu());
  const Options& options = CurrentOptions();
  if (level < options.min_level) return;
  std::string line;
  if (options.json) {
    auto now = std::chrono::system_clock::now();
    time_t secs = std::chrono::system_clock::to_time_t(now);
    struct tm tm_utc;
    gmtime_r(&secs, &tm_utc);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
    nlohmann::json j = {{"time", ts}, {"level", LevelName(level)}, {"msg", message}};
    for (const auto& [k, v] : fields) j[k] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    line = "certkeeper: ";
    if (level != Level::kInfo) line += std::string(LevelName(level)) + ": ";
    line += EscapeForTerminal(message);
    for (const auto& [k, v] : fields) line += " " + k + "=" + EscapeForTerminal(v);
    line += "\n";
  }
  fwrite(line.data(), 1, line.size(), stderr);
  fflush(stderr);
}

}  // namespace certkeeper::log
