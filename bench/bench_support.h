// Pieces the benchmarks share: the test environment started by the program
// itself (pebble-testenv/up on free ports, down when done), free ports, child
// processes measured with wait4, and request counts from certkeeper's
// `--json -v` log.
#ifndef CERTKEEPER_BENCH_BENCH_SUPPORT_H_
#define CERTKEEPER_BENCH_BENCH_SUPPORT_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/process.h"
#include "base/status.h"

extern char** environ;

namespace certkeeper::bench {

using Counts = std::map<std::string, int64_t>;
using Clock = std::chrono::steady_clock;

inline std::string Getenv(const char* name) {
  const char* v = getenv(name);
  return v == nullptr ? "" : v;
}

// A port on 127.0.0.1 that was free a moment ago; with udp, for UDP as well.
inline int FreePort(bool udp) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (tcp_fd < 0) return 0;
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int port = 0;
    if (bind(tcp_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(tcp_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    bool ok = port != 0;
    if (ok && udp) {
      int udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      ok = udp_fd >= 0 && bind(udp_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      if (udp_fd >= 0) close(udp_fd);
    }
    close(tcp_fd);
    if (ok) return port;
  }
  return 0;
}

// An environment started by this program; `down` runs when it is destroyed.
class StartedEnvironment {
 public:
  // `up` with extra_args (e.g. {"--with", "pebble2"}) and extra_env added.
  static Result<std::unique_ptr<StartedEnvironment>> Start(
      const std::string& work_dir, const std::vector<std::string>& extra_args = {},
      const std::vector<std::pair<std::string, std::string>>& extra_env = {}) {
    std::unique_ptr<StartedEnvironment> env(new StartedEnvironment());
    env->state_dir_ = work_dir + "/testenv";
    ProcessSpec spec;
    spec.argv = {Script("up"), "--state-dir", env->state_dir_, "--watch-pid",
                 std::to_string(getpid())};
    spec.env = {
        {"PEBBLE_VA_NOSLEEP", "1"},
        // Pebble rejects 5% of nonces by default; the figures are about the
        // client's own requests, so none are rejected here.
        {"PEBBLE_WFE_NONCEREJECT", "0"},
        {"PEBBLE_PORT", std::to_string(FreePort(false))},
        {"PEBBLE_MGMT_PORT", std::to_string(FreePort(false))},
        {"PEBBLE_HTTP_PORT", std::to_string(FreePort(false))},
        {"PEBBLE_TLS_PORT", std::to_string(FreePort(false))},
        {"CHALLTESTSRV_DNS_PORT", std::to_string(FreePort(true))},
        {"CHALLTESTSRV_MGMT_PORT", std::to_string(FreePort(false))},
        {"PEBBLE2_PORT", std::to_string(FreePort(false))},
        {"PEBBLE2_MGMT_PORT", std::to_string(FreePort(false))},
    };
    spec.argv.insert(spec.argv.end(), extra_args.begin(), extra_args.end());
    spec.env.insert(spec.env.end(), extra_env.begin(), extra_env.end());
    spec.timeout = std::chrono::seconds(180);
    env->started_ = true;  // up may have started some services before failing
    CK_ASSIGN_OR_RETURN(ProcessResult run, RunProcess(spec));
    if (!run.success()) {
      return Status(ErrorCode::kUnavailable, "pebble-testenv/up failed: " + run.Describe() +
                                                 "\n" + run.stderr_data);
    }
    for (size_t pos = 0; pos < run.stdout_data.size();) {
      size_t end = run.stdout_data.find('\n', pos);
      if (end == std::string::npos) end = run.stdout_data.size();
      std::string line = run.stdout_data.substr(pos, end - pos);
      pos = end + 1;
      // export NAME='value'
      if (line.rfind("export ", 0) != 0) continue;
      size_t eq = line.find('=');
      if (eq == std::string::npos || eq + 2 > line.size() || line[eq + 1] != '\'' ||
          line.back() != '\'') {
        continue;
      }
      env->vars_[line.substr(7, eq - 7)] = line.substr(eq + 2, line.size() - eq - 3);
    }
    return env;
  }

  ~StartedEnvironment() {
    if (!started_) return;
    ProcessSpec spec;
    spec.argv = {Script("down"), "--state-dir", state_dir_};
    spec.timeout = std::chrono::seconds(60);
    auto run = RunProcess(spec);
    if (!run.ok() || !run->success()) {
      fprintf(stderr, "warning: pebble-testenv/down did not finish cleanly (%s)\n",
              run.ok() ? run->Describe().c_str() : run.status().ToString().c_str());
    }
  }

  std::string Get(const std::string& name) const {
    auto it = vars_.find(name);
    return it == vars_.end() ? "" : it->second;
  }

 private:
  StartedEnvironment() = default;
  static std::string Script(const char* name) {
    return std::string(CERTKEEPER_SOURCE_DIR) + "/pebble-testenv/" + name;
  }

  std::string state_dir_;
  bool started_ = false;
  std::map<std::string, std::string> vars_;
};

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

inline void Add(Counts& into, const Counts& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

inline Counts Subtract(const Counts& after, const Counts& before) {
  Counts out;
  for (const auto& [k, v] : after) {
    auto it = before.find(k);
    int64_t d = v - (it == before.end() ? 0 : it->second);
    if (d != 0) out[k] = d;
  }
  return out;
}

inline int64_t Total(const Counts& c) {
  int64_t t = 0;
  for (const auto& [k, v] : c) t += v;
  return t;
}

inline std::string Format(const Counts& c) {
  std::string out;
  for (const auto& [k, v] : c) out += (out.empty() ? "" : " ") + k + "=" + std::to_string(v);
  return out;
}

// A finished child: exit status, rusage and what it wrote to stderr.
struct Child {
  int status = 0;
  rusage usage = {};
  std::string err;
  double seconds = 0;
  // Peak of RssAnon (heap, stacks, written data: what the process itself
  // allocates) sampled from /proc while it runs; ru_maxrss also counts the
  // pages of shared libraries that the process touched.
  long max_anon_kb = 0;
};

// RssAnon of a running process in KiB, 0 when it cannot be read.
inline long RssAnonKb(pid_t pid) {
  auto status = fs::ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!status.ok()) return 0;
  size_t at = status->find("RssAnon:");
  return at == std::string::npos ? 0 : std::strtol(status->c_str() + at + 8, nullptr, 10);
}

// What a child cost until it exited: its wait status, its rusage (ru_maxrss:
// peak RSS) and the peak of RssAnon sampled while it ran.
struct Waited {
  int status = 0;
  rusage usage = {};
  long max_anon_kb = 0;
};

// Waits for the child pid with wait4, sampling its RssAnon every 0.5 ms. The
// wait is bounded: a child still running after `timeout` is killed (SIGKILL),
// reaped, and reported as kDeadlineExceeded naming `what`.
inline Result<Waited> WaitMeasured(pid_t pid, std::chrono::minutes timeout,
                                   const std::string& what) {
  Waited waited;
  auto deadline = Clock::now() + timeout;
  while (true) {
    pid_t r = wait4(pid, &waited.status, WNOHANG, &waited.usage);
    if (r == pid) break;
    if (r == 0) waited.max_anon_kb = std::max(waited.max_anon_kb, RssAnonKb(pid));
    if (r < 0 && errno != EINTR) {
      return Status(ErrorCode::kInternal, std::string("wait4: ") + strerror(errno));
    }
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      (void)wait4(pid, &waited.status, 0, &waited.usage);
      return Status(ErrorCode::kDeadlineExceeded,
                    what + " did not finish in " + std::to_string(timeout.count()) + " minutes");
    }
    usleep(500);
  }
  return waited;
}

// fork + execve of argv (no shell); stdout to /dev/null, stderr to a file.
inline Result<Child> Spawn(const std::vector<std::string>& argv, const std::string& err_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid < 0) return Status(ErrorCode::kInternal, std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    int out = open("/dev/null", O_WRONLY);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
    execve(args[0], args.data(), environ);
    _exit(127);
  }
  // A child that hangs is killed after two minutes.
  CK_ASSIGN_OR_RETURN(Waited waited, WaitMeasured(pid, std::chrono::minutes(2), argv[0]));
  Child child;
  child.status = waited.status;
  child.usage = waited.usage;
  child.max_anon_kb = waited.max_anon_kb;
  child.seconds = Seconds(Clock::now() - start);
  auto err = fs::ReadFile(err_path);
  if (err.ok()) child.err = std::move(*err);
  return child;
}

// Calls fn with each "acme request" line of a --json -v log (one per HTTP
// exchange with the CA).
inline void ForEachAcmeRequest(const std::string& log,
                               const std::function<void(const nlohmann::json&)>& fn) {
  size_t pos = 0;
  while (pos < log.size()) {
    size_t end = log.find('\n', pos);
    if (end == std::string::npos) end = log.size();
    auto line = nlohmann::json::parse(log.substr(pos, end - pos), nullptr, false);
    pos = end + 1;
    if (line.is_object() && line.value("msg", "") == "acme request") fn(line);
  }
}

// Counts the "acme request" lines of a --json -v log by kind.
inline Counts RequestsInLog(const std::string& log) {
  Counts out;
  ForEachAcmeRequest(log, [&](const nlohmann::json& line) { ++out[line.value("kind", "?")]; });
  return out;
}

// kNotFound with a hint unless `path` is an executable.
inline Status CheckCertkeeperExecutable(const std::string& path) {
  if (access(path.c_str(), X_OK) == 0) return Status::Ok();
  return Status(ErrorCode::kNotFound, "certkeeper executable not found")
      .Where(path)
      .Hint("build the certkeeper target or pass --certkeeper PATH");
}

}  // namespace certkeeper::bench

#endif  // CERTKEEPER_BENCH_BENCH_SUPPORT_H_
