// Fallback benchmark: what it costs when the preferred CA is down and the next
// CA of the certificate's list issues, against two Pebbles started by
// pebble-testenv/up --with pebble2 (the second requires external account
// binding). Every issuance is a fresh `certkeeper issue` process with the
// accounts and directories stored by an earlier run (the cron case). It prints,
// per case, the wall time (median, min, max) and the requests sent to each CA:
//
//  - baseline: the second CA alone (cas = ["backup"]);
//  - refused: the preferred CA's port refuses connections;
//  - connect timeout: the preferred CA's listen queue is full, so the
//    connection is never established (a connect timeout, as for an
//    unroutable address, but on the loopback);
//  - silent: the preferred CA accepts the connection and never answers
//    (the request timeout);
//  - --unroutable ADDR: the preferred CA at https://ADDR/dir (an address with
//    no route, if the machine has one that times out);
//  - fresh process, preferred CA up (cas = ["primary"]): the requests of one
//    issuance with a stored account and a stored directory (target: 8).
//
// The fallback cost of a case is its time minus the baseline's. Timeouts are the
// [[ca]] block's `timeout` (--timeout, default 3s). With --backup-without-eab the
// second CA is the first Pebble under another name (https://localhost:PORT/dir,
// its own account), for a build or a comparison without external account
// binding.
//
//   fallback_bench [--count N] [--timeout 3s] [--certkeeper PATH] [--unroutable ADDR]
//                  [--backup-without-eab]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/log.h"
#include "bench/bench_support.h"

namespace certkeeper::bench {
namespace {

struct Options {
  int count = 5;
  std::string timeout = "3s";
  std::string certkeeper;
  std::string unroutable;
  bool backup_without_eab = false;
};

struct Sample {
  double seconds = 0;
  std::map<std::string, Counts> by_server;  // "host:port" -> kind -> count
  bool ok = false;
  std::string err;
};

// A TCP listener on 127.0.0.1 that never accepts. With fill, its accept queue
// is filled first, so that further connections are never established (Linux
// drops their SYNs): the client waits for its connect timeout.
class DeafListener {
 public:
  explicit DeafListener(bool fill) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(fd_, fill ? 0 : 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    // A backlog of 0 still queues one connection: fill it (and one more).
    for (int i = 0; fill && i < 2; ++i) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (c < 0) break;
      connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      fillers_.push_back(c);
    }
  }
  ~DeafListener() {
    for (int c : fillers_) close(c);
    if (fd_ >= 0) close(fd_);
  }
  DeafListener(const DeafListener&) = delete;
  DeafListener& operator=(const DeafListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

// "https://127.0.0.1:14000/dir" -> "127.0.0.1:14000"
std::string Authority(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The "acme request" lines of a --json -v log, by server and kind.
std::map<std::string, Counts> RequestsByServer(const std::string& log) {
  std::map<std::string, Counts> out;
  ForEachAcmeRequest(log, [&](const nlohmann::json& line) {
    ++out[Authority(line.value("url", ""))][line.value("kind", "?")];
  });
  return out;
}

class Bench {
 public:
  Bench(const Options& options, const StartedEnvironment& env, const std::string& dir)
      : options_(options), env_(env), dir_(dir), config_(dir + "/certkeeper.toml") {}

  // The config with the preferred CA at primary_url, and cas as given.
  bool Configure(const std::string& primary_url, const std::vector<std::string>& cas) {
    std::ofstream f(config_);
    auto ca = [&](const std::string& name, const std::string& url, const std::string& roots) {
      f << "[[ca]]\nname = \"" << name << "\"\nserver = \"" << url << "\"\nca_bundle = \""
        << env_.Get("ACME_CA_BUNDLE") << "\"\nissuer_roots = \"" << roots
        << "\"\nemail = \"bench@example.com\"\nagree_tos = true\ntimeout = \""
        << options_.timeout << "\"\n";
    };
    f << "state_dir = \"" << dir_ << "/state\"\n";
    ca("primary", primary_url, env_.Get("PEBBLE_ROOT_PEM"));
    if (options_.backup_without_eab) {
      // The listener certificate also names localhost: the same Pebble, but
      // another directory URL, so another CA to certkeeper.
      ca("backup", "https://localhost:" + env_.Get("PEBBLE_PORT") + "/dir",
         env_.Get("PEBBLE_ROOT_PEM"));
    } else {
      ca("backup", env_.Get("ACME2_DIRECTORY_URL"), env_.Get("PEBBLE2_ROOT_PEM"));
      f << "eab_kid = \"" << env_.Get("ACME2_EAB_KID") << "\"\neab_hmac_file = \""
        << env_.Get("ACME2_EAB_HMAC_FILE") << "\"\n";
    }
    f << "[solvers.http-01]\nlisten = \"127.0.0.1:" << env_.Get("PEBBLE_HTTP_PORT") << "\"\n";
    for (int i = 0; i < kNames; ++i) {
      f << "[[certificate]]\nname = \"c" << i << "\"\ndomains = [\"c" << i
        << ".fallback.example.com\"]\nchallenges = [\"http-01\"]\ncas = [";
      for (size_t j = 0; j < cas.size(); ++j) f << (j ? ", \"" : "\"") << cas[j] << "\"";
      f << "]\n";
    }
    return static_cast<bool>(f);
  }

  Sample IssueOnce() {
    int n = next_++ % kNames;
    std::string name = "c" + std::to_string(n);
    Sample s;
    auto child = Spawn({options_.certkeeper, "-c", config_, "--json", "-v", "issue", name, "-d",
                        name + ".fallback.example.com"},
                       dir_ + "/stderr.log");
    if (!child.ok()) {
      s.err = child.status().ToString();
      return s;
    }
    s.seconds = child->seconds;
    s.by_server = RequestsByServer(child->err);
    s.ok = WIFEXITED(child->status) && WEXITSTATUS(child->status) == 0;
    if (!s.ok) s.err = child->err.substr(child->err.size() > 2000 ? child->err.size() - 2000 : 0);
    return s;
  }

  // Runs `count` issuances with the preferred CA at primary_url and prints them.
  void Case(const std::string& title, const std::string& primary_url,
            const std::vector<std::string>& cas) {
    if (!Configure(primary_url, cas)) {
      printf("\n== %s: cannot write %s\n", title.c_str(), config_.c_str());
      return;
    }
    std::vector<Sample> samples;
    for (int i = 0; i < options_.count; ++i) samples.push_back(IssueOnce());
    Print(title, samples);
  }

  double baseline_median = 0;

 private:
  static constexpr int kNames = 1000;

  void Print(const std::string& title, const std::vector<Sample>& samples) {
    std::vector<double> times;
    int failed = 0;
    for (const Sample& s : samples) {
      if (s.ok) {
        times.push_back(s.seconds);
      } else {
        ++failed;
      }
    }
    printf("\n== %s: %zu issuances", title.c_str(), samples.size());
    if (failed > 0) {
      printf(", %d FAILED; last error:\n%s\n", failed, samples.back().err.c_str());
    }
    printf("\n");
    if (times.empty()) return;
    std::sort(times.begin(), times.end());
    size_t n = times.size();
    double median = n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    printf("wall time: median %.3f s, min %.3f s, max %.3f s", median, times.front(),
           times.back());
    if (baseline_median > 0) {
      printf(" (fallback cost: %+.3f s over the baseline)", median - baseline_median);
    } else {
      baseline_median = median;
    }
    printf("\n");
    // Requests of the last successful issuance, per CA.
    for (auto it = samples.rbegin(); it != samples.rend(); ++it) {
      if (!it->ok) continue;
      int64_t total = 0;
      for (const auto& [server, counts] : it->by_server) total += Total(counts);
      printf("requests of one issuance: %lld\n", static_cast<long long>(total));
      for (const auto& [server, counts] : it->by_server) {
        printf("  %s: %lld (%s)\n", server.c_str(), static_cast<long long>(Total(counts)),
               Format(counts).c_str());
      }
      break;
    }
  }

  const Options& options_;
  const StartedEnvironment& env_;
  std::string dir_;
  std::string config_;
  int next_ = 0;
};

Result<Options> ParseArgs(int argc, char** argv) {
  Options o;
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (len > 0) o.certkeeper = fs::DirName(fs::DirName(std::string(exe, len))) + "/cli/certkeeper";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--count" && has_value) {
      char* end = nullptr;
      long v = strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > 200) {
        return Status(ErrorCode::kInvalidArgument, "--count wants a number from 1 to 200");
      }
      o.count = static_cast<int>(v);
    } else if (a == "--timeout" && has_value) {
      o.timeout = argv[++i];
    } else if (a == "--certkeeper" && has_value) {
      o.certkeeper = argv[++i];
    } else if (a == "--unroutable" && has_value) {
      o.unroutable = argv[++i];
    } else if (a == "--backup-without-eab") {
      o.backup_without_eab = true;
    } else {
      return Status(ErrorCode::kInvalidArgument,
                    std::string("usage: ") + argv[0] +
                        " [--count N] [--timeout 3s] [--certkeeper PATH] [--unroutable ADDR]"
                        " [--backup-without-eab]");
    }
  }
  CK_RETURN_IF_ERROR(CheckCertkeeperExecutable(o.certkeeper));
  return o;
}

int Main(int argc, char** argv) {
  log::Options quiet;
  quiet.min_level = log::Level::kWarn;
  log::Configure(quiet);
  auto options = ParseArgs(argc, argv);
  if (!options.ok()) {
    fprintf(stderr, "%s\n", options.status().ToString().c_str());
    return 1;
  }
  fs::TempDir dir;
  if (dir.path().empty()) {
    fprintf(stderr, "cannot create a temporary directory\n");
    return 1;
  }
  auto t0 = Clock::now();
  auto env = StartedEnvironment::Start(dir.path(), {"--with", "pebble2"});
  if (!env.ok()) {
    fprintf(stderr, "%s\n", env.status().ToString().c_str());
    return 1;
  }
  printf("test environment (two Pebbles) started in %.1f s; %d issuances per case, "
         "[[ca]] timeout %s\n",
         Seconds(Clock::now() - t0), options->count, options->timeout.c_str());

  Bench bench(*options, **env, dir.path());
  const std::string primary = (*env)->Get("ACME_DIRECTORY_URL");
  // Register both accounts and store both directories first (not measured).
  bench.Configure(primary, {"primary"});
  Sample warm = bench.IssueOnce();
  bench.Configure(primary, {"backup"});
  Sample warm2 = bench.IssueOnce();
  if (!warm.ok || !warm2.ok) {
    fprintf(stderr, "warm-up issuance failed:\n%s%s\n", warm.err.c_str(), warm2.err.c_str());
    return 1;
  }

  bench.Case("baseline: the second CA alone (cas = [\"backup\"])", primary, {"backup"});
  int closed = FreePort(false);  // nothing listens there
  bench.Case("refused: the preferred CA's port is closed",
             "https://127.0.0.1:" + std::to_string(closed) + "/dir", {"primary", "backup"});
  {
    DeafListener full(/*fill=*/true);
    bench.Case("connect timeout: the preferred CA's listen queue is full",
               "https://127.0.0.1:" + std::to_string(full.port()) + "/dir",
               {"primary", "backup"});
  }
  {
    DeafListener silent(/*fill=*/false);
    bench.Case("silent: the preferred CA accepts and never answers",
               "https://127.0.0.1:" + std::to_string(silent.port()) + "/dir",
               {"primary", "backup"});
  }
  if (!options->unroutable.empty()) {
    bench.Case("unroutable: the preferred CA at " + options->unroutable,
               "https://" + options->unroutable + "/dir", {"primary", "backup"});
  }
  bench.baseline_median = 0;
  bench.Case("fresh process, preferred CA up (cas = [\"primary\"], stored account and directory)",
             primary, {"primary"});
  return 0;
}

}  // namespace
}  // namespace certkeeper::bench

int main(int argc, char** argv) { return certkeeper::bench::Main(argc, argv); }
