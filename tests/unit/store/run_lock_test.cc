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
#include "tests/unit/store/child_process.h"

namespace certkeeper::store {
namespace {

using testing::Child;
using testing::ReadByte;
using testing::TrueInChild;

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
  EXPECT_TRUE(TrueInChild([&] {
    auto r = RunLock::TryAcquire(dir.path());
    return !r.ok() && r.status().code() == ErrorCode::kLocked &&
           r.status().message().find(parent_pid) != std::string::npos;
  })) << "the child was not refused with the parent's PID";
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
