// Renewal benchmark: what a timer run costs.
//  (a) An inventory of 10,000 certificates, none due: time of `renew --all`
//      through the in-process Engine (inventory-driven, and with all 10,000 in
//      the config), and the number of requests it sent (must be 0).
//  (b) 200 due certificates against Pebble with --jobs 1, 4 and 8:
//      certificates per second. Uses the environment given by ACME_DIRECTORY_URL,
//      ACME_CA_BUNDLE, PEBBLE_ROOT_PEM and PEBBLE_HTTP_PORT when set, else
//      starts one with pebble-testenv/up (and stops it with down).
//
//   renew_bench [--inventory N] [--due N] [--runs N] [--keep DIR] [--skip-pebble]
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

// A leaf and its issuer as a CA issues them (openssl(1), once per run): the
// leaf names a CRL distribution point, as Let's Encrypt's do.
Result<bench::BenchFiles> MakeFiles(const std::string& dir) {
  const std::string ca_key = dir + "/ca.key", ca = dir + "/ca.pem", key = dir + "/leaf.key",
                    csr = dir + "/leaf.csr", leaf = dir + "/leaf.pem", ext = dir + "/leaf.ext";
  CK_RETURN_IF_ERROR(fs::WriteFileAtomic(
      ext, "crlDistributionPoints=URI:http://127.0.0.1:9/bench.crl\n"
           "subjectAltName=DNS:c00000.bench.test\n"));
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", ca_key, "-out", ca, "-subj", "/CN=bench CA", "-days", "365"},
      {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=c00000.bench.test"},
      {"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
       "-out", leaf, "-days", "90", "-extfile", ext}};
  for (const auto& argv : steps) {
    ProcessSpec spec;
    spec.argv = argv;
    CK_ASSIGN_OR_RETURN(ProcessResult run, RunProcess(spec));
    if (!run.success()) return Status(ErrorCode::kInternal, "bench: openssl: " + run.stderr_data);
  }
  bench::BenchFiles files;
  CK_ASSIGN_OR_RETURN(files.key_pem, fs::ReadFile(key));
  CK_ASSIGN_OR_RETURN(files.cert_pem, fs::ReadFile(leaf));
  CK_ASSIGN_OR_RETURN(files.chain_pem, fs::ReadFile(ca));
  return files;
}

// N certificates, each with a deployed version issued yesterday for 90 days,
// its files, and the CRL's "good" answer a previous run stored (valid for a
// week), as a real inventory has them.
Status FillInventory(const std::string& state_dir, const std::string& server, int n) {
  std::filesystem::create_directories(state_dir + "/live");
  CK_ASSIGN_OR_RETURN(bench::BenchFiles files, MakeFiles(state_dir));
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
      CK_RETURN_IF_ERROR(bench::WriteVersionFiles(v, files));
      store::RevocationRecord crl;
      crl.certificate = spec.name;
      crl.version = v.n;
      crl.method = "crl";
      crl.status = "good";
      crl.url = "http://127.0.0.1:9/bench.crl";
      crl.checked_at = now - std::chrono::hours(1);
      crl.this_update = crl.checked_at;
      crl.next_update = now + std::chrono::hours(24 * 7);
      CK_RETURN_IF_ERROR(inv->PutRevocation(crl));
    }
    return Status::Ok();
  });
}

// User and system time of the waited-for children so far: on a shared
// machine the wall time also counts the time spent waiting for a core.
double ChildrenCpuSeconds() {
  struct rusage ru {};
  getrusage(RUSAGE_CHILDREN, &ru);
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

// Minor page faults of the reaped children so far.
long ChildrenPageFaults() {
  struct rusage ru {};
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_minflt;
}

// The config file an operator keeps for n certificates: one [[certificate]]
// block each, as the in-process pass with all of them in the config has them.
Status WriteConfig(const std::string& path, const std::string& server, int n) {
  std::string text = "[acme]\nserver = \"" + server + "\"\n\n"
                     "[solvers.http-01]\nlisten = \"127.0.0.1:1\"\n";
  text.reserve(text.size() + static_cast<size_t>(n) * 96);
  for (int i = 0; i < n; ++i) {
    const std::string name = bench::BenchName(i);
    text += "\n[[certificate]]\nname = \"" + name + "\"\ndomains = [\"" + name +
            ".bench.test\"]\nchallenges = [\"http-01\"]\n";
  }
  return fs::WriteFileAtomic(path, text);
}

// What the operator's timer runs: a fresh `certkeeper renew --all`, and `list`,
// each `runs` times (median and min): with the certificates known only to the
// inventory, or (config non-empty) with all of them in that config file.
void BenchNothingDueCli(const std::string& state, const std::string& server,
                        const std::string& config, int n, int runs) {
  std::string binary = bench::CertkeeperBinary();
  if (binary.empty()) {
    std::printf("(a) certkeeper executable not found next to the benchmark; CLI runs skipped\n");
    return;
  }
  for (const char* command : {"renew", "list"}) {
    ProcessSpec spec;
    spec.argv = {binary, "--state-dir", state, "--server", server, "--json", "-q"};
    if (!config.empty()) {
      spec.argv.push_back("--config");
      spec.argv.push_back(config);
    }
    spec.argv.push_back(command);
    if (std::string(command) == "renew") spec.argv.push_back("--all");
    spec.timeout = std::chrono::seconds(120);
    std::vector<double> took, cpu;
    std::vector<long> faults;
    for (int r = 0; r < runs; ++r) {
      const double cpu_before = ChildrenCpuSeconds();
      const long faults_before = ChildrenPageFaults();
      auto start = Clock::now();
      auto run = RunProcess(spec);
      took.push_back(Seconds(Clock::now() - start));
      cpu.push_back(ChildrenCpuSeconds() - cpu_before);
      faults.push_back(ChildrenPageFaults() - faults_before);
      if (!run.ok() || !run->success()) {
        std::printf("(a) certkeeper %s failed: %s\n", command,
                    run.ok() ? run->stderr_data.c_str() : run.status().ToString().c_str());
        return;
      }
    }
    std::sort(took.begin(), took.end());
    std::sort(cpu.begin(), cpu.end());
    std::sort(faults.begin(), faults.end());
    std::printf("(a) certkeeper %s%s (a fresh process), %s, %d certificates: "
                "%.3f s median, %.3f s min of %d; CPU (user + system) %.3f s median; "
                "%ld page faults median\n",
                command, std::string(command) == "renew" ? " --all" : "",
                config.empty() ? "inventory only" : "all in the config", n,
                took[took.size() / 2], took.front(), runs, cpu[cpu.size() / 2],
                faults[faults.size() / 2]);
  }
}

void BenchNothingDue(int n, int runs, const std::string& keep) {
  fs::TempDir temp;
  // --keep DIR: the inventory stays there, for a profiler to run against.
  const std::string dir = keep.empty() ? temp.path() : keep;
  const std::string server = "https://127.0.0.1:9/dir";  // never reached
  std::string state = dir + "/state";
  // --keep DIR of an earlier run with the same --inventory: its inventory is
  // used again (filling 100,000 certificates takes minutes).
  std::error_code ec;
  if (!keep.empty() && std::filesystem::exists(state + "/certkeeper.db", ec)) {
    std::printf("(a) inventory of %d certificates kept in %s, used again\n", n, keep.c_str());
  } else {
    auto t0 = Clock::now();
    Status filled = FillInventory(state, server, n);
    if (!filled.ok()) {
      std::printf("(a) cannot fill the inventory: %s\n", filled.ToString().c_str());
      return;
    }
    std::printf("(a) inventory of %d certificates filled in %.2f s\n", n,
                Seconds(Clock::now() - t0));
  }

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
    if (pass == 0) BenchNothingDueCli(state, server, "", n, runs);
  }
  const std::string config_path = dir + "/certkeeper.toml";
  if (Status written = WriteConfig(config_path, server, n); !written.ok()) {
    std::printf("(a) cannot write the config: %s\n", written.ToString().c_str());
    return;
  }
  BenchNothingDueCli(state, server, config_path, n, runs);
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
  int inventory = 10000, due = 200, runs = 5;
  std::string keep;
  bool pebble = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--inventory" && i + 1 < argc) {
      inventory = std::atoi(argv[++i]);
    } else if (a == "--due" && i + 1 < argc) {
      due = std::atoi(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else if (a == "--skip-pebble") {
      pebble = false;
    } else {
      std::fprintf(stderr, "usage: renew_bench [--inventory N] [--due N] [--runs N] [--keep DIR] [--skip-pebble]\n");
      return 1;
    }
  }
  certkeeper::BenchNothingDue(inventory, runs, keep);
  if (pebble) certkeeper::BenchDue(due);
  return 0;
}
