// Side-by-side benchmark: certkeeper, certbot, lego and uacme (the Debian
// packages) against the same Pebble, each with its own standalone HTTP-01
// solver on the port Pebble validates, each on an account registered
// beforehand, N fresh-process issuances each. Prints one table: wall time per
// issuance (median [min-max]), requests per issuance as Pebble logged them,
// peak RSS (wait4) and the peak of anonymous memory (RssAnon sampled from
// /proc), and the targets next to certkeeper's figures. bench/README.md
// describes exactly how each client is run.
//
//   anchors [--count N] [--certkeeper PATH] [--only LIST]
//
// The environment is always its own (pebble-testenv/up on free ports, with
// PEBBLE_VA_NOSLEEP=1 and no rejected nonces, --watch-pid, and down at the end),
// because the request counts come from that Pebble's log.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/fs.h"
#include "base/status.h"
#include "bench/bench_support.h"

namespace certkeeper::bench {
namespace {

constexpr const char* kEmail = "bench@example.com";
constexpr const char* kUacmeHook = "/usr/share/uacme/uacme.sh";

struct Env {
  std::string directory_url;
  std::string ca_bundle;  // trust anchor of Pebble's HTTPS listener
  std::string root_pem;   // root of the certificates Pebble issues
  std::string http_port;  // where Pebble validates http-01
  std::string pebble_log;
};

// How one client is run: argv and extra environment per step.
struct Command {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // NAME=value, added to this process's environment
  bool private_trust = false;    // uacme: Pebble's CA as the system trust store
};

struct Client {
  std::string name;
  // Run once, not measured: registers the account (certkeeper, certbot, uacme).
  std::vector<Command> setup;
  std::function<Command(const std::string& domain)> issue;
  bool needs_webroot_server = false;  // uacme: its hook writes to a webroot
};

struct Run {
  double seconds = 0;
  int requests = 0;
  std::map<std::string, int> by_kind;
  long max_rss_kb = 0;
  long max_anon_kb = 0;
};

struct Measured {
  std::vector<Run> runs;
  std::string error;  // the first failed issuance, if any
};

// The directory that replaces /etc/ssl/certs for uacme (see RunMeasured).
std::string g_trust_dir;

// fork + execve (no shell), stdout and stderr to err_path; measured by
// WaitMeasured (rusage and the sampled peak of RssAnon).
Result<Run> RunMeasured(const Command& c, const std::string& err_path, int* status_out) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const std::string& e : c.env) {
    std::string name = e.substr(0, e.find('='));
    std::erase_if(env_strings, [&](const std::string& s) { return s.rfind(name + "=", 0) == 0; });
    env_strings.push_back(e);
  }
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (const std::string& a : c.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string trust_dir = g_trust_dir;
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid < 0) return Status(ErrorCode::kInternal, std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    int out = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
    if (c.private_trust) {
      // uacme has no option for a CA file: its libcurl-gnutls trusts
      // /etc/ssl/certs. In a private mount namespace of this child only, that
      // directory is replaced by one that holds Pebble's CA.
      if (unshare(CLONE_NEWNS) != 0 ||
          mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          mount(trust_dir.c_str(), "/etc/ssl/certs", nullptr, MS_BIND, nullptr) != 0) {
        dprintf(2, "cannot give uacme a private trust store: %s\n", strerror(errno));
        _exit(125);
      }
    }
    execve(args[0], args.data(), envp.data());
    dprintf(2, "execve %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  CK_ASSIGN_OR_RETURN(Waited waited, WaitMeasured(pid, std::chrono::minutes(3), c.argv[0]));
  Run run;
  run.max_anon_kb = waited.max_anon_kb;
  run.seconds = Seconds(Clock::now() - start);
  run.max_rss_kb = waited.usage.ru_maxrss;
  *status_out = waited.status;
  return run;
}

// The size of Pebble's log now; requests are the lines appended after it.
off_t LogSize(const std::string& path) {
  struct stat st = {};
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// Pebble logs "METHOD PATH -> calling handler()" once per request it serves.
// Kinds are METHOD and the first path segment ("POST /my-order").
void CountRequests(const std::string& path, off_t from, Run& run) {
  std::ifstream f(path);
  f.seekg(from);
  std::string line;
  while (std::getline(f, line)) {
    size_t end = line.find(" -> calling handler()");
    if (end == std::string::npos) continue;
    std::string head = line.substr(0, end);
    size_t path_at = head.rfind(' ');
    size_t method_at = path_at == std::string::npos ? std::string::npos : head.rfind(' ', path_at - 1);
    std::string method = head.substr(method_at == std::string::npos ? 0 : method_at + 1,
                                     path_at - (method_at == std::string::npos ? 0 : method_at + 1));
    std::string url = head.substr(path_at + 1);
    size_t second = url.find('/', 1);
    ++run.requests;
    ++run.by_kind[method + " " + url.substr(0, second)];
  }
}

// A tiny static server for uacme's webroot: GET /.well-known/acme-challenge/T
// answers the file T, anything else 404. One connection at a time.
class WebrootServer {
 public:
  WebrootServer(std::string root, int port) : root_(std::move(root)), port_(port) {}
  ~WebrootServer() { Stop(); }

  Status Start() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(fd_, 16) != 0) {
      return Status(ErrorCode::kUnavailable, std::string("webroot server: ") + strerror(errno))
          .Where("127.0.0.1:" + std::to_string(port_));
    }
    stop_ = false;
    thread_ = std::thread([this] { Serve(); });
    return Status::Ok();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    close(fd_);
    fd_ = -1;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{2, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string req;
      char buf[2048];
      while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      const std::string prefix = "GET /.well-known/acme-challenge/";
      std::string body;
      bool found = false;
      if (req.rfind(prefix, 0) == 0) {
        size_t end = req.find(' ', prefix.size());
        std::string token = req.substr(prefix.size(), end - prefix.size());
        bool safe = !token.empty() && std::all_of(token.begin(), token.end(), [](char ch) {
          return isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
        });
        if (safe) {
          auto file = fs::ReadFile(root_ + "/" + token);
          if (file.ok()) {
            body = std::move(*file);
            found = true;
          }
        }
      }
      std::string resp = std::string(found ? "HTTP/1.1 200 OK" : "HTTP/1.1 404 Not Found") +
                         "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body;
      (void)!write(c, resp.data(), resp.size());
      close(c);
    }
  }

  std::string root_;
  int port_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::vector<Client> Clients(const Env& env, const std::string& dir,
                            const std::string& certkeeper) {
  const std::string url = env.directory_url;
  const std::string port = env.http_port;
  std::vector<Client> out;
  {
    Client c;
    c.name = "certkeeper";
    std::string config = dir + "/certkeeper/certkeeper.toml";
    std::ofstream f(config);
    f << "state_dir = \"" << dir << "/certkeeper/state\"\n"
      << "[acme]\nserver = \"" << url << "\"\nca_bundle = \"" << env.ca_bundle << "\"\n"
      << "issuer_roots = \"" << env.root_pem << "\"\n"
      << "email = \"" << kEmail << "\"\nagree_tos = true\n"
      << "[solvers.http-01]\nlisten = \"127.0.0.1:" << port << "\"\n";
    c.setup.push_back({{certkeeper, "-c", config, "account", "register"}, {}, false});
    c.issue = [=](const std::string& domain) {
      return Command{{certkeeper, "-c", config, "issue", domain, "-d", domain, "--challenge",
                      "http-01"},
                     {},
                     false};
    };
    out.push_back(std::move(c));
  }
  {
    Client c;
    c.name = "certbot";
    const std::string base = dir + "/certbot";
    std::vector<std::string> dirs = {"--config-dir", base + "/config", "--work-dir",
                                     base + "/work",  "--logs-dir",   base + "/logs"};
    std::vector<std::string> env_vars = {"REQUESTS_CA_BUNDLE=" + env.ca_bundle};
    std::vector<std::string> reg = {"/usr/bin/certbot", "register", "--server", url,
                                    "--agree-tos", "-m", kEmail, "--no-eff-email",
                                    "--non-interactive"};
    reg.insert(reg.end(), dirs.begin(), dirs.end());
    c.setup.push_back({reg, env_vars, false});
    c.issue = [=](const std::string& domain) {
      std::vector<std::string> a = {"/usr/bin/certbot", "certonly", "--standalone",
                                    "--http-01-port", port, "--http-01-address", "127.0.0.1",
                                    "--server", url, "-d", domain, "--non-interactive",
                                    "--agree-tos", "--key-type", "ecdsa", "--elliptic-curve",
                                    "secp256r1"};
      a.insert(a.end(), dirs.begin(), dirs.end());
      return Command{a, env_vars, false};
    };
    out.push_back(std::move(c));
  }
  {
    Client c;
    c.name = "lego";
    const std::string path = dir + "/lego";
    std::vector<std::string> env_vars = {"LEGO_CA_CERTIFICATES=" + env.ca_bundle};
    auto run = [=](const std::string& domain) {
      return Command{{"/usr/bin/lego", "--server", url, "--http", "--http.port",
                      "127.0.0.1:" + port, "--path", path, "--email", kEmail, "--accept-tos",
                      "--key-type", "ec256", "-d", domain, "run"},
                     env_vars,
                     false};
    };
    // lego has no register-only command: its first run registers the
    // account and stores it under --path.
    c.setup.push_back(run("register.lego.anchors.example.com"));
    c.issue = run;
    out.push_back(std::move(c));
  }
  {
    Client c;
    c.name = "uacme";
    c.needs_webroot_server = true;
    const std::string conf = dir + "/uacme";
    std::vector<std::string> env_vars = {"UACME_CHALLENGE_PATH=" + dir + "/webroot"};
    c.setup.push_back({{"/usr/bin/uacme", "-c", conf, "-a", url, "-t", "EC", "-b", "256", "-y",
                        "new", kEmail},
                       {},
                       true});
    c.issue = [=](const std::string& domain) {
      return Command{{"/usr/bin/uacme", "-c", conf, "-a", url, "-t", "EC", "-b", "256", "-h",
                      kUacmeHook, "issue", domain},
                     env_vars,
                     true};
    };
    out.push_back(std::move(c));
  }
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Summary {
  double median = 0, min = 0, max = 0;
  double requests = 0;  // median
  int requests_min = 0, requests_max = 0;
  double rss_mb = 0, anon_mb = 0;  // peaks over the runs
  int over_1s = 0;
};

Summary Summarize(const std::vector<Run>& runs) {
  Summary s;
  std::vector<double> t, r;
  s.requests_min = INT32_MAX;
  for (const Run& run : runs) {
    t.push_back(run.seconds);
    r.push_back(run.requests);
    s.requests_min = std::min(s.requests_min, run.requests);
    s.requests_max = std::max(s.requests_max, run.requests);
    s.rss_mb = std::max(s.rss_mb, run.max_rss_kb / 1024.0);
    s.anon_mb = std::max(s.anon_mb, run.max_anon_kb / 1024.0);
    if (run.seconds >= 1.0) ++s.over_1s;
  }
  s.median = Median(t);
  s.min = *std::min_element(t.begin(), t.end());
  s.max = *std::max_element(t.begin(), t.end());
  s.requests = Median(r);
  return s;
}

Status RunSetup(const Client& c, const std::string& dir, const Env& env) {
  const std::string err = dir + "/" + c.name + "-setup.log";
  for (const Command& cmd : c.setup) {
    std::unique_ptr<WebrootServer> server;
    if (c.needs_webroot_server) {
      server = std::make_unique<WebrootServer>(dir + "/webroot", std::stoi(env.http_port));
      CK_RETURN_IF_ERROR(server->Start());
    }
    int status = 0;
    CK_ASSIGN_OR_RETURN(Run run, RunMeasured(cmd, err, &status));
    (void)run;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      auto log = fs::ReadFile(err);
      return Status(ErrorCode::kInternal, c.name + " setup (" + cmd.argv[1] + ") failed:\n" +
                                              (log.ok() ? *log : ""));
    }
  }
  return Status::Ok();
}

Result<Run> Issue(const Client& c, const std::string& domain, const std::string& dir,
                  const Env& env) {
  std::unique_ptr<WebrootServer> server;
  if (c.needs_webroot_server) {
    // Started before and stopped after the measured process: the equivalent
    // of a web server that runs anyway.
    server = std::make_unique<WebrootServer>(dir + "/webroot", std::stoi(env.http_port));
    CK_RETURN_IF_ERROR(server->Start());
  }
  const std::string err = dir + "/" + c.name + "-issue.log";
  off_t before = LogSize(env.pebble_log);
  int status = 0;
  CK_ASSIGN_OR_RETURN(Run run, RunMeasured(c.issue(domain), err, &status));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    auto log = fs::ReadFile(err);
    return Status(ErrorCode::kInternal,
                  c.name + " failed to issue " + domain + ":\n" + (log.ok() ? *log : ""));
  }
  CountRequests(env.pebble_log, before, run);
  return run;
}

void PrintTable(const std::vector<Client>& clients, const std::vector<Measured>& results,
                int count) {
  printf("\n| client | wall time per issuance, median [min–max] | requests per issuance | "
         "peak RSS | peak anonymous RSS |\n|---|---|---|---|---|\n");
  std::vector<Summary> sums(clients.size());
  for (size_t i = 0; i < clients.size(); ++i) {
    if (results[i].runs.empty()) {
      printf("| %s | failed | | | |\n", clients[i].name.c_str());
      continue;
    }
    sums[i] = Summarize(results[i].runs);
    const Summary& s = sums[i];
    char req[64];
    if (s.requests_min == s.requests_max) {
      snprintf(req, sizeof req, "%d", s.requests_min);
    } else {
      snprintf(req, sizeof req, "%g (%d–%d)", s.requests, s.requests_min, s.requests_max);
    }
    printf("| %s | %.3f s [%.3f–%.3f] | %s | %.1f MB | %.1f MB |\n", clients[i].name.c_str(),
           s.median, s.min, s.max, req, s.rss_mb, s.anon_mb);
  }
  printf("\n%d issuances per client, each a fresh process on a stored account.\n", count);
  for (size_t i = 0; i < clients.size(); ++i) {
    if (results[i].runs.empty()) continue;
    std::map<std::string, int> kinds;
    for (const Run& r : results[i].runs) {
      for (const auto& [k, v] : r.by_kind) kinds[k] += v;
    }
    printf("%s requests by kind (total over %zu):", clients[i].name.c_str(),
           results[i].runs.size());
    for (const auto& [k, v] : kinds) printf(" %s=%d", k.c_str(), v);
    printf("\n");
  }
  // The targets next to the figures (certkeeper is the first client).
  if (clients.empty() || clients[0].name != "certkeeper" || results[0].runs.empty()) return;
  const Summary& ck = sums[0];
  size_t best = 0;
  int fewest_other = INT32_MAX;
  for (size_t i = 1; i < clients.size(); ++i) {
    if (results[i].runs.empty()) continue;
    if (best == 0 || sums[i].median < sums[best].median) best = i;
    fewest_other = std::min(fewest_other, sums[i].requests_min);
  }
  printf("\ntargets:\n");
  if (best != 0) {
    printf("  wall time: certkeeper / best other (%s) = %.3f / %.3f = %.2fx (target <= 0.40x)\n",
           clients[best].name.c_str(), ck.median, sums[best].median,
           ck.median / sums[best].median);
    printf("  requests per issuance: certkeeper %d..%d, fewest of the others %d (target: fewer "
           "than every other client)\n",
           ck.requests_min, ck.requests_max, fewest_other);
  }
  printf("  anonymous RSS: certkeeper %.1f MB (target <= 4 MB)\n", ck.anon_mb);
  printf("  outliers: slowest certkeeper issuance %.3f s, %d of %zu at 1 s or more (target: no "
         "multi-second outliers)\n",
         ck.max, ck.over_1s, results[0].runs.size());
}

struct Options {
  int count = 20;
  std::string certkeeper;
  std::vector<std::string> only;
};

Result<Options> ParseArgs(int argc, char** argv) {
  Options o;
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (len > 0) o.certkeeper = fs::DirName(fs::DirName(std::string(exe, len))) + "/cli/certkeeper";
  const std::string usage = std::string("usage: ") + argv[0] +
                            " [--count N] [--certkeeper PATH] [--only certkeeper,certbot,lego,uacme]";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--count" && has_value) {
      char* end = nullptr;
      long v = strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > 1000) {
        return Status(ErrorCode::kInvalidArgument, "--count wants a number from 1 to 1000");
      }
      o.count = static_cast<int>(v);
    } else if (a == "--certkeeper" && has_value) {
      o.certkeeper = argv[++i];
    } else if (a == "--only" && has_value) {
      std::string list = argv[++i];
      for (size_t pos = 0; pos <= list.size();) {
        size_t end = list.find(',', pos);
        if (end == std::string::npos) end = list.size();
        std::string name = list.substr(pos, end - pos);
        if (name != "certkeeper" && name != "certbot" && name != "lego" && name != "uacme") {
          return Status(ErrorCode::kInvalidArgument, "--only: unknown client '" + name + "'")
              .Hint(usage);
        }
        o.only.push_back(name);
        pos = end + 1;
      }
    } else {
      return Status(ErrorCode::kInvalidArgument, usage);
    }
  }
  return o;
}

int Main(int argc, char** argv) {
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
  auto started = StartedEnvironment::Start(dir.path());
  if (!started.ok()) {
    fprintf(stderr, "%s\n", started.status().ToString().c_str());
    return 1;
  }
  Env env{(*started)->Get("ACME_DIRECTORY_URL"), (*started)->Get("ACME_CA_BUNDLE"),
          (*started)->Get("PEBBLE_ROOT_PEM"), (*started)->Get("PEBBLE_HTTP_PORT"),
          dir.path() + "/testenv/logs/pebble.log"};
  printf("test environment started in %.1f s; CA %s\n", Seconds(Clock::now() - t0),
         env.directory_url.c_str());

  for (const char* sub : {"/certkeeper", "/certbot", "/lego", "/uacme", "/webroot", "/trust"}) {
    Status made = fs::MakeDirs(dir.path() + sub, 0700);
    if (!made.ok()) {
      fprintf(stderr, "%s\n", made.ToString().c_str());
      return 1;
    }
  }
  chmod((dir.path() + "/webroot").c_str(), 0755);
  g_trust_dir = dir.path() + "/trust";
  auto bundle = fs::ReadFile(env.ca_bundle);
  if (!bundle.ok() ||
      !fs::WriteNewFile(g_trust_dir + "/ca-certificates.crt", *bundle, 0644).ok()) {
    fprintf(stderr, "cannot copy Pebble's CA for uacme\n");
    return 1;
  }

  std::vector<Client> clients;
  for (Client& c : Clients(env, dir.path(), options->certkeeper)) {
    if (options->only.empty() ||
        std::find(options->only.begin(), options->only.end(), c.name) != options->only.end()) {
      clients.push_back(std::move(c));
    }
  }
  std::vector<Measured> results(clients.size());
  std::vector<bool> ready(clients.size(), false);
  for (size_t i = 0; i < clients.size(); ++i) {
    Status s = RunSetup(clients[i], dir.path(), env);
    // One unmeasured issuance: caches warm, nothing left to create on disk.
    if (s.ok()) {
      s = Issue(clients[i], "warm." + clients[i].name + ".anchors.example.com", dir.path(), env)
              .status();
    }
    if (!s.ok()) {
      fprintf(stderr, "%s: %s\n", clients[i].name.c_str(), s.ToString().c_str());
      results[i].error = s.ToString();
      continue;
    }
    ready[i] = true;
  }
  // Round robin, so that a busy moment of the machine hits every client alike.
  for (int n = 1; n <= options->count; ++n) {
    for (size_t i = 0; i < clients.size(); ++i) {
      if (!ready[i]) continue;
      std::string domain = "i" + std::to_string(n) + "." + clients[i].name + ".anchors.example.com";
      auto run = Issue(clients[i], domain, dir.path(), env);
      if (!run.ok()) {
        fprintf(stderr, "%s\n", run.status().ToString().c_str());
        results[i].error = run.status().ToString();
        ready[i] = false;
        continue;
      }
      results[i].runs.push_back(std::move(*run));
    }
  }
  PrintTable(clients, results, options->count);
  bool failed = std::any_of(results.begin(), results.end(),
                            [](const Measured& m) { return !m.error.empty(); });
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace certkeeper::bench

int main(int argc, char** argv) { return certkeeper::bench::Main(argc, argv); }
