#include "base/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>

#include "base/internal/process_poll.h"
#include "base/text.h"

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
  CK_ASSIGN_OR_RETURN(std::string program, ResolveProgram(spec.argv[0]));

  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls.
  std::vector<std::string> env_strings;
  if (spec.inherit_env) {
    for (char** e = environ; e && *e; ++e) {
      std::string entry = *e;
      std::string key = entry.substr(0, entry.find('='));
      bool overridden = std::any_of(spec.env.begin(), spec.env.end(),
                                    [&](const auto& kv) { return kv.first == key; });
      if (!overridden) env_strings.push_back(std::move(entry));
    }
  }
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = spec.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  int in_pipe[2], out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) {
    return Status(ErrorCode::kIo, std::string("pipe: ") + strerror(errno));
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(exec_pipe, O_CLOEXEC) != 0) {
    return Status(ErrorCode::kIo, std::string("pipe: ") + strerror(errno));
  }
  const char* workdir = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();

  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1],
                   exec_pipe[0], exec_pipe[1]}) {
      close(fd);
    }
    return Status(ErrorCode::kIo, std::string("fork: ") + strerror(err));
  }
  if (pid == 0) {
    setpgid(0, 0);
    // Default signal dispositions for the new program.
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &sa, nullptr);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (workdir && chdir(workdir) != 0) {
      int err = errno;
      (void)!write(exec_pipe[1], &err, sizeof(err));
      _exit(127);
    }
    execve(program.c_str(), argv.data(), envp.data());
    int err = errno;
    (void)!write(exec_pipe[1], &err, sizeof(err));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, to avoid a race with the kill below
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);

  int exec_errno = 0;
  ssize_t got = read(exec_pipe[0], &exec_errno, sizeof(exec_errno));
  close(exec_pipe[0]);
  if (got == sizeof(exec_errno)) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    waitpid(pid, nullptr, 0);
    return Status(ErrorCode::kIo, std::string("cannot execute: ") + strerror(exec_errno))
        .Where(spec.argv[0]);
  }

  ProcessResult result;
  bool out_truncated = false, err_truncated = false;
  size_t stdin_written = 0;
  int in_fd = in_pipe[1];
  if (spec.stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  } else {
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  auto deadline = SteadyClock::now() + spec.timeout;
  std::optional<SteadyClock::time_point> drain_deadline;
  bool exited = false;
  int wstatus = 0;

  while (out_fd >= 0 || err_fd >= 0 || in_fd >= 0 || !exited) {
    if (!exited) {
      pid_t r = waitpid(pid, &wstatus, WNOHANG);
      if (r == pid) {
        exited = true;
        // Descendants may keep the pipes open; read what is there, briefly.
        drain_deadline = SteadyClock::now() + std::chrono::milliseconds(200);
        if (in_fd >= 0) {
          close(in_fd);
          in_fd = -1;
        }
      }
    }
    auto now = SteadyClock::now();
    if (!exited && now >= deadline) {
      KillAndReap(pid, &wstatus);
      exited = true;
      result.timed_out = true;
      drain_deadline = now + std::chrono::milliseconds(100);
    }
    if (exited && (out_fd < 0 && err_fd < 0)) break;
    if (drain_deadline && now >= *drain_deadline) break;

    pollfd fds[3];
    int nfds = 0;
    int idx_out = -1, idx_err = -1, idx_in = -1;
    if (out_fd >= 0) { idx_out = nfds; fds[nfds++] = {out_fd, POLLIN, 0}; }
    if (err_fd >= 0) { idx_err = nfds; fds[nfds++] = {err_fd, POLLIN, 0}; }
    if (in_fd >= 0) { idx_in = nfds; fds[nfds++] = {in_fd, POLLOUT, 0}; }
    auto limit = drain_deadline ? *drain_deadline : deadline;
    int wait_ms = static_cast<int>(std::clamp<int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(limit - now).count(), 0, 50));
    if (exited) wait_ms = std::min(wait_ms, 20);
    int pr = Poll(fds, static_cast<nfds_t>(nfds), wait_ms);
    if (pr < 0 && errno != EINTR) {
      // EINTR loops with the time that is left; anything else means the
      // outcome cannot be observed, which must not read as success.
      int err = errno;
      if (!exited) KillAndReap(pid, &wstatus);
      for (int fd : {in_fd, out_fd, err_fd}) {
        if (fd >= 0) close(fd);
      }
      return Status(ErrorCode::kIo, std::string("poll: ") + strerror(err))
          .Where(spec.argv[0])
          .Hint("the program was killed; its outcome is unknown");
    }
    char buf[8192];
    auto pump = [&](int idx, int& fd, std::string& sink, bool& truncated) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n > 0) {
        AppendCapped(sink, buf, static_cast<size_t>(n), spec.max_output, truncated);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fd);
        fd = -1;
      }
    };
    if (pr > 0) {
      pump(idx_out, out_fd, result.stdout_data, out_truncated);
      pump(idx_err, err_fd, result.stderr_data, err_truncated);
      if (idx_in >= 0 && (fds[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t n = write(in_fd, spec.stdin_data.data() + stdin_written,
                          spec.stdin_data.size() - stdin_written);
        if (n > 0) stdin_written += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) stdin_written = spec.stdin_data.size();
        if (stdin_written >= spec.stdin_data.size()) {
          close(in_fd);
          in_fd = -1;
        }
      }
    }
  }
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  result.stdout_data = FinishCapture(result.stdout_data, spec.max_output, out_truncated);
  result.stderr_data = FinishCapture(result.stderr_data, spec.max_output, err_truncated);
  if (!result.timed_out) {
    if (WIFEXITED(wstatus)) result.exit_code = WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) result.signal = WTERMSIG(wstatus);
  }
  return result;
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
