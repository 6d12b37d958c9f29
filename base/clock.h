// Time is injected: everything that reads the time or waits takes a Clock, so
// renewal windows, backoff and expiry are testable with a FakeClock.
#ifndef CERTKEEPER_BASE_CLOCK_H_
#define CERTKEEPER_BASE_CLOCK_H_

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"

namespace certkeeper {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Blocks for d (a FakeClock advances instead).
  virtual void SleepFor(Duration d) = 0;
};

// The process-wide real clock; never null, never deleted.
Clock* RealClock();

// A clock that only moves when told to; SleepFor advances it. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint Now() const override;
  void SleepFor(Duration d) override { Advance(d); }
  void Advance(Duration d);
  void Set(TimePoint t);

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

// TimePoint counts nanoseconds in 64 bits: it holds 1677-09-21 to 2262-04-11.
// Parsers of outside times MUST reject years outside [kMinTimePointYear,
// kMaxTimePointYear] instead of converting them (the conversion overflows).
inline constexpr int kMinTimePointYear = 1678;
inline constexpr int kMaxTimePointYear = 2261;

// RFC 3339 in UTC with a 'Z' and whole seconds: "2026-11-24T09:13:38Z".
std::string FormatRfc3339(TimePoint t);
// Appends FormatRfc3339(t) to `out`, for text built in place.
void AppendRfc3339(std::string& out, TimePoint t);
// Accepts RFC 3339 with 'Z' or a numeric offset and optional fractional seconds,
// years kMinTimePointYear to kMaxTimePointYear.
Result<TimePoint> ParseRfc3339(std::string_view text);
// Seconds since the Unix epoch, the form the inventory stores.
int64_t ToUnixSeconds(TimePoint t);
TimePoint FromUnixSeconds(int64_t s);
// "42s", "5m", "2h", "3d", or a bare number of seconds; at most kMaxDuration.
inline constexpr std::chrono::hours kMaxDuration{24 * 365 * 100};
Result<Duration> ParseDuration(std::string_view text);
// "3d 4h", "12m", "8s": for people.
std::string FormatDurationHuman(Duration d);
// Appends FormatDurationHuman(d) to `out`.
void AppendDurationHuman(std::string& out, Duration d);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_CLOCK_H_
