// serve's periodic work (--renew-every, --probe-every): a job run on its own
// thread on a jittered schedule, so that a fleet of hosts started together
// does not reach the CA at the same moment.
#ifndef CERTKEEPER_CLI_SERVE_SCHEDULE_H_
#define CERTKEEPER_CLI_SERVE_SCHEDULE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"

namespace certkeeper::cli {

// The share of the period by which each wait varies, both ways.
inline constexpr double kScheduleJitter = 0.1;

// period * (1 + jitter * u) with u = random mapped uniformly onto [-1, 1]
// (random is any 64-bit value); never below one second.
Duration Jittered(Duration period, double jitter, uint64_t random);

// Runs `job` first after a short jittered delay (at most jitter * period and
// at most a minute), then every Jittered(period) measured from the end of the
// previous run. Runs never overlap. The job MUST report its own errors (it
// returns nothing); it runs on the job's thread.
class PeriodicJob {
 public:
  PeriodicJob(std::string name, Duration period, std::function<void()> job);
  // RequestStop, then waits for a run in progress to end and joins.
  ~PeriodicJob();
  PeriodicJob(const PeriodicJob&) = delete;
  PeriodicJob& operator=(const PeriodicJob&) = delete;

  // Wakes the wait: no new run starts. Returns at once.
  void RequestStop();
  // True once the thread has ended (after RequestStop and any run in progress).
  bool Finished();
  // Runs completed so far.
  int runs();

 private:
  void Loop();

  std::string name_;
  Duration period_;
  std::function<void()> job_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool finished_ = false;
  int runs_ = 0;
  std::thread thread_;
};

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_SERVE_SCHEDULE_H_
