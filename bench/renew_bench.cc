// Renewal benchmark: what a timer run costs.
//  (a) An inventory of 10,000 certificates, none due: time of `renew --all`
//      through the in-process Engine (inventory-driven, and with all 10,000 in
//      the config), and the number of requests it sent (must be 0).
//  (b) 200 due certificates against Pebble with --jobs 1, 4 and 8:
//      certificates per second. Uses the environment given by ACME_DIRECTORY_URL,
//      ACME_CA_BUNDLE, PEBBLE_ROOT_PEM and PEBBLE_HTTP_PORT when set, else
//      starts one with pebble-testenv/up (and stops it with down).
//
//   renew_bench [--inventory N] [--due N] [--skip-pebble]
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/process.h"
#include "bench/bench_inventory.h"
#include "lifecycle/engine.h"
#include "store/sql_inventory.h"

namespace certkeeper {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

int64_t TotalRequests(lifecycle::Engine& engine) {
  int64_t total = 0;
  for (const auto& [kind, n] : engine.RequestCounts()) total += n;
  return total;
}

// N certificates, each with a deployed version issued yesterday for 90 days.
Status FillInventory(const std::string& state_dir, const std::string& server, int n) {
  std::filesystem::create_directories(state_dir + "/live");
  CK_ASSIGN_OR_RETURN(auto inv, store::SqlInventory::Open(state_dir + "/certkeeper.db"));
  TimePoint now = RealClock()->Now();
  return inv->Transaction([&]() -> Status {
    // As after a real issuance: the CA's directory was seen (this one offers
    // no renewal information), so a run need not ask for it.
    CK_RETURN_IF_ERROR(inv->PutCaDirectory({server, "", now, ""}));
    for (int i = 0; i < n; ++i) {
      store::CertificateSpec spec = bench::BenchSpec(i, server);
      CK_RETURN_IF_ERROR(inv->PutCertificate(spec));
      store::Version v = bench::BenchVersion(spec, i, state_dir, now - std::chrono::hours(24),
                                             std::chrono::hours(24 * 90));
      CK_RETURN_IF_ERROR(inv->AddVersion(v));
      CK_RETURN_IF_ERROR(bench::LinkLive(state_dir, v));
    }
    return Status::Ok();
  });
}

// What the operator's timer runs: a fresh `certkeeper renew --all`, and `list`.
void BenchNothingDueCli(const std::string& state, const std::string& server, int n) {
  std::string binary = bench::CertkeeperBinary();
  if (binary.empty()) {
    std::printf("(a) certkeeper executable not found next to the benchmark; CLI runs skipped\n");
    return;
  }
  for (const char* command : {"renew", "list"}) {
    ProcessSpec spec;
    spec.argv = {binary, "--state-dir", state, "--server", server, "--json", "-q", command};
    if (std::string(command) == "renew") spec.argv.push_back("--all");
    spec.timeout = std::chrono::seconds(120);
    auto start = Clock::now();
    auto run = RunProcess(spec);
    double took = Seconds(Clock::now() - start);
    if (!run.ok() || !run->success()) {
      std::printf("(a) certkeeper %s failed: %s\n", command,
                  run.ok() ? run->stderr_data.c_str() : run.status().ToString().c_str());
      return;
    }
    std::printf("(a) certkeeper %s%s (a fresh process) over %d certificates: %.3f s\n", command,
                std::string(command) == "renew" ? " --all" : "", n, took);
  }
}

void BenchNothingDue(int n) {
  fs::TempDir dir;
  const std::string server = "https://127.0.0.1:9/dir";  // never reached
  std::string state = dir.path() + "/state";
  auto t0 = Clock::now();
  Status filled = FillInventory(state, server, n);
  if (!filled.ok()) {
    std::printf("(a) cannot fill the inventory: %s\n", filled.ToString().c_str());
    return;
  }
  std::printf("(a) inventory of %d certificates filled in %.2f s\n", n, Seconds(Clock::now() - t0));

  lifecycle::Config config;
  config.state_dir = state;
  config.acme.server = server;
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      for (int i = 0; i < n; ++i) {
        lifecycle::CertificateSpec spec;
        spec.name = bench::BenchName(i);
        spec.domains = {spec.name + ".bench.test"};
        spec.challenges = {"http-01"};
        config.certificates.push_back(spec);
      }
      config.solvers["http-01"].type = "http-01";
      config.solvers["http-01"].listen = "127.0.0.1:1";
    }
    for (int jobs : {1, 4}) {
      auto engine = lifecycle::Engine::Open(config, RealClock());
      if (!engine.ok()) {
        std::printf("(a) cannot open: %s\n", engine.status().ToString().c_str());
        return;
      }
      lifecycle::RenewOptions options;
      options.all = true;
      options.jobs = jobs;
      auto start = Clock::now();
      auto report = (*engine)->Renew(options);
      double took = Seconds(Clock::now() - start);
      if (!report.ok()) {
        std::printf("(a) renew failed: %s\n", report.status().ToString().c_str());
        return;
      }
      int not_due = 0;
      for (const auto& o : report->certificates) not_due += o.outcome == "not-due";
      std::printf("(a) renew --all --jobs %d, %s: %zu certificates, %d not due, %lld requests, "
                  "%.3f s (%.1f us per certificate)\n",
                  jobs, pass == 0 ? "inventory only" : "all in the config",
                  report->certificates.size(), not_due,
                  static_cast<long long>(TotalRequests(**engine)), took,
                  took * 1e6 / std::max<size_t>(1, report->certificates.size()));
    }
    if (pass == 0) BenchNothingDueCli(state, server, n);
  }
}

// The source tree, as the build defines it (__FILE__ may be relative).
std::string SourceDir() { return CERTKEEPER_SOURCE_DIR; }

// The environment's exported variables; starts one when none is given.
class Pebble {
 public:
  Pebble() {
    for (const char* v : {"ACME_DIRECTORY_URL", "ACME_CA_BUNDLE", "PEBBLE_ROOT_PEM",
                          "PEBBLE_HTTP_PORT"}) {
      if (const char* value = getenv(v)) vars_[v] = value;
    }
    if (vars_.size() == 4) return;
    vars_.clear();
    state_ = dir_.path() + "/testenv";
    ProcessSpec spec;
    spec.argv = {SourceDir() + "/pebble-testenv/up",
                 "--state-dir", state_, "--watch-pid", std::to_string(getpid())};
    for (const char* port : {"PEBBLE_PORT", "PEBBLE_MGMT_PORT", "PEBBLE_HTTP_PORT",
                             "PEBBLE_TLS_PORT", "CHALLTESTSRV_DNS_PORT",
                             "CHALLTESTSRV_MGMT_PORT"}) {
      spec.env.emplace_back(port, std::to_string(bench::FreeLoopbackPort()));
    }
    spec.timeout = std::chrono::seconds(120);
    auto run = RunProcess(spec);
    if (!run.ok() || !run->success()) {
      std::printf("(b) pebble-testenv/up failed: %s\n",
                  run.ok() ? run->stderr_data.c_str() : run.status().ToString().c_str());
      return;
    }
    started_ = true;
    size_t pos = 0;
    const std::string& out = run->stdout_data;
    while ((pos = out.find("export ", pos)) != std::string::npos) {
      size_t eq = out.find('=', pos), nl = out.find('\n', pos);
      std::string name = out.substr(pos + 7, eq - pos - 7);
      std::string value = out.substr(eq + 2, nl - eq - 3);  // inside single quotes
      vars_[name] = value;
      pos = nl;
    }
  }
  ~Pebble() {
    if (!started_) return;
    ProcessSpec spec;
    spec.argv = {SourceDir() + "/pebble-testenv/down",
                 "--state-dir", state_};
    (void)RunProcess(spec);
  }
  bool ok() const { return vars_.count("ACME_DIRECTORY_URL") > 0; }
  std::string Get(const std::string& name) { return vars_[name]; }

 private:
  fs::TempDir dir_;
  std::string state_;
  bool started_ = false;
  std::map<std::string, std::string> vars_;
};

void BenchDue(int n) {
  Pebble pebble;
  if (!pebble.ok()) return;
  for (int jobs : {1, 4, 8}) {
    fs::TempDir dir;
    lifecycle::Config config;
    config.state_dir = dir.path() + "/state";
    config.acme.server = pebble.Get("ACME_DIRECTORY_URL");
    config.acme.ca_bundle = pebble.Get("ACME_CA_BUNDLE");
    config.acme.issuer_roots = pebble.Get("PEBBLE_ROOT_PEM");
    config.acme.agree_tos = true;
    config.solvers["http-01"].type = "http-01";
    config.solvers["http-01"].listen = "127.0.0.1:" + pebble.Get("PEBBLE_HTTP_PORT");
    config.renewal.budgets = lifecycle::BudgetSettings{0, 0, 0, 0};
    for (int i = 0; i < n; ++i) {
      lifecycle::CertificateSpec spec;
      spec.name = bench::BenchName(i);
      spec.domains = {spec.name + ".j" + std::to_string(jobs) + ".bench.test"};
      spec.challenges = {"http-01"};
      config.certificates.push_back(spec);
    }
    auto engine = lifecycle::Engine::Open(config, RealClock());
    if (!engine.ok()) {
      std::printf("(b) cannot open: %s\n", engine.status().ToString().c_str());
      return;
    }
    // The account first, so that the figure is about certificates.
    if (auto account = (*engine)->RegisterAccount(); !account.ok()) {
      std::printf("(b) account: %s\n", account.status().ToString().c_str());
      return;
    }
    lifecycle::RenewOptions options;
    options.all = true;
    options.jobs = jobs;
    auto start = Clock::now();
    auto report = (*engine)->Renew(options);
    double took = Seconds(Clock::now() - start);
    if (!report.ok()) {
      std::printf("(b) renew failed: %s\n", report.status().ToString().c_str());
      return;
    }
    int issued = 0;
    for (const auto& o : report->certificates) issued += o.outcome == "issued";
    std::printf("(b) --jobs %d: %d/%d issued in %.2f s = %.1f certificates/s, %lld requests\n",
                jobs, issued, n, took, issued / took,
                static_cast<long long>(TotalRequests(**engine)));
  }
}

}  // namespace
}  // namespace certkeeper

int main(int argc, char** argv) {
  int inventory = 10000, due = 200;
  bool pebble = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--inventory" && i + 1 < argc) {
      inventory = std::atoi(argv[++i]);
    } else if (a == "--due" && i + 1 < argc) {
      due = std::atoi(argv[++i]);
    } else if (a == "--skip-pebble") {
      pebble = false;
    } else {
      std::fprintf(stderr, "usage: renew_bench [--inventory N] [--due N] [--skip-pebble]\n");
      return 1;
    }
  }
  certkeeper::BenchNothingDue(inventory);
  if (pebble) certkeeper::BenchDue(due);
  return 0;
}
