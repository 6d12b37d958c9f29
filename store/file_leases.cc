// FileLeases: the run lease is the state directory's flock (store/run_lock.h);
// claims are kept in memory, since one run per state directory is the only
// process that can claim there.
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "store/lease.h"
#include "store/run_lock.h"

namespace certkeeper::store {

namespace {

// The certificates claimed through one FileLeases. Shared with its claims, so
// that a claim destroyed after its FileLeases still has somewhere to release.
struct ClaimedSet {
  std::mutex mu;
  std::set<std::string, std::less<>> names;  // guarded by mu
};

class FileClaim : public CertificateClaim {
 public:
  FileClaim(std::shared_ptr<ClaimedSet> claimed, std::string certificate)
      : claimed_(std::move(claimed)), certificate_(std::move(certificate)) {}
  ~FileClaim() override {
    std::lock_guard<std::mutex> hold(claimed_->mu);
    claimed_->names.erase(certificate_);
  }
  FileClaim(const FileClaim&) = delete;
  FileClaim& operator=(const FileClaim&) = delete;

  const std::string& certificate() const override { return certificate_; }
  // The flock holds for as long as this process lives: never lost.
  Status Check() const override { return Status::Ok(); }

 private:
  const std::shared_ptr<ClaimedSet> claimed_;
  const std::string certificate_;
};

class FileLeasesImpl : public Leases {
 public:
  explicit FileLeasesImpl(std::string state_dir) : state_dir_(std::move(state_dir)) {}

  Status AcquireRun() override {
    std::lock_guard<std::mutex> hold(mu_);
    if (lock_) return Status::Ok();
    CK_ASSIGN_OR_RETURN(RunLock lock, RunLock::TryAcquire(state_dir_));
    lock_.emplace(std::move(lock));
    return Status::Ok();
  }

  bool HoldsRun() const override {
    std::lock_guard<std::mutex> hold(mu_);
    return lock_.has_value();
  }

  // The ttl bounds how long a dead holder keeps a claim; here the kernel drops
  // the flock the moment the holder dies, which is never later than the ttl.
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
    // One run per state directory: the run lease keeps other processes out.
    if (!HoldsRun()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "a certificate is claimed only while the run lock is held")
          .Where(RunLockPath(state_dir_));
    }
    std::lock_guard<std::mutex> hold(claimed_->mu);
    if (!claimed_->names.emplace(certificate).second) {
      return Status(ErrorCode::kLocked, "certificate '" + std::string(certificate) +
                                            "' is claimed by another job of this run")
          .Where(RunLockPath(state_dir_))
          .Hint("one job at a time works on a certificate; it is free when that job ends");
    }
    return std::unique_ptr<CertificateClaim>(
        new FileClaim(claimed_, std::string(certificate)));
  }

 private:
  const std::string state_dir_;
  mutable std::mutex mu_;
  std::optional<RunLock> lock_;  // guarded by mu_
  const std::shared_ptr<ClaimedSet> claimed_ = std::make_shared<ClaimedSet>();
};

}  // namespace

std::unique_ptr<Leases> FileLeases(const std::string& state_dir) {
  return std::make_unique<FileLeasesImpl>(state_dir);
}

}  // namespace certkeeper::store
