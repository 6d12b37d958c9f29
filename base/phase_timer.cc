#include "base/phase_timer.h"

#include <atomic>
#include <mutex>

namespace certkeeper::phase {

namespace {
std::atomic<bool> enabled{false};
std::mutex mu;
std::map<std::string, Total>& Totals() {
  static auto* totals = new std::map<std::string, Total>();
  return *totals;
}
}  // namespace

void Enable(bool on) { enabled.store(on, std::memory_order_relaxed); }
bool Enabled() { return enabled.load(std::memory_order_relaxed); }

void Add(const char* name, std::chrono::nanoseconds elapsed) {
  std::lock_guard<std::mutex> lock(mu);
  Total& t = Totals()[name];
  t.time += elapsed;
  ++t.count;
}

std::map<std::string, Total> Snapshot() {
  std::lock_guard<std::mutex> lock(mu);
  return Totals();
}

void Reset() {
  std::lock_guard<std::mutex> lock(mu);
  Totals().clear();
}

}  // namespace certkeeper::phase
