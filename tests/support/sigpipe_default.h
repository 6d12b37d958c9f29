// Puts SIGPIPE back to its default disposition (and unblocks it in the calling
// thread) for one scope, so that code which raises it ends the test binary: a
// regression test for "never raises SIGPIPE" then fails loudly.
#ifndef CERTKEEPER_TESTS_SUPPORT_SIGPIPE_DEFAULT_H_
#define CERTKEEPER_TESTS_SUPPORT_SIGPIPE_DEFAULT_H_

#include <pthread.h>
#include <signal.h>

namespace certkeeper::testing {

class SigpipeDefault {
 public:
  SigpipeDefault() {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, &old_action_);
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, &old_mask_);
  }
  ~SigpipeDefault() {
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    sigaction(SIGPIPE, &old_action_, nullptr);
  }
  SigpipeDefault(const SigpipeDefault&) = delete;
  SigpipeDefault& operator=(const SigpipeDefault&) = delete;

 private:
  struct sigaction old_action_ {};
  sigset_t old_mask_{};
};

}  // namespace certkeeper::testing

#endif  // CERTKEEPER_TESTS_SUPPORT_SIGPIPE_DEFAULT_H_
