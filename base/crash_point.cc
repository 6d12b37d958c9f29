#include "base/crash_point.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <mutex>
#include <string>

namespace certkeeper {

namespace {

struct Armed {
  std::mutex mu;
  std::string name;  // guarded by mu
  int nth = 0;       // guarded by mu
  int seen = 0;      // guarded by mu
};

std::atomic<bool> g_armed{false};

Armed& State() {
  static Armed* state = new Armed;  // never destroyed: used until exit
  return *state;
}

[[noreturn]] void Die(std::string_view name) {
  std::string line = "certkeeper: crash point " + std::string(name) +
                     " reached (CERTKEEPER_CRASH_AT): killing the process\n";
  // Best effort: the process dies whether or not stderr takes the line.
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  static_cast<void>(ignored);
  kill(getpid(), SIGKILL);
  _exit(137);  // not reached
}

}  // namespace

void CrashPoint(std::string_view name) {
  if (!g_armed.load(std::memory_order_relaxed)) return;
  Armed& s = State();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.name != name || ++s.seen != s.nth) return;
  }
  Die(name);
}

void ArmCrashPoint(std::string_view name, int nth) {
  Armed& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  s.name = std::string(name);
  s.nth = nth < 1 ? 1 : nth;
  s.seen = 0;
  g_armed.store(true, std::memory_order_relaxed);
}

void DisarmCrashPoint() {
  Armed& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  s.name.clear();
  g_armed.store(false, std::memory_order_relaxed);
}

Status ArmCrashPointFromEnvironment() {
  const char* value = getenv("CERTKEEPER_CRASH_AT");
  if (value == nullptr || *value == '\0') return Status::Ok();
  std::string_view text(value);
  int nth = 1;
  size_t colon = text.rfind(':');
  std::string_view name = text;
  if (colon != std::string_view::npos) {
    std::string_view count = text.substr(colon + 1);
    auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), nth);
    if (ec != std::errc() || end != count.data() + count.size() || nth < 1) {
      return Status(ErrorCode::kInvalidArgument,
                    "CERTKEEPER_CRASH_AT: \"" + std::string(text) +
                        "\" has no valid count after the colon")
          .Hint("write <point>[:<n>], e.g. deploy.installed:1");
    }
    name = text.substr(0, colon);
  }
  if (name.empty()) {
    return Status(ErrorCode::kInvalidArgument, "CERTKEEPER_CRASH_AT names no crash point")
        .Hint("write <point>[:<n>], e.g. deploy.installed:1");
  }
  ArmCrashPoint(name, nth);
  return Status::Ok();
}

}  // namespace certkeeper
