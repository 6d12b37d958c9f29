#include "cli/serve_schedule.h"

#include <algorithm>
#include <random>
#include <utility>

#include "base/log.h"

namespace certkeeper::cli {

namespace {

std::string Seconds(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

}  // namespace

Duration Jittered(Duration period, double jitter, uint64_t random) {
  // [0, 2^64) onto [-1, 1].
  const double u = static_cast<double>(random) / 18446744073709551615.0 * 2.0 - 1.0;
  const double seconds = std::chrono::duration<double>(period).count() * (1.0 + jitter * u);
  return std::max<Duration>(std::chrono::seconds(1),
                            std::chrono::duration_cast<Duration>(
                                std::chrono::duration<double>(seconds)));
}

PeriodicJob::PeriodicJob(std::string name, Duration period, std::function<void()> job)
    : name_(std::move(name)), period_(period), job_(std::move(job)) {
  thread_ = std::thread([this] { Loop(); });
}

PeriodicJob::~PeriodicJob() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

void PeriodicJob::RequestStop() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = true;
  cv_.notify_all();
}

bool PeriodicJob::Finished() {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

int PeriodicJob::runs() {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_;
}

void PeriodicJob::Loop() {
  std::mt19937_64 random(std::random_device{}());
  // The first run: soon, but not at the same second on every host.
  const Duration first_span = std::min<Duration>(
      std::chrono::duration_cast<Duration>(period_ * kScheduleJitter), std::chrono::minutes(1));
  Duration wait = std::chrono::duration_cast<Duration>(
      first_span * (static_cast<double>(random() >> 11) / 9007199254740992.0));
  while (true) {
    log::Info(name_ + ": next run scheduled", {{"in", Seconds(wait)}});
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, wait, [this] { return stop_; })) break;
    }
    log::Info(name_ + ": run starting");
    job_();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++runs_;
      if (stop_) break;
    }
    wait = Jittered(period_, kScheduleJitter, random());
  }
  std::lock_guard<std::mutex> lock(mu_);
  finished_ = true;
}

}  // namespace certkeeper::cli
