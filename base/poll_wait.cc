#include "base/poll_wait.h"

#include <errno.h>
#include <string.h>

#include <algorithm>
#include <climits>
#include <string>

namespace certkeeper {

Status WaitForFd(int fd, short events, SteadyDeadline deadline, std::string_view where) {
  while (true) {
    // Rounded up, so that a wait never ends before the deadline it was given.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status(ErrorCode::kDeadlineExceeded, "timed out waiting for the peer")
          .Where(std::string(where));
    }
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int rc = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
    if (rc > 0 && (p.revents & POLLNVAL) != 0) {
      return Status(ErrorCode::kIo, "poll: descriptor " + std::to_string(fd) + " is not open")
          .Where(std::string(where));
    }
    if (rc > 0) return Status::Ok();
    if (rc == 0 || errno == EINTR) continue;  // the loop head decides on the deadline
    return Status(ErrorCode::kIo, std::string("poll failed: ") + strerror(errno))
        .Where(std::string(where));
  }
}

Status ConnectBefore(int fd, const sockaddr* addr, socklen_t addr_len, SteadyDeadline deadline,
                     std::string_view where) {
  auto refused = [&](int err) {
    return Status(ErrorCode::kUnavailable, std::string("cannot connect: ") + strerror(err))
        .Where(std::string(where));
  };
  if (connect(fd, addr, addr_len) == 0) return Status::Ok();
  // EINTR: the connection goes on being established asynchronously (connect(2)).
  if (errno != EINPROGRESS && errno != EINTR) return refused(errno);
  Status ready = WaitForFd(fd, POLLOUT, deadline, where);
  if (ready.code() == ErrorCode::kDeadlineExceeded) {
    return Status(ErrorCode::kDeadlineExceeded, "connect timed out").Where(std::string(where));
  }
  if (!ready.ok()) return ready;
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) return refused(err);
  return Status::Ok();
}

}  // namespace certkeeper
