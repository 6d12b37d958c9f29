#include "base/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "base/internal/process_poll.h"
#include "base/text.h"
#include "base/unique_fd.h"

extern char** environ;

namespace certkeeper {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::atomic<internal::PollFunction> g_poll{nullptr};

int Poll(pollfd* fds, nfds_t nfds, int timeout_ms) {
  internal::PollFunction f = g_poll.load();
  return f != nullptr ? f(fds, nfds, timeout_ms) : ::poll(fds, nfds, timeout_ms);
}

// Bytes kept beyond the output limit, so that the cut can be moved back to the
// start of a multibyte character instead of splitting it.
constexpr size_t kUtf8Slack = 3;

// Resolves a program name the way execvp would, but in the parent, so that the
// child only calls execve.
Result<std::string> ResolveProgram(const std::string& name) {
  if (name.empty()) return Status(ErrorCode::kInvalidArgument, "empty program name");
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) != 0) {
      return Status(ErrorCode::kNotFound, std::string("cannot execute: ") + strerror(errno))
          .Where(name);
    }
    return name;
  }
  const char* path_env = getenv("PATH");
  std::string path = path_env ? path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    // An empty PATH entry means the current directory.
    std::string candidate = end > start ? path.substr(start, end - start) : std::string(".");
    candidate += '/';
    candidate += name;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return Status(ErrorCode::kNotFound, "program not found in PATH").Where(name)
      .Hint("give the full path of the program, or install it");
}

void AppendCapped(std::string& out, const char* data, size_t n, size_t cap, bool& truncated) {
  size_t keep = cap + kUtf8Slack;
  if (out.size() >= keep) {
    truncated = true;
    return;
  }
  size_t take = std::min(n, keep - out.size());
  out.append(data, take);
  if (take < n || out.size() > cap) truncated = true;
}

// What a program printed is stored, logged and put into JSON: cut at a
// character boundary within the limit, then made valid UTF-8.
std::string FinishCapture(const std::string& raw, size_t cap, bool truncated) {
  std::string out = SanitizeUtf8(truncated ? Utf8Prefix(raw, cap) : raw);
  if (truncated) out += "\n[output truncated]";
  return out;
}

// Kills the child's process group and reaps the child, so no error path
// leaves a running or zombie process behind.
void KillAndReap(pid_t pid, int* wstatus) {
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR) {
  }
}

std::string Tail(const std::string& s, size_t n) {
  std::string t = s.size() > n ? "..." + std::string(Utf8Suffix(s, n)) : s;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

// Everything the child needs, built before fork(): after it, the child makes
// only async-signal-safe calls and allocates nothing. The char* vectors point
// into the string vectors, whose elements stay in place when the struct moves.
struct PreparedExec {
  std::string program;
  std::vector<std::string> argv_strings;
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* workdir = nullptr;  // nullptr: inherit
};

Result<PreparedExec> PrepareExec(const ProcessSpec& spec) {
  PreparedExec exec;
  CK_ASSIGN_OR_RETURN(exec.program, ResolveProgram(spec.argv[0]));
  if (spec.inherit_env) {
    for (char** e = environ; e && *e; ++e) {
      std::string entry = *e;
      std::string key = entry.substr(0, entry.find('='));
      bool overridden = std::any_of(spec.env.begin(), spec.env.end(),
                                    [&](const auto& kv) { return kv.first == key; });
      if (!overridden) exec.env_strings.push_back(std::move(entry));
    }
  }
  for (const auto& [k, v] : spec.env) exec.env_strings.push_back(k + "=" + v);
  for (auto& s : exec.env_strings) exec.envp.push_back(s.data());
  exec.envp.push_back(nullptr);
  exec.argv_strings = spec.argv;
  for (auto& s : exec.argv_strings) exec.argv.push_back(s.data());
  exec.argv.push_back(nullptr);
  exec.workdir = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
  return exec;
}

struct Pipe {
  fs::UniqueFd read;
  fs::UniqueFd write;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return Status(ErrorCode::kIo, std::string("pipe: ") + strerror(errno));
  }
  return Pipe{fs::UniqueFd(fds[0]), fs::UniqueFd(fds[1])};
}

// The child side of fork(): async-signal-safe calls only, no allocation. A
// failure to start is reported to the parent as an errno on exec_fd, which
// O_CLOEXEC closes without data when execve succeeds.
[[noreturn]] void RunChild(const PreparedExec& exec, int in_fd, int out_fd, int err_fd,
                           int exec_fd) {
  setpgid(0, 0);
  // Default signal dispositions for the new program.
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &sa, nullptr);
  dup2(in_fd, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  if (exec.workdir && chdir(exec.workdir) != 0) {
    int err = errno;
    (void)!write(exec_fd, &err, sizeof(err));
    _exit(127);
  }
  execve(exec.program.c_str(), exec.argv.data(), exec.envp.data());
  int err = errno;
  (void)!write(exec_fd, &err, sizeof(err));
  _exit(127);
}

// A started child and the parent's ends of its standard streams.
struct StartedChild {
  pid_t pid = -1;
  fs::UniqueFd in;
  fs::UniqueFd out;
  fs::UniqueFd err;
};

// Forks and execs; returns once execve has succeeded in the child, or an
// error (with the child reaped) when it could not be started.
Result<StartedChild> StartChild(const ProcessSpec& spec, const PreparedExec& exec) {
  CK_ASSIGN_OR_RETURN(Pipe in_pipe, MakePipe());
  CK_ASSIGN_OR_RETURN(Pipe out_pipe, MakePipe());
  CK_ASSIGN_OR_RETURN(Pipe err_pipe, MakePipe());
  CK_ASSIGN_OR_RETURN(Pipe exec_pipe, MakePipe());

  pid_t pid = fork();
  if (pid < 0) return Status(ErrorCode::kIo, std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    RunChild(exec, in_pipe.read.get(), out_pipe.write.get(), err_pipe.write.get(),
             exec_pipe.write.get());
  }
  setpgid(pid, pid);  // also from the parent, to avoid a race with the kill below
  in_pipe.read.Reset();
  out_pipe.write.Reset();
  err_pipe.write.Reset();
  exec_pipe.write.Reset();

  int exec_errno = 0;
  ssize_t got = read(exec_pipe.read.get(), &exec_errno, sizeof(exec_errno));
  exec_pipe.read.Reset();
  if (got == sizeof(exec_errno)) {
    in_pipe.write.Reset();
    out_pipe.read.Reset();
    err_pipe.read.Reset();
    waitpid(pid, nullptr, 0);
    return Status(ErrorCode::kIo, std::string("cannot execute: ") + strerror(exec_errno))
        .Where(spec.argv[0]);
  }
  return StartedChild{pid, std::move(in_pipe.write), std::move(out_pipe.read),
                      std::move(err_pipe.read)};
}

// One output stream of the child and what has been captured from it.
struct Capture {
  fs::UniqueFd fd;
  std::string data;
  bool truncated = false;
};

// The parent's view of a running child, from start to reaping.
struct Pump {
  Pump(const ProcessSpec& s, StartedChild& child)
      : spec(s), pid(child.pid), in(std::move(child.in)),
        deadline(SteadyClock::now() + s.timeout) {
    out.fd = std::move(child.out);
    err.fd = std::move(child.err);
#ifdef SYS_pidfd_open
    exit_fd.Reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
#endif
  }

  const ProcessSpec& spec;
  pid_t pid;
  // Readable once the child has exited (pidfd_open, Linux 5.3): the exit of
  // a child that closed its streams first is seen at once, not at the end
  // of the next poll's timeout. Unset on an older kernel: waitpid each turn.
  fs::UniqueFd exit_fd;
  fs::UniqueFd in;
  Capture out;
  Capture err;
  size_t stdin_written = 0;
  SteadyClock::time_point deadline;
  std::optional<SteadyClock::time_point> drain_deadline;
  bool exited = false;
  bool timed_out = false;
  int wstatus = 0;
};

// Notices the exit of the child, or kills it at the deadline. Returns false
// when the pump is done: the child is gone and its output read, or the time
// for draining what descendants keep open has passed.
bool ReapOrKill(Pump& p, SteadyClock::time_point& now) {
  if (!p.exited) {
    pid_t r = waitpid(p.pid, &p.wstatus, WNOHANG);
    if (r == p.pid) {
      p.exited = true;
      p.exit_fd.Reset();
      // Descendants may keep the pipes open; read what is there, briefly.
      p.drain_deadline = SteadyClock::now() + std::chrono::milliseconds(200);
      p.in.Reset();
    } else if (r < 0 && errno == ECHILD) {
      // Reaped by someone else: its outcome is unknown. The readable pidfd
      // would spin the loop; the deadline ends it, as without a pidfd.
      p.exit_fd.Reset();
    }
  }
  now = SteadyClock::now();
  if (!p.exited && now >= p.deadline) {
    KillAndReap(p.pid, &p.wstatus);
    p.exited = true;
    p.timed_out = true;
    p.drain_deadline = now + std::chrono::milliseconds(100);
  }
  if (p.exited && !p.out.fd && !p.err.fd) return false;
  if (p.drain_deadline && now >= *p.drain_deadline) return false;
  return true;
}

void ReadReady(const pollfd* entry, Capture& c, size_t cap) {
  if (entry == nullptr || !(entry->revents & (POLLIN | POLLHUP | POLLERR))) return;
  char buf[8192];
  ssize_t n = read(c.fd.get(), buf, sizeof(buf));
  if (n > 0) {
    AppendCapped(c.data, buf, static_cast<size_t>(n), cap, c.truncated);
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    c.fd.Reset();
  }
}

void WriteReady(const pollfd* entry, Pump& p) {
  if (entry == nullptr || !(entry->revents & (POLLOUT | POLLERR | POLLHUP))) return;
  const std::string& data = p.spec.stdin_data;
  ssize_t n = write(p.in.get(), data.data() + p.stdin_written, data.size() - p.stdin_written);
  if (n > 0) p.stdin_written += static_cast<size_t>(n);
  if (n < 0 && errno != EAGAIN && errno != EINTR) p.stdin_written = data.size();
  if (p.stdin_written >= data.size()) p.in.Reset();
}

// Waits up to 50 ms (20 ms once the child is gone) for the open streams or
// the child's exit, and serves the ready streams.
Status PollOnce(Pump& p, SteadyClock::time_point now) {
  pollfd fds[4];
  int nfds = 0;
  pollfd* out_entry = nullptr;
  pollfd* err_entry = nullptr;
  pollfd* in_entry = nullptr;
  if (p.out.fd) { out_entry = &fds[nfds]; fds[nfds++] = {p.out.fd.get(), POLLIN, 0}; }
  if (p.err.fd) { err_entry = &fds[nfds]; fds[nfds++] = {p.err.fd.get(), POLLIN, 0}; }
  if (p.in) { in_entry = &fds[nfds]; fds[nfds++] = {p.in.get(), POLLOUT, 0}; }
  if (p.exit_fd && !p.exited) fds[nfds++] = {p.exit_fd.get(), POLLIN, 0};
  auto limit = p.drain_deadline ? *p.drain_deadline : p.deadline;
  // Rounded up: the last fraction of a millisecond is waited, not spun.
  int wait_ms = static_cast<int>(std::clamp<int64_t>(
      std::chrono::ceil<std::chrono::milliseconds>(limit - now).count(), 0, 50));
  if (p.exited) wait_ms = std::min(wait_ms, 20);
  int pr = Poll(fds, static_cast<nfds_t>(nfds), wait_ms);
  if (pr < 0 && errno != EINTR) {
    // EINTR loops with the time that is left; anything else means the
    // outcome cannot be observed, which must not read as success.
    int err = errno;
    if (!p.exited) KillAndReap(p.pid, &p.wstatus);
    return Status(ErrorCode::kIo, std::string("poll: ") + strerror(err))
        .Where(p.spec.argv[0])
        .Hint("the program was killed; its outcome is unknown");
  }
  if (pr > 0) {
    ReadReady(out_entry, p.out, p.spec.max_output);
    ReadReady(err_entry, p.err, p.spec.max_output);
    WriteReady(in_entry, p);
  }
  return Status::Ok();
}

// Feeds stdin, captures stdout and stderr, and reaps the child (killing its
// process group at the timeout). The streams are closed on every return.
Result<ProcessResult> PumpUntilDone(const ProcessSpec& spec, StartedChild child) {
  Pump p(spec, child);
  if (spec.stdin_data.empty()) {
    p.in.Reset();
  } else {
    fcntl(p.in.get(), F_SETFL, O_NONBLOCK);
  }
  while (p.out.fd || p.err.fd || p.in || !p.exited) {
    SteadyClock::time_point now;
    if (!ReapOrKill(p, now)) break;
    CK_RETURN_IF_ERROR(PollOnce(p, now));
  }
  ProcessResult result;
  result.timed_out = p.timed_out;
  result.stdout_data = FinishCapture(p.out.data, spec.max_output, p.out.truncated);
  result.stderr_data = FinishCapture(p.err.data, spec.max_output, p.err.truncated);
  if (!result.timed_out) {
    if (WIFEXITED(p.wstatus)) result.exit_code = WEXITSTATUS(p.wstatus);
    if (WIFSIGNALED(p.wstatus)) result.signal = WTERMSIG(p.wstatus);
  }
  return result;
}

}  // namespace

namespace internal {
PollFunction SetProcessPollForTesting(PollFunction poll_function) {
  return g_poll.exchange(poll_function);
}
}  // namespace internal

std::string ProcessResult::Describe() const {
  if (timed_out) return "timed out and was killed";
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(exit_code);
}

Result<ProcessResult> RunProcess(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Status(ErrorCode::kInvalidArgument, "no program given");
  CK_ASSIGN_OR_RETURN(PreparedExec exec, PrepareExec(spec));
  CK_ASSIGN_OR_RETURN(StartedChild child, StartChild(spec, exec));
  return PumpUntilDone(spec, std::move(child));
}

Result<ProcessResult> RunProcessChecked(const ProcessSpec& spec) {
  CK_ASSIGN_OR_RETURN(ProcessResult result, RunProcess(spec));
  if (result.success()) return result;
  std::string message = spec.argv[0] + " failed: " + result.Describe();
  if (result.timed_out) {
    message += " (limit " + std::to_string(spec.timeout.count() / 1000) + "s)";
  }
  std::string tail = Tail(result.stderr_data.empty() ? result.stdout_data : result.stderr_data, 600);
  if (!tail.empty()) message += ": " + tail;
  return Status(result.timed_out ? ErrorCode::kDeadlineExceeded : ErrorCode::kIo, message)
      .Where(spec.argv[0]);
}

}  // namespace certkeeper
