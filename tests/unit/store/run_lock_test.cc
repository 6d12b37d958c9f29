// The per-state-directory run lock: refusal in the same process, in another
// process, release on destruction, and release when the holder is killed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "store/run_lock.h"

namespace certkeeper::store {
namespace {

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
char ReadByte(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return 0;
  char c = 0;
  return read(fd, &c, 1) == 1 ? c : 0;
}

TEST(RunLockTest, SecondAcquireInSameProcessIsRefusedAndNamesHolder) {
  fs::TempDir dir;
  auto first = RunLock::TryAcquire(dir.path());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->path(), RunLockPath(dir.path()));

  auto second = RunLock::TryAcquire(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kLocked);
  EXPECT_NE(second.status().message().find("PID " + std::to_string(getpid())),
            std::string::npos)
      << second.status().message();
  EXPECT_EQ(second.status().where(), RunLockPath(dir.path()));
  EXPECT_FALSE(second.status().hint().empty());
}

TEST(RunLockTest, ReleasedWhenHolderIsDestroyedAndFileIsKept) {
  fs::TempDir dir;
  {
    auto held = RunLock::TryAcquire(dir.path());
    ASSERT_TRUE(held.ok());
    RunLock moved = std::move(held).value();  // ownership moves, lock stays held
    EXPECT_EQ(RunLock::TryAcquire(dir.path()).status().code(), ErrorCode::kLocked);
  }
  EXPECT_TRUE(fs::Exists(RunLockPath(dir.path())));
  auto again = RunLock::TryAcquire(dir.path());
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

TEST(RunLockTest, ForkedChildIsRefusedAndSeesParentPid) {
  fs::TempDir dir;
  auto held = RunLock::TryAcquire(dir.path());
  ASSERT_TRUE(held.ok());
  const std::string parent_pid = "PID " + std::to_string(getpid());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = RunLock::TryAcquire(dir.path());
    bool refused_correctly = !r.ok() && r.status().code() == ErrorCode::kLocked &&
                             r.status().message().find(parent_pid) != std::string::npos;
    _exit(refused_correctly ? 0 : 1);
  }
  Child child(pid);
  int status = child.Wait(std::chrono::seconds(10));
  ASSERT_NE(status, -1) << "child did not exit";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child was not refused with the parent's PID";
}

TEST(RunLockTest, LockOfKilledChildIsAcquirableAgain) {
  fs::TempDir dir;
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipe_fds[0]);
    auto r = RunLock::TryAcquire(dir.path());
    char c = r.ok() ? 'L' : 'E';
    if (write(pipe_fds[1], &c, 1) != 1) _exit(2);
    // Hold the lock until killed (bounded in case the parent died).
    for (int i = 0; i < 600; ++i) usleep(100 * 1000);
    _exit(3);
  }
  Child child(pid);
  close(pipe_fds[1]);
  char got = ReadByte(pipe_fds[0], 10000);
  close(pipe_fds[0]);
  ASSERT_EQ(got, 'L') << "child could not take the lock";

  auto refused = RunLock::TryAcquire(dir.path());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kLocked);
  EXPECT_NE(refused.status().message().find("PID " + std::to_string(pid)),
            std::string::npos)
      << refused.status().message();

  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = child.Wait(std::chrono::seconds(10));
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFSIGNALED(status));

  EXPECT_TRUE(fs::Exists(RunLockPath(dir.path())));
  auto taken = RunLock::TryAcquire(dir.path());
  EXPECT_TRUE(taken.ok()) << taken.status().ToString();
}

TEST(RunLockTest, MissingStateDirectoryIsAnError) {
  fs::TempDir dir;
  auto r = RunLock::TryAcquire(dir.path() + "/missing");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().code(), ErrorCode::kLocked);
  EXPECT_FALSE(r.status().hint().empty());
}

}  // namespace
}  // namespace certkeeper::store
