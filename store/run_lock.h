// RunLock: at most one certkeeper run per state directory.
//
// The lock is flock(2) on STATE/certkeeper.lock. The kernel drops it when the
// holding process exits for any reason (including kill -9), so a killed run
// never blocks the next one and there is no stale-lock cleanup. The file itself
// is never removed: unlinking it would let two processes lock two different
// files under the same name. The holder writes its PID into the file so that a
// refused run can name it.
//
// flock locks belong to an open file description: a second TryAcquire in the
// same process is refused like one from another process. The descriptor is
// close-on-exec, so programs started by the run (hooks) do not inherit it.
#ifndef CERTKEEPER_STORE_RUN_LOCK_H_
#define CERTKEEPER_STORE_RUN_LOCK_H_

#include <string>

#include "base/status.h"

namespace certkeeper::store {

// STATE/certkeeper.lock
std::string RunLockPath(const std::string& state_dir);

class RunLock {
 public:
  // Takes the lock for state_dir without waiting. When another run holds it,
  // fails with kLocked naming the holder's PID, the lock file, and a hint. The
  // state directory must exist.
  static Result<RunLock> TryAcquire(const std::string& state_dir);

  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  // Releases the lock; the file stays.
  ~RunLock();

  const std::string& path() const { return path_; }

 private:
  RunLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void Release();

  int fd_ = -1;
  std::string path_;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_RUN_LOCK_H_
