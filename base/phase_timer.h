// Wall time per named phase, summed over the whole process: the timing hook
// behind `bench/issue_bench --breakdown`. Off by default; while off, a
// ScopedPhase costs one relaxed atomic load and records nothing.
//
// Phases may nest (a phase inside another is counted in both); names are
// string literals chosen by the caller, e.g. "issue.order".
#ifndef CERTKEEPER_BASE_PHASE_TIMER_H_
#define CERTKEEPER_BASE_PHASE_TIMER_H_

#include <chrono>
#include <map>
#include <string>

namespace certkeeper::phase {

struct Total {
  std::chrono::nanoseconds time{0};
  int64_t count = 0;
};

void Enable(bool on);
bool Enabled();
// Thread-safe.
void Add(const char* name, std::chrono::nanoseconds elapsed);
std::map<std::string, Total> Snapshot();
void Reset();

class ScopedPhase {
 public:
  explicit ScopedPhase(const char* name)
      : name_(Enabled() ? name : nullptr),
        start_(name_ != nullptr ? std::chrono::steady_clock::now()
                                : std::chrono::steady_clock::time_point()) {}
  ~ScopedPhase() { Stop(); }
  // Ends the phase before the scope does.
  void Stop() {
    if (name_ != nullptr) Add(name_, std::chrono::steady_clock::now() - start_);
    name_ = nullptr;
  }
  ScopedPhase(const ScopedPhase&) = delete;
  ScopedPhase& operator=(const ScopedPhase&) = delete;

 private:
  const char* name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace certkeeper::phase

#endif  // CERTKEEPER_BASE_PHASE_TIMER_H_
