// SharedLeases: per-certificate row leases in a shared inventory, renewed in
// the background while held (store/lease.h).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "store/fleet_store.h"
#include "store/lease.h"

namespace certkeeper::store {

namespace {

std::string NewToken(const std::string& host) {
  std::random_device random;
  std::string token = host + "/";
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i) {
    unsigned value = random();
    for (int j = 0; j < 4; ++j) token += kHex[(value >> (4 * j)) & 0xf];
  }
  return token;
}

// What a claim and the renewing thread share.
struct HeldLease {
  std::string certificate;
  std::string token;
  Duration ttl;
  TimePoint renew_at;    // guarded by HeldSet::mu, or owned by the renewing thread
  TimePoint expires_at;  // as far as this host knows
  std::atomic<bool> lost{false};
};

// The leases one SharedLeases holds; shared with its claims, so that a claim
// destroyed after its SharedLeases still releases safely.
struct HeldSet {
  std::mutex mu;
  std::condition_variable changed;
  std::map<std::string, std::shared_ptr<HeldLease>> leases;  // by token; guarded by mu
  bool stopping = false;                                     // guarded by mu
  bool detached = false;  // the Leases is gone: claims only forget themselves
};

class SharedClaim : public CertificateClaim {
 public:
  SharedClaim(std::shared_ptr<HeldSet> held, std::shared_ptr<HeldLease> lease,
              FleetStore* store)
      : held_(std::move(held)), lease_(std::move(lease)), store_(store) {}
  ~SharedClaim() override {
    bool detached = false;
    {
      std::lock_guard<std::mutex> hold(held_->mu);
      held_->leases.erase(lease_->token);
      detached = held_->detached;
    }
    if (!detached) ReleaseBestEffort();
  }
  SharedClaim(const SharedClaim&) = delete;
  SharedClaim& operator=(const SharedClaim&) = delete;

  const std::string& certificate() const override { return lease_->certificate; }
  Status Check() const override {
    if (!lease_->lost.load()) return Status::Ok();
    return Status(ErrorCode::kLocked, "the claim on certificate '" + lease_->certificate +
                                          "' was lost: it could not be renewed in time")
        .Hint("another host may be renewing it now; this host stops and the next run "
              "finds out how it ended");
  }

 private:
  // A release that fails leaves the lease to expire after its ttl; the work
  // it guarded is finished either way.
  void ReleaseBestEffort() {
    Status ignored = store_->ReleaseLease(lease_->certificate, lease_->token);
    static_cast<void>(ignored);
  }

  const std::shared_ptr<HeldSet> held_;
  const std::shared_ptr<HeldLease> lease_;
  FleetStore* const store_;
};

class SharedLeasesImpl : public Leases {
 public:
  SharedLeasesImpl(std::string state_dir, FleetStore* store, std::string host, Clock* clock)
      : files_(FileLeases(state_dir)),
        store_(store),
        host_(std::move(host)),
        clock_(clock) {}

  ~SharedLeasesImpl() override {
    {
      std::lock_guard<std::mutex> hold(held_->mu);
      held_->stopping = true;
      held_->detached = true;
    }
    held_->changed.notify_all();
    if (renewer_.joinable()) renewer_.join();
  }

  Status AcquireRun() override { return files_->AcquireRun(); }
  bool HoldsRun() const override { return files_->HoldsRun(); }

  Result<std::unique_ptr<CertificateClaim>> Claim(std::string_view certificate,
                                                  Duration ttl) override {
    if (certificate.empty()) {
      return Status(ErrorCode::kInvalidArgument, "claim a certificate: no name given");
    }
    if (ttl <= Duration::zero()) {
      return Status(ErrorCode::kInvalidArgument,
                    "claim a certificate: the time to live must be positive")
          .Where(std::string(certificate));
    }
    auto lease = std::make_shared<HeldLease>();
    lease->certificate = std::string(certificate);
    lease->token = NewToken(host_);
    lease->ttl = ttl;
    const TimePoint now = clock_->Now();
    CK_ASSIGN_OR_RETURN(LeaseRecord in_force,
                        store_->TryLease(certificate, host_, lease->token, now, now + ttl));
    if (in_force.token != lease->token) {
      return Status(ErrorCode::kLocked, "certificate '" + std::string(certificate) +
                                            "' is being renewed by " + in_force.holder +
                                            " (claimed until " +
                                            FormatRfc3339(in_force.expires_at) + ")")
          .Hint("one host at a time works on a certificate; it is free when that host "
                "finishes, or when its claim runs out");
    }
    lease->renew_at = now + ttl / 3;
    lease->expires_at = now + ttl;
    {
      std::lock_guard<std::mutex> hold(held_->mu);
      held_->leases[lease->token] = lease;
      if (!renewer_.joinable()) renewer_ = std::thread([this] { RenewLoop(); });
    }
    held_->changed.notify_all();
    return std::unique_ptr<CertificateClaim>(new SharedClaim(held_, lease, store_));
  }

 private:
  // Renews every held lease a third of its ttl after it was last renewed; a
  // lease that cannot be renewed before it runs out is lost.
  void RenewLoop() {
    std::unique_lock<std::mutex> hold(held_->mu);
    while (!held_->stopping) {
      TimePoint next = TimePoint::max();
      std::vector<std::shared_ptr<HeldLease>> due;
      const TimePoint now = clock_->Now();
      for (auto& [token, lease] : held_->leases) {
        if (lease->lost.load()) continue;
        if (lease->renew_at <= now) due.push_back(lease);
        else next = std::min(next, lease->renew_at);
      }
      if (!due.empty()) {
        hold.unlock();
        for (const auto& lease : due) Renew(*lease);
        hold.lock();
        continue;
      }
      // Woken early by a new claim or by the destructor; the real clock
      // bounds the wait so that a fake clock moved by a test is seen.
      auto wait = next == TimePoint::max()
                      ? std::chrono::milliseconds(1000)
                      : std::chrono::duration_cast<std::chrono::milliseconds>(next - now);
      wait = std::clamp(wait, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
      held_->changed.wait_for(hold, wait);
    }
  }

  void Renew(HeldLease& lease) {
    const TimePoint now = clock_->Now();
    auto renewed = store_->RenewLease(lease.certificate, lease.token, now, now + lease.ttl);
    if (renewed.ok() && *renewed) {
      lease.renew_at = now + lease.ttl / 3;
      lease.expires_at = now + lease.ttl;
      return;
    }
    if (renewed.ok()) {
      lease.lost.store(true);  // expired and taken, or released
      return;
    }
    // The inventory could not be reached: try again soon, and give the lease
    // up once it would have run out.
    if (now + std::chrono::seconds(1) >= lease.expires_at) {
      lease.lost.store(true);
      return;
    }
    lease.renew_at = now + std::chrono::seconds(1);
  }

  const std::unique_ptr<Leases> files_;
  FleetStore* const store_;
  const std::string host_;
  Clock* const clock_;
  const std::shared_ptr<HeldSet> held_ = std::make_shared<HeldSet>();
  std::thread renewer_;  // started with the first claim
};

}  // namespace

std::unique_ptr<Leases> SharedLeases(const std::string& state_dir, FleetStore* store,
                                     std::string host, Clock* clock) {
  return std::make_unique<SharedLeasesImpl>(state_dir, store, std::move(host), clock);
}

}  // namespace certkeeper::store
