// Forked children for the store tests that need a second process (run lock,
// leases): every child is killed and reaped when the test ends, whatever the
// outcome, and every wait is bounded.
#ifndef CERTKEEPER_TESTS_UNIT_STORE_CHILD_PROCESS_H_
#define CERTKEEPER_TESTS_UNIT_STORE_CHILD_PROCESS_H_

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

namespace certkeeper::store::testing {

// Kills and reaps a forked child when the test ends, whatever the outcome.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  // Waits up to `timeout` for the child to exit; returns its wait status or -1.
  int Wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return status;
      }
      if (r < 0) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }

 private:
  pid_t pid_;
};

// Reads one byte from fd within the timeout; returns 0 when nothing arrived.
inline char ReadByte(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return 0;
  char c = 0;
  return read(fd, &c, 1) == 1 ? c : 0;
}

// Runs `check` in a forked child. Returns true when the child exited within
// 10 s and `check` returned true there.
inline bool TrueInChild(const std::function<bool()>& check) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) _exit(check() ? 0 : 1);
  Child child(pid);
  int status = child.Wait(std::chrono::seconds(10));
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace certkeeper::store::testing

#endif  // CERTKEEPER_TESTS_UNIT_STORE_CHILD_PROCESS_H_
