// When did the CA fetch the answer? Solvers that answer the CA's validation
// requests themselves (standalone HTTP-01, TLS-ALPN-01) count, per task, the
// requests they answered, so that the engine can ask the CA for the result
// right after the CA looked (RFC 8555 §7.5.1) instead of on a fixed schedule.
// A CA validates from several network perspectives (Let's Encrypt and Pebble
// fetch more than once per challenge), so the engine waits for the requests to
// stop before it polls.
#ifndef CERTKEEPER_CHALLENGES_SERVED_SIGNAL_H_
#define CERTKEEPER_CHALLENGES_SERVED_SIGNAL_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace certkeeper::challenges {

struct ServedWaitOptions {
  // How long to wait for the first request at most. A CA that has not looked by
  // then is left to the ordinary poll schedule.
  std::chrono::milliseconds first_timeout{1000};
  // The requests of one validation are taken as over when no further one came
  // for this long after the last.
  std::chrono::microseconds quiet{1500};
  // The CA's time to decide after the last request it made (reading the answer,
  // comparing the perspectives, storing the result).
  std::chrono::microseconds grace{500};
  // Bound on the whole wait, also while requests keep coming.
  std::chrono::milliseconds max_wait{2000};
};

struct ServedWaitResult {
  int served = 0;          // requests answered for the task when the wait ended
  bool timed_out = false;  // no request came within first_timeout
  bool expected = false;   // ended at the count the previous validation took
  std::chrono::steady_clock::duration waited{};
  // From the start of the wait to the last request (zero when it came before).
  std::chrono::steady_clock::duration last_request{};
};

// Thread-safe: Served runs on a solver's server thread, Await on the engine's.
class ServedSignal {
 public:
  using SteadyClock = std::chrono::steady_clock;

  // One request for `key` (a token, a name) was answered.
  void Served(std::string_view key);
  // Starts counting `key` afresh: requests answered before (the solver's own
  // self-check) do not count.
  void Reset(std::string_view key);
  void Forget(std::string_view key);
  int Count(std::string_view key) const;
  // Blocks until `key` was served at least `count` times or `timeout` passed;
  // returns whether it was. Touches nothing Await learns from.
  bool AwaitCount(std::string_view key, int count, std::chrono::milliseconds timeout) const;

  // Blocks until `key` was served and then left alone for options.quiet, plus
  // options.grace; or until options.first_timeout passed without a request;
  // bounded by options.max_wait and by `until`. Once one wait has seen the
  // requests of a validation end, later ones stop waiting for quiet as soon
  // as as many requests came (a CA makes the same number each time): then only
  // the grace follows.
  ServedWaitResult Await(std::string_view key, const ServedWaitOptions& options,
                         SteadyClock::time_point until = SteadyClock::time_point::max()) const;

 private:
  struct Entry {
    int count = 0;
    SteadyClock::time_point last{};
  };
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Entry, std::less<>> served_;
  // The requests the last validation took (0: none seen end yet).
  mutable int expected_ = 0;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_SERVED_SIGNAL_H_
