// Pieces of the kill -9 campaign (kill_campaign_test.cc): a seeded random
// source that gives the same kill points on every platform, a certkeeper run
// that is killed with SIGKILL at a chosen moment or after a chosen number of
// stderr lines, and the processes it leaves behind. Every process started here
// is waited for, and what outlives the killed run is stopped by PID.
#ifndef CERTKEEPER_TESTS_E2E_KILL_CAMPAIGN_SUPPORT_H_
#define CERTKEEPER_TESTS_E2E_KILL_CAMPAIGN_SUPPORT_H_

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/testenv.h"

namespace certkeeper::kill_campaign {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

// SplitMix64: a tiny generator whose sequence is fixed by its definition, so a
// seed printed by one build reproduces the same campaign with any standard
// library (std:: distributions are implementation-defined).
class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Fraction() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }

 private:
  uint64_t state_;
};

// The kernel's view of one process: /proc/PID/stat fields 3, 4 and 22.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  unsigned long long start_ticks = 0;
};

// With read(2): a process that ends while its stat file is read makes the read
// fail with ESRCH, which std::ifstream turns into an exception.
inline std::optional<ProcStat> ReadProcStat(const std::string& stat_path) {
  int fd = open(stat_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return std::nullopt;
  std::string stat(buf, static_cast<size_t>(n));
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(paren + 1));
  ProcStat s;
  std::string field;
  rest >> s.state >> s.ppid;
  for (int i = 5; i < 22 && rest >> field; ++i) {
  }
  if (!(rest >> s.start_ticks)) return std::nullopt;
  return s;
}

inline std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = opendir(path.c_str());
  if (!dir) return names;
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  return names;
}

// The live processes whose parent is `parent`.
inline std::vector<testing::RecordedProcess> ChildrenOf(pid_t parent) {
  std::vector<testing::RecordedProcess> children;
  for (const std::string& name : ListDir("/proc")) {
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto stat = ReadProcStat("/proc/" + name + "/stat");
    if (!stat || stat->ppid != parent || stat->state == 'Z') continue;
    children.push_back({"child", static_cast<pid_t>(std::stoi(name)), stat->start_ticks});
  }
  return children;
}

// True while that very process runs (same PID and start time, not a zombie).
inline bool StillRunning(const testing::RecordedProcess& process) {
  auto stat = ReadProcStat("/proc/" + std::to_string(process.pid) + "/stat");
  return stat && stat->start_ticks == process.start_ticks && stat->state != 'Z' &&
         stat->state != 'X';
}

// True once every thread of pid is stopped (or the process is gone or a zombie).
inline bool AllThreadsStopped(pid_t pid) {
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  for (const std::string& tid : ListDir(task_dir)) {
    auto stat = ReadProcStat(task_dir + "/" + tid + "/stat");
    if (stat && stat->state != 'T' && stat->state != 't' && stat->state != 'Z' &&
        stat->state != 'X') {
      return false;
    }
  }
  return true;
}

// Polls `done` every millisecond until it holds or `timeout` passes.
template <typename F>
bool PollUntil(F done, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// Where a run is killed: after `delay` from its start, or right after it wrote
// stderr line number `line`.
struct KillPoint {
  enum class Mode { kDelay, kLine } mode = Mode::kDelay;
  double fraction = 0;  // the seeded draw, in [0, 1)
  milliseconds delay{0};
  int line = 0;
  std::string Describe() const {
    char buf[96];
    if (mode == Mode::kDelay) {
      snprintf(buf, sizeof buf, "delay u=%.4f -> %lld ms", fraction,
               static_cast<long long>(delay.count()));
    } else {
      snprintf(buf, sizeof buf, "stderr line u=%.4f -> line %d", fraction, line);
    }
    return buf;
  }
};

struct KilledRun {
  bool killed = false;   // SIGKILL ended it; false when it exited first
  int exit_code = -1;    // when it exited before the kill point
  int lines = 0;         // stderr lines written before the kill
  milliseconds at{0};    // when the kill (or the exit) happened
  std::string err;       // stderr up to then
  std::vector<testing::RecordedProcess> orphans;  // children the kill left
  int orphans_stopped = 0;  // orphans still running after 10 s, stopped by SIGKILL
  bool overran = false;     // still running at the bound: killed there
};

// Runs argv (no shell) with stderr on a pipe and kills it at `point`, or at
// `bound`. To know exactly which children the kill orphans, the process is
// first stopped (SIGSTOP; it can then start no new child), its children are
// listed, then it gets SIGKILL. Orphans (a reload command, say) may finish
// their work, as after a real kill; any still running after 10 s is killed.
inline KilledRun RunAndKill(const std::vector<std::string>& argv, const KillPoint& point,
                            milliseconds bound) {
  KilledRun run;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return run;
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    dup2(fds[1], 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return run;
  }
  const auto kill_at = start + point.delay;
  const auto hard_stop = start + bound;
  bool eof = false;
  int status = 0;
  bool exited = false;
  while (true) {
    if (point.mode == KillPoint::Mode::kLine && run.lines >= point.line) break;
    auto now = Clock::now();
    if (point.mode == KillPoint::Mode::kDelay && now >= kill_at) break;
    if (now >= hard_stop) {
      run.overran = true;
      break;
    }
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    auto until = point.mode == KillPoint::Mode::kDelay ? std::min(kill_at, hard_stop) : hard_stop;
    int wait_ms = static_cast<int>(std::chrono::duration_cast<milliseconds>(until - now).count());
    wait_ms = std::max(0, std::min(wait_ms, eof ? 1 : 20));
    if (eof) {
      std::this_thread::sleep_for(milliseconds(wait_ms));
      continue;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    if (poll(&pfd, 1, wait_ms) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) {
      eof = true;
      continue;
    }
    // Counted byte by byte so that a line-mode kill lands right after line k,
    // not after whatever else arrived in the same read.
    for (ssize_t i = 0; i < n; ++i) {
      run.err += buf[i];
      if (buf[i] == '\n' && ++run.lines == point.line &&
          point.mode == KillPoint::Mode::kLine) {
        break;
      }
    }
  }
  if (!exited) {
    kill(pid, SIGSTOP);
    PollUntil([&] { return AllThreadsStopped(pid); }, milliseconds(2000));
    run.orphans = ChildrenOf(pid);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  run.at = Since(start);
  close(fds[0]);
  run.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  for (const testing::RecordedProcess& orphan : run.orphans) {
    if (!PollUntil([&] { return !StillRunning(orphan); }, milliseconds(10000)) &&
        StillRunning(orphan)) {
      kill(orphan.pid, SIGKILL);
      ++run.orphans_stopped;
    }
  }
  return run;
}

}  // namespace certkeeper::kill_campaign

#endif  // CERTKEEPER_TESTS_E2E_KILL_CAMPAIGN_SUPPORT_H_
