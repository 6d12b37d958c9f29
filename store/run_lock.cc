#include "store/run_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <utility>

#include "base/fs.h"

namespace certkeeper::store {

namespace {

Status ErrnoError(std::string_view what, const std::string& path, int err) {
  return Status(err == EACCES || err == EPERM ? ErrorCode::kPermissionDenied
                                              : ErrorCode::kIo,
                std::string(what) + ": " + strerror(err))
      .Where(path);
}

// The PID the holder wrote, or "unknown" (the holder may not have written it yet).
std::string ReadHolderPid(int fd) {
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "unknown";
  std::string text(buf, static_cast<size_t>(n));
  size_t end = 0;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  if (end == 0) return "unknown";
  return text.substr(0, end);
}

Status WritePid(int fd, const std::string& path) {
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0) return ErrnoError("cannot truncate the lock file", path, errno);
  ssize_t n = pwrite(fd, pid.data(), pid.size(), 0);
  if (n != static_cast<ssize_t>(pid.size())) {
    return ErrnoError("cannot write the PID into the lock file", path, n < 0 ? errno : EIO);
  }
  return Status::Ok();
}

}  // namespace

std::string RunLockPath(const std::string& state_dir) {
  return fs::JoinPath(state_dir, "certkeeper.lock");
}

Result<RunLock> RunLock::TryAcquire(const std::string& state_dir) {
  std::string path = RunLockPath(state_dir);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    int err = errno;
    Status status = ErrnoError("cannot open the lock file", path, err);
    if (err == ENOENT) status.Hint("create the state directory first");
    return status;
  }
  RunLock lock(fd, path);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err == EWOULDBLOCK) {
      return Status(ErrorCode::kLocked, "another certkeeper run (PID " +
                                            ReadHolderPid(fd) +
                                            ") holds the lock on this state directory")
          .Where(path)
          .Hint("wait for that run to finish and try again; the lock is released "
                "automatically when it exits, even if it is killed");
    }
    return ErrnoError("cannot lock the lock file", path, err);
  }
  CK_RETURN_IF_ERROR(WritePid(fd, path));
  return lock;
}

RunLock::RunLock(RunLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

RunLock::~RunLock() { Release(); }

void RunLock::Release() {
  if (fd_ < 0) return;
  // Closing the last descriptor of the open file description drops the flock.
  close(fd_);
  fd_ = -1;
}

}  // namespace certkeeper::store
