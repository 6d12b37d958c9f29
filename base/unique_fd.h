// The one owned file descriptor type of the code base: every socket, pipe and
// file descriptor that a scope opens is held in a UniqueFd so that every exit
// path closes it. Move-only.
#ifndef CERTKEEPER_BASE_UNIQUE_FD_H_
#define CERTKEEPER_BASE_UNIQUE_FD_H_

#include <string>
#include <utility>

#include "base/status.h"

namespace certkeeper::fs {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Gives up ownership: the caller closes the returned descriptor.
  int Release() { return std::exchange(fd_, -1); }
  // Closes the held descriptor (its close error is not reported: call
  // Close() where a write must be known to have succeeded) and holds fd.
  void Reset(int fd = -1);
  // Closes the held descriptor and reports a close(2) error for `path`.
  Status Close(const std::string& path);

 private:
  int fd_ = -1;
};

}  // namespace certkeeper::fs

#endif  // CERTKEEPER_BASE_UNIQUE_FD_H_
