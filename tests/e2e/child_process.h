// Processes an end-to-end test starts itself (a long-running certkeeper, a
// browser): started with execv (no shell), output to a file, and always
// stopped by PID, also when the test fails.
#ifndef CERTKEEPER_TESTS_E2E_CHILD_PROCESS_H_
#define CERTKEEPER_TESTS_E2E_CHILD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace certkeeper::child_process {

// Polls `done` every 20 ms until it holds or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A child process (execv, no shell) with stdout and stderr sent to files:
// both to out_path, or stderr to err_path when one is given.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& out_path,
        const std::string& err_path = "") {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = err_path.empty() ? fd : open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) dup2(fd, 1);
      if (err >= 0) dup2(err, 2);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() { Kill(SIGKILL); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // Sends sig and reaps; returns the wait status (or -1 when already reaped).
  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    return Wait(std::chrono::seconds(30));
  }
  // Waits for the child to end (bounded; SIGKILL after the timeout).
  int Wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      pid_t r = waitpid(pid_, &status_, WNOHANG);
      if (r == pid_ || r < 0) break;
      if (std::chrono::steady_clock::now() > deadline) {
        timed_out_ = true;
        kill(pid_, SIGKILL);
        waitpid(pid_, &status_, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    return status_;
  }
  bool Exited() {
    if (pid_ <= 0) return true;
    if (waitpid(pid_, &status_, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }
  // The wait status once reaped (-1 before).
  int status() const { return status_; }
  // Whether Wait ran out of time and killed the child.
  bool timed_out() const { return timed_out_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool timed_out_ = false;
};

}  // namespace certkeeper::child_process

#endif  // CERTKEEPER_TESTS_E2E_CHILD_PROCESS_H_
