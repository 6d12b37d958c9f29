// Bounded waits on one descriptor: every network wait has a deadline
// (ARCHITECTURE.md, Principles), and these are the only poll(2) loops that a
// client socket goes through.
#ifndef CERTKEEPER_BASE_POLL_WAIT_H_
#define CERTKEEPER_BASE_POLL_WAIT_H_

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <string_view>

#include "base/status.h"

namespace certkeeper {

using SteadyDeadline = std::chrono::steady_clock::time_point;

// Waits until fd is ready for `events` (POLLIN, POLLOUT) or `deadline` passes.
// A signal that interrupts poll (EINTR) does not end the wait: it goes on with
// the time that is left, so the deadline, not the signal, decides.
//   OK                 poll reported fd: ready, or in error or hung up (POLLERR,
//                      POLLHUP), which the caller's next read or write reports.
//   kDeadlineExceeded  "timed out waiting for the peer" (never before deadline).
//   kIo                poll itself failed: "poll failed: <strerror>", or fd is
//                      not an open descriptor (POLLNVAL).
// Both errors carry `where` (the peer, e.g. "127.0.0.1:443").
Status WaitForFd(int fd, short events, SteadyDeadline deadline, std::string_view where);

// Connects the non-blocking socket fd to addr and waits (WaitForFd) until the
// connection is established or `deadline` passes.
//   kUnavailable       "cannot connect: <strerror>" (refused, unreachable, ...)
//   kDeadlineExceeded  "connect timed out"
//   kIo                poll failed
// fd MUST have O_NONBLOCK set; it stays open and owned by the caller.
Status ConnectBefore(int fd, const sockaddr* addr, socklen_t addr_len, SteadyDeadline deadline,
                     std::string_view where);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_POLL_WAIT_H_
