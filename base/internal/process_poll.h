// Test seam for RunProcess: the poll(2) it waits with. Production code never
// sets it; tests use it to make poll fail (which the kernel does only under
// conditions a test cannot arrange, e.g. ENOMEM) or be interrupted.
#ifndef CERTKEEPER_BASE_INTERNAL_PROCESS_POLL_H_
#define CERTKEEPER_BASE_INTERNAL_PROCESS_POLL_H_

#include <poll.h>

namespace certkeeper::internal {

using PollFunction = int (*)(struct pollfd* fds, nfds_t nfds, int timeout_ms);

// Replaces the poll function RunProcess calls (nullptr restores ::poll) and
// returns the previous one. Not for use while a RunProcess is in progress.
PollFunction SetProcessPollForTesting(PollFunction poll_function);

}  // namespace certkeeper::internal

#endif  // CERTKEEPER_BASE_INTERNAL_PROCESS_POLL_H_
