// What RunProcess captures ends up in the inventory and in --json: it must be
// valid UTF-8 whatever the program printed, and a failed wait must neither
// read as success nor leave the child behind.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/internal/process_poll.h"
#include "base/process.h"
#include "base/text.h"

namespace certkeeper {
namespace {

const std::string kCaptureFffd = "\xEF\xBF\xBD";

TEST(RunProcessCapture, InvalidBytesBecomeReplacementCharacters) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "printf 'bad \\377 byte'; printf 'err \\300\\257' >&2"};
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stdout_data, "bad " + kCaptureFffd + " byte");
  EXPECT_EQ(r->stderr_data, "err " + kCaptureFffd + kCaptureFffd);
}

TEST(RunProcessCapture, TruncationNeverSplitsAMultibyteCharacter) {
  // 3000 euro signs (3 bytes each) against a limit of 1000 bytes: 1000 is not
  // a multiple of 3, so a byte cut would leave half a character.
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "i=0; while [ $i -lt 3000 ]; do printf '\\342\\202\\254'; i=$((i+1)); done"};
  spec.max_output = 1000;
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string marker = "\n[output truncated]";
  ASSERT_GE(r->stdout_data.size(), marker.size());
  std::string body = r->stdout_data.substr(0, r->stdout_data.size() - marker.size());
  EXPECT_EQ(r->stdout_data.substr(body.size()), marker);
  EXPECT_EQ(body.size(), 999u);  // 333 whole characters
  EXPECT_TRUE(IsValidUtf8(body));
  EXPECT_EQ(body.find(kCaptureFffd), std::string::npos);
}

TEST(RunProcessCapture, FailureTailIsCutOnACharacterBoundary) {
  ProcessSpec spec;
  // 700 two-byte characters on stderr, then a failing exit: the message holds
  // the last 600 bytes, which start in the middle of a character at an odd cut.
  spec.argv = {"sh", "-c", "i=0; while [ $i -lt 700 ]; do printf 'x\\303\\251' >&2; i=$((i+1)); done; exit 3"};
  auto r = RunProcessChecked(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsValidUtf8(r.status().message())) << r.status().message();
  EXPECT_EQ(r.status().message().find(kCaptureFffd), std::string::npos);
}

// ---- poll(2) failures, through the seam ----

std::string* g_pid_file = nullptr;
int g_eintr_calls = 0;

int FailOnceChildIsUp(struct pollfd* fds, nfds_t nfds, int timeout_ms) {
  if (!fs::Exists(*g_pid_file)) return ::poll(fds, nfds, timeout_ms);
  errno = ENOMEM;
  return -1;
}

int AlwaysInterrupted(struct pollfd*, nfds_t, int) {
  ++g_eintr_calls;
  errno = EINTR;
  return -1;
}

class PollSeam {
 public:
  explicit PollSeam(internal::PollFunction f) { internal::SetProcessPollForTesting(f); }
  ~PollSeam() { internal::SetProcessPollForTesting(nullptr); }
};

TEST(RunProcessPoll, FailureKillsAndReapsTheChildAndIsAnError) {
  fs::TempDir dir;
  std::string pid_file = dir.path() + "/pid";
  g_pid_file = &pid_file;
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo $$ > " + pid_file + ".tmp && mv " + pid_file + ".tmp " +
                               pid_file + " && exec sleep 30"};
  spec.timeout = std::chrono::seconds(20);
  Result<ProcessResult> r = Status(ErrorCode::kInternal, "not run");
  {
    PollSeam seam(&FailOnceChildIsUp);
    r = RunProcess(spec);
  }
  auto pid_text = fs::ReadFile(pid_file);
  ASSERT_TRUE(pid_text.ok()) << pid_text.status().ToString();
  pid_t pid = static_cast<pid_t>(std::stol(*pid_text));
  // Reaped: not even a zombie is left to signal.
  bool gone = kill(pid, 0) != 0 && errno == ESRCH;
  if (!gone) {  // keep a failing run from leaking the sleeper
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  EXPECT_TRUE(gone) << "child " << pid << " is still there";
  ASSERT_FALSE(r.ok()) << "a failed poll was reported as " << r->Describe();
  EXPECT_EQ(r.status().code(), ErrorCode::kIo);
  EXPECT_NE(r.status().message().find("poll"), std::string::npos) << r.status().ToString();
}

TEST(RunProcessPoll, InterruptedPollRetriesAndTheDeadlineStillHolds) {
  g_eintr_calls = 0;
  ProcessSpec spec;
  spec.argv = {"sleep", "30"};
  spec.timeout = std::chrono::milliseconds(300);
  Result<ProcessResult> r = Status(ErrorCode::kInternal, "not run");
  {
    PollSeam seam(&AlwaysInterrupted);
    r = RunProcess(spec);
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_GT(g_eintr_calls, 1);
}

int g_empty_polls = 0;
int g_polls = 0;

int CountingPoll(struct pollfd* fds, nfds_t nfds, int timeout_ms) {
  ++g_polls;
  if (nfds == 0) ++g_empty_polls;
  return ::poll(fds, nfds, timeout_ms);
}

// `script` run by sh with every poll of the pump going through `poll`.
Result<ProcessResult> RunPolledThrough(internal::PollFunction poll, const std::string& script,
                                       std::chrono::milliseconds timeout) {
  g_empty_polls = 0;
  g_polls = 0;
  ProcessSpec spec;
  spec.argv = {"sh", "-c", script};
  spec.timeout = timeout;
  PollSeam seam(poll);
  return RunProcess(spec);
}

// A child that closes its streams and goes on (a daemonizing hook, or one
// that exits right after its last line): its exit must end the wait, not the
// next poll timeout. A poll with nothing to wait for is such a sleep.
TEST(RunProcessPoll, AChildThatClosedItsStreamsIsWaitedForNotSleptOn) {
  auto r = RunPolledThrough(&CountingPoll, "exec >&- 2>&-; sleep 0.2; exit 4",
                            std::chrono::seconds(20));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_FALSE(r->timed_out);
  EXPECT_GT(g_polls, 0);
  EXPECT_EQ(g_empty_polls, 0) << "of " << g_polls << " polls";
}

int ReapingElsewhere(struct pollfd* fds, nfds_t nfds, int timeout_ms) {
  ++g_polls;
  const int ready = ::poll(fds, nfds, timeout_ms);
  // Another part of the process reaps every child that has exited, before
  // the pump looks.
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  return ready;
}

// A child reaped behind the pump's back leaves a readable pidfd and no exit
// status: the pump must neither spin on it nor call the run a success.
TEST(RunProcessPoll, AChildReapedElsewhereEndsAtTheDeadlineWithoutSpinning) {
  // It exits while the pump waits in poll, so the seam reaps it first.
  auto r = RunPolledThrough(&ReapingElsewhere, "exec >&- 2>&-; sleep 0.1; exit 0",
                            std::chrono::milliseconds(400));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->success()) << r->Describe();
  EXPECT_LT(g_polls, 200) << "the pump spun on the readable pidfd";
}

}  // namespace
}  // namespace certkeeper
