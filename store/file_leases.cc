// FileLeases: the run lease is the state directory's flock (store/run_lock.h).
#include <mutex>
#include <optional>
#include <utility>

#include "store/lease.h"
#include "store/run_lock.h"

namespace certkeeper::store {

namespace {

class ImpliedClaim : public CertificateClaim {
 public:
  explicit ImpliedClaim(std::string certificate) : certificate_(std::move(certificate)) {}
  const std::string& certificate() const override { return certificate_; }

 private:
  std::string certificate_;
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

  Result<std::unique_ptr<CertificateClaim>> Claim(std::string_view certificate,
                                                  Duration /*ttl*/) override {
    // One run per state directory: the run lease covers every certificate.
    if (!HoldsRun()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "a certificate is claimed only while the run lock is held")
          .Where(RunLockPath(state_dir_));
    }
    return std::unique_ptr<CertificateClaim>(new ImpliedClaim(std::string(certificate)));
  }

 private:
  const std::string state_dir_;
  mutable std::mutex mu_;
  std::optional<RunLock> lock_;
};

}  // namespace

std::unique_ptr<Leases> FileLeases(const std::string& state_dir) {
  return std::make_unique<FileLeasesImpl>(state_dir);
}

}  // namespace certkeeper::store
