// Issuance benchmark (ARCHITECTURE.md, "Performance budget"): issues N
// certificates against Pebble twice over,
//
//  - in-process: one lifecycle::Engine issues all N, so the account, the
//    directory and the connection are reused (the protocol's floor is 7
//    requests per certificate);
//  - CLI: one fresh `certkeeper issue` process per certificate with a stored
//    account (the cron case; the floor is 9: directory + newNonce + 7),
//
// and prints the requests sent to the CA per issuance by kind, the wall time per
// issuance (median, min, max) and the peak resident set size of this process
// and of every child certkeeper (wait4).
//
// The CA is the one named by ACME_DIRECTORY_URL, ACME_CA_BUNDLE, PEBBLE_ROOT_PEM
// and PEBBLE_HTTP_PORT when they are set (as exported by pebble-testenv/up);
// otherwise the benchmark starts its own environment with pebble-testenv/up on
// free ports and stops it with pebble-testenv/down, which stops exactly the
// processes up recorded. up also watches this process's PID, so a benchmark
// that is killed leaves nothing running.
//
// With --breakdown, the in-process run also prints where the time of an
// issuance goes: the mean per issuance of each phase (base/phase_timer.h:
// order, authorizations, present, challenge wait, finalize, download, the
// version's files and record, deploy to live/, the attempt's records), over
// issuances 2..N, with the time spent waiting before the authorization and
// order polls. Both modes print how many polls each issuance needed.
//
//   issue_bench [--count N] [--certkeeper PATH] [--only engine|cli] [--breakdown]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "bench/bench_support.h"
#include "base/log.h"
#include "base/phase_timer.h"
#include "base/process.h"
#include "base/status.h"
#include "lifecycle/config.h"
#include "lifecycle/engine.h"

namespace certkeeper::bench {
namespace {


struct Options {
  int count = 20;
  std::string certkeeper;  // the CLI executable
  bool engine = true;
  bool cli = true;
  bool breakdown = false;
};

// One issuance as measured.
struct Sample {
  double seconds = 0;
  Counts requests;
  long max_rss_kb = 0;   // child processes only
  long max_anon_kb = 0;  // sampled peak of RssAnon, child processes only
};

struct Ca {
  std::string directory_url;
  std::string ca_bundle;
  std::string root_pem;
  std::string http_port;
};

void PrintSummary(const char* title, const std::vector<Sample>& samples) {
  if (samples.empty()) return;
  std::vector<double> times;
  for (const Sample& s : samples) times.push_back(s.seconds);
  std::sort(times.begin(), times.end());
  size_t n = times.size();
  double median = n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  printf("\n== %s: %zu issuances\n", title, n);
  printf("wall time per issuance: median %.3f s, min %.3f s, max %.3f s\n", median,
         times.front(), times.back());
  size_t slowest = 0;
  for (size_t i = 1; i < n; ++i) {
    if (samples[i].seconds > samples[slowest].seconds) slowest = i;
  }
  printf("slowest: issuance %zu, %.3f s (%s)\n", slowest + 1, samples[slowest].seconds,
         Format(samples[slowest].requests).c_str());

  // Requests: the first issuance alone (it may create the account), then the rest.
  printf("requests, issuance 1: %lld (%s)\n", static_cast<long long>(Total(samples[0].requests)),
         Format(samples[0].requests).c_str());
  if (n > 1) {
    Counts sum;
    int64_t lo = INT64_MAX, hi = 0;
    for (size_t i = 1; i < n; ++i) {
      Add(sum, samples[i].requests);
      lo = std::min(lo, Total(samples[i].requests));
      hi = std::max(hi, Total(samples[i].requests));
    }
    printf("requests, issuances 2..%zu: %lld..%lld per issuance; total by kind: %s\n", n,
           static_cast<long long>(lo), static_cast<long long>(hi), Format(sum).c_str());
  }
  // The polls an issuance needed (the floor is one of each): how often the
  // first authorization poll and the first order poll came too early.
  for (const char* kind : {"poll-authz", "poll-order"}) {
    std::map<int64_t, int> histogram;
    for (size_t i = n > 1 ? 1 : 0; i < n; ++i) {
      auto it = samples[i].requests.find(kind);
      ++histogram[it == samples[i].requests.end() ? 0 : it->second];
    }
    std::string line;
    for (const auto& [polls, times] : histogram) {
      line += (line.empty() ? "" : ", ") + std::to_string(polls) + " poll" +
              (polls == 1 ? "" : "s") + " x" + std::to_string(times);
    }
    printf("%s per issuance%s: %s\n", kind, n > 1 ? " (2..N)" : "", line.c_str());
  }
  long rss = 0;
  long anon = 0;
  for (const Sample& s : samples) {
    rss = std::max(rss, s.max_rss_kb);
    anon = std::max(anon, s.max_anon_kb);
  }
  if (rss > 0) {
    printf("peak RSS of a certkeeper issue process: %.1f MB (anonymous memory, sampled: %.1f MB)\n",
           rss / 1024.0, anon / 1024.0);
  }
}

lifecycle::CertificateSpec Spec(const std::string& name) {
  lifecycle::CertificateSpec spec;
  spec.name = name;
  spec.domains = {name + ".bench.example.com"};
  spec.challenges = {"http-01"};
  return spec;
}

// The phases of issuances 2..N (phase::Snapshot after a Reset once the first
// one, which also registers the account, is done), as a mean per issuance.
void PrintBreakdown(const std::vector<Sample>& samples) {
  if (samples.size() < 2) return;
  const double n = static_cast<double>(samples.size() - 1);
  double total = 0;
  for (size_t i = 1; i < samples.size(); ++i) total += samples[i].seconds;
  printf("\n== where an in-process issuance goes (issuances 2..%zu, mean per issuance)\n",
         samples.size());
  printf("%-36s %9s %7s\n", "phase", "ms", "calls");
  double sum = 0;
  std::vector<std::pair<std::string, phase::Total>> nested;
  for (const auto& [name, t] : phase::Snapshot()) {
    if (!name.empty() && name.front() == '(') {
      nested.emplace_back(name, t);
      continue;
    }
    double ms = std::chrono::duration<double, std::milli>(t.time).count() / n;
    sum += ms;
    printf("%-36s %9.2f %7.1f\n", name.c_str(), ms, t.count / n);
  }
  double mean_ms = total * 1000 / n;
  printf("%-36s %9.2f\n", "other (between the phases)", mean_ms - sum);
  printf("%-36s %9.2f\n", "issuance (mean wall time)", mean_ms);
  for (const auto& [name, t] : nested) {
    printf("%-36s %9.2f %7.1f  (inside the phases above)\n", name.c_str(),
           std::chrono::duration<double, std::milli>(t.time).count() / n, t.count / n);
  }
}

Result<std::vector<Sample>> RunEngine(const Ca& ca, const std::string& dir, int count,
                                      bool breakdown) {
  lifecycle::Config config;
  config.state_dir = dir + "/engine-state";
  config.acme.server = ca.directory_url;
  config.acme.ca_bundle = ca.ca_bundle;
  config.acme.issuer_roots = ca.root_pem;
  config.acme.email = "bench@example.com";
  config.acme.agree_tos = true;
  lifecycle::SolverSettings http;
  http.type = "http-01";
  http.listen = "127.0.0.1:" + ca.http_port;
  config.solvers["http-01"] = http;
  CK_ASSIGN_OR_RETURN(std::unique_ptr<lifecycle::Engine> engine,
                      lifecycle::Engine::Open(config, RealClock()));
  std::vector<Sample> samples;
  for (int i = 1; i <= count; ++i) {
    Counts before = engine->RequestCounts();
    auto start = Clock::now();
    auto outcome = engine->Issue(Spec("engine" + std::to_string(i)));
    Sample s;
    s.seconds = Seconds(Clock::now() - start);
    if (!outcome.ok()) return outcome.status().Annotate("engine issuance " + std::to_string(i));
    s.requests = Subtract(engine->RequestCounts(), before);
    samples.push_back(std::move(s));
    if (breakdown && i == 1) {
      phase::Reset();
      phase::Enable(true);
    }
  }
  phase::Enable(false);
  return samples;
}

std::string Rss(const Child& c) {
  char buf[96];
  snprintf(buf, sizeof buf, "peak RSS %.1f MB (anonymous %.1f MB)", c.usage.ru_maxrss / 1024.0,
           c.max_anon_kb / 1024.0);
  return buf;
}

Result<std::vector<Sample>> RunCli(const Ca& ca, const std::string& dir,
                                   const std::string& certkeeper, int count) {
  std::string config = dir + "/certkeeper.toml";
  {
    std::ofstream f(config);
    f << "state_dir = \"" << dir << "/cli-state\"\n"
      << "[acme]\nserver = \"" << ca.directory_url << "\"\n"
      << "ca_bundle = \"" << ca.ca_bundle << "\"\n"
      << "issuer_roots = \"" << ca.root_pem << "\"\n"
      << "email = \"bench@example.com\"\nagree_tos = true\n"
      << "[solvers.http-01]\nlisten = \"127.0.0.1:" << ca.http_port << "\"\n";
    if (!f) return Status(ErrorCode::kIo, "cannot write the config").Where(config);
  }
  std::string err_path = dir + "/cli-stderr.log";
  auto run = [&](std::vector<std::string> args) -> Result<Child> {
    args.insert(args.begin(), {certkeeper, "-c", config, "--json", "-v"});
    CK_ASSIGN_OR_RETURN(Child child, Spawn(args, err_path));
    if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != 0) {
      return Status(ErrorCode::kInternal, "certkeeper " + args[5] + " failed:\n" + child.err);
    }
    return child;
  };
  // The stored account of the cron case.
  CK_ASSIGN_OR_RETURN(Child registered, run({"account", "register"}));
  // What the executable and its shared libraries cost before any work.
  CK_ASSIGN_OR_RETURN(Child version, run({"--version"}));
  printf("certkeeper --version: %.3f s, %s\n", version.seconds, Rss(version).c_str());
  printf("certkeeper account register: %.3f s, %s\n", registered.seconds, Rss(registered).c_str());

  std::vector<Sample> samples;
  for (int i = 1; i <= count; ++i) {
    std::string name = "cli" + std::to_string(i);
    CK_ASSIGN_OR_RETURN(Child child, run({"issue", name, "-d", name + ".bench.example.com",
                                          "--challenge", "http-01"}));
    Sample s;
    s.seconds = child.seconds;
    s.requests = RequestsInLog(child.err);
    s.max_rss_kb = child.usage.ru_maxrss;
    s.max_anon_kb = child.max_anon_kb;
    samples.push_back(std::move(s));
  }
  CK_ASSIGN_OR_RETURN(Child listed, run({"list"}));
  printf("certkeeper list (%d certificates): %.3f s, %s\n", count, listed.seconds,
         Rss(listed).c_str());
  return samples;
}

Result<Options> ParseArgs(int argc, char** argv) {
  Options o;
  std::string self = argv[0];
  // Default: the certkeeper of the same build tree (build/bench/.. -> build/cli).
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (len > 0) o.certkeeper = fs::DirName(fs::DirName(std::string(exe, len))) + "/cli/certkeeper";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--count" && has_value) {
      char* end = nullptr;
      long v = strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > 10000) {
        return Status(ErrorCode::kInvalidArgument, "--count wants a number from 1 to 10000");
      }
      o.count = static_cast<int>(v);
    } else if (a == "--certkeeper" && has_value) {
      o.certkeeper = argv[++i];
    } else if (a == "--breakdown") {
      o.breakdown = true;
    } else if (a == "--only" && has_value) {
      std::string v = argv[++i];
      if (v != "engine" && v != "cli") {
        return Status(ErrorCode::kInvalidArgument, "--only wants engine or cli");
      }
      o.engine = v == "engine";
      o.cli = v == "cli";
    } else {
      return Status(ErrorCode::kInvalidArgument,
                    "usage: " + self +
                        " [--count N] [--certkeeper PATH] [--only engine|cli] [--breakdown]");
    }
  }
  if (o.cli) CK_RETURN_IF_ERROR(CheckCertkeeperExecutable(o.certkeeper));
  return o;
}

int Main(int argc, char** argv) {
  // The engine narrates every step on stderr; the figures are what matters here.
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
  Ca ca{Getenv("ACME_DIRECTORY_URL"), Getenv("ACME_CA_BUNDLE"), Getenv("PEBBLE_ROOT_PEM"),
        Getenv("PEBBLE_HTTP_PORT")};
  std::unique_ptr<StartedEnvironment> started;
  if (ca.directory_url.empty()) {
    auto t0 = Clock::now();
    auto env = StartedEnvironment::Start(dir.path());
    if (!env.ok()) {
      fprintf(stderr, "%s\n", env.status().ToString().c_str());
      return 1;
    }
    started = std::move(*env);
    ca = {started->Get("ACME_DIRECTORY_URL"), started->Get("ACME_CA_BUNDLE"),
          started->Get("PEBBLE_ROOT_PEM"), started->Get("PEBBLE_HTTP_PORT")};
    printf("test environment started in %.1f s\n", Seconds(Clock::now() - t0));
  }
  if (ca.directory_url.empty() || ca.ca_bundle.empty() || ca.root_pem.empty() ||
      ca.http_port.empty()) {
    fprintf(stderr,
            "need ACME_DIRECTORY_URL, ACME_CA_BUNDLE, PEBBLE_ROOT_PEM and PEBBLE_HTTP_PORT "
            "(as exported by pebble-testenv/up), or none of them\n");
    return 1;
  }
  printf("CA: %s, %d certificates per mode\n", ca.directory_url.c_str(), options->count);

  int rc = 0;
  if (options->engine) {
    auto samples = RunEngine(ca, dir.path(), options->count, options->breakdown);
    if (samples.ok()) {
      PrintSummary("in-process engine (one Engine, one account)", *samples);
      if (options->breakdown) PrintBreakdown(*samples);
      rusage self = {};
      getrusage(RUSAGE_SELF, &self);
      printf("peak RSS of this process after the engine run: %.1f MB\n",
             self.ru_maxrss / 1024.0);
    } else {
      fprintf(stderr, "engine run failed: %s\n", samples.status().ToString().c_str());
      rc = 1;
    }
  }
  if (options->cli) {
    auto samples = RunCli(ca, dir.path(), options->certkeeper, options->count);
    if (samples.ok()) {
      PrintSummary("CLI, a fresh certkeeper process per certificate (stored account)",
                   *samples);
    } else {
      fprintf(stderr, "CLI run failed: %s\n", samples.status().ToString().c_str());
      rc = 1;
    }
  }
  return rc;
}

}  // namespace
}  // namespace certkeeper::bench

int main(int argc, char** argv) { return certkeeper::bench::Main(argc, argv); }
