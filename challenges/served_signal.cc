#include "challenges/served_signal.h"

#include <algorithm>
#include <thread>

namespace certkeeper::challenges {

void ServedSignal::Served(std::string_view key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = served_.find(key);
    if (it == served_.end()) it = served_.emplace(std::string(key), Entry{}).first;
    ++it->second.count;
    it->second.last = SteadyClock::now();
  }
  cv_.notify_all();
}

void ServedSignal::Reset(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  served_.insert_or_assign(std::string(key), Entry{});
}

void ServedSignal::Forget(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = served_.find(key); it != served_.end()) served_.erase(it);
}

int ServedSignal::Count(std::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = served_.find(key);
  return it == served_.end() ? 0 : it->second.count;
}

bool ServedSignal::AwaitCount(std::string_view key, int count,
                              std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    auto it = served_.find(key);
    return it != served_.end() && it->second.count >= count;
  });
}

ServedWaitResult ServedSignal::Await(std::string_view key, const ServedWaitOptions& options,
                                     SteadyClock::time_point until) const {
  const SteadyClock::time_point start = SteadyClock::now();
  const SteadyClock::time_point bound = std::min(until, start + options.max_wait);
  const SteadyClock::time_point first_bound = std::min(bound, start + options.first_timeout);
  ServedWaitResult result;
  std::unique_lock<std::mutex> lock(mu_);
  auto entry = [&]() -> Entry {
    auto it = served_.find(key);
    return it == served_.end() ? Entry{} : it->second;
  };
  if (!cv_.wait_until(lock, first_bound, [&] { return entry().count > 0; })) {
    result.timed_out = true;
    result.waited = SteadyClock::now() - start;
    return result;
  }
  // Quiet: each new request moves the end of the wait.
  for (;;) {
    const Entry e = entry();
    if (expected_ > 0 && e.count >= expected_) {
      result.expected = true;
      break;
    }
    const SteadyClock::time_point quiet_end = std::min(bound, e.last + options.quiet);
    if (SteadyClock::now() >= quiet_end) break;
    cv_.wait_until(lock, quiet_end, [&] { return entry().count != e.count; });
    if (SteadyClock::now() >= bound) break;
  }
  const Entry last = entry();
  result.served = last.count;
  if (last.last > start) result.last_request = last.last - start;
  if (!result.expected && SteadyClock::now() < bound) expected_ = last.count;
  lock.unlock();
  const SteadyClock::time_point grace_end = std::min(bound, SteadyClock::now() + options.grace);
  if (SteadyClock::now() < grace_end) std::this_thread::sleep_until(grace_end);
  result.waited = SteadyClock::now() - start;
  return result;
}

}  // namespace certkeeper::challenges
