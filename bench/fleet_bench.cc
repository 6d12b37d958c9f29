// Fleet benchmark: what a shared inventory on PostgreSQL costs.
//  (a) 10,000 and 100,000 certificates, none due: the wall time of one fresh
//      `certkeeper renew --all` process of a fleet host, and the number of SQL
//      statements it sent (the "inventory closed" line of its `--json -v`
//      log), beside the same inventory in SQLite (certkeeper.db).
//  (b) Three hosts running `renew --all --jobs 4` at once over 1,000 due
//      certificates against Pebble: certificates per second, outcomes and lease
//      conflicts.
// Starts its own environment (pebble-testenv/up --with postgres, on free ports,
// PEBBLE_VA_ALWAYS_VALID=1) and stops it with down.
//
//   fleet_bench [--counts 10000,100000] [--due 1000] [--skip-pebble]
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/process.h"
#include "bench/bench_inventory.h"
#include "bench/bench_support.h"
#include "store/sql_inventory.h"

namespace certkeeper {
namespace {

using bench::Clock;
using bench::Seconds;

constexpr const char* kNeverReached = "https://127.0.0.1:9/dir";

struct Run {
  int status = -1;
  double seconds = 0;
  std::string out, err;
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// Runs every argv at once (fork + execve, no shell), stdout and stderr to files
// under dir; waits for all (bounded: SIGKILL after 10 minutes).
std::vector<Run> RunAtOnce(const std::vector<std::vector<std::string>>& argvs,
                           const std::string& dir) {
  std::vector<pid_t> pids;
  std::vector<Run> runs(argvs.size());
  auto start = Clock::now();
  for (size_t i = 0; i < argvs.size(); ++i) {
    std::vector<char*> args;
    for (const auto& a : argvs[i]) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::string out = dir + "/run" + std::to_string(i) + ".out";
    std::string err = dir + "/run" + std::to_string(i) + ".err";
    pid_t pid = fork();
    if (pid == 0) {
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(127);
      execve(args[0], args.data(), environ);
      _exit(127);
    }
    pids.push_back(pid);
  }
  auto deadline = start + std::chrono::minutes(10);
  for (size_t i = 0; i < pids.size(); ++i) {
    while (pids[i] > 0) {
      pid_t r = waitpid(pids[i], &runs[i].status, WNOHANG);
      if (r == pids[i] || r < 0) break;
      if (Clock::now() > deadline) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &runs[i].status, 0);
        break;
      }
      usleep(1000);
    }
    runs[i].seconds = Seconds(Clock::now() - start);
    std::string base = dir + "/run" + std::to_string(i);
    if (auto o = fs::ReadFile(base + ".out"); o.ok()) runs[i].out = *o;
    if (auto e = fs::ReadFile(base + ".err"); e.ok()) runs[i].err = *e;
  }
  return runs;
}

// The statements of the "inventory closed" line of a --json -v log; -1 without.
long long StatementsInLog(const std::string& log) {
  std::istringstream lines(log);
  long long n = -1;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("inventory closed") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("statements")) {
      n = std::atoll(j["statements"].get<std::string>().c_str());
    }
  }
  return n;
}

std::string Tail(const std::string& s) { return s.size() > 2000 ? s.substr(s.size() - 2000) : s; }

// n certificates, each with a deployed version issued yesterday for 90 days
// (and delivered on `host` when given), in batches of 5,000 per transaction.
Status Seed(store::SqlInventory& inv, const std::string& state_dir, int n,
            const std::string& host) {
  std::filesystem::create_directories(state_dir + "/live");
  TimePoint now = RealClock()->Now();
  CK_RETURN_IF_ERROR(inv.PutCaDirectory({kNeverReached, "", now, ""}));
  for (int first = 0; first < n; first += 5000) {
    CK_RETURN_IF_ERROR(inv.Transaction([&]() -> Status {
      for (int i = first; i < std::min(n, first + 5000); ++i) {
        store::CertificateSpec spec = bench::BenchSpec(i, kNeverReached);
        CK_RETURN_IF_ERROR(inv.PutCertificate(spec));
        store::Version v = bench::BenchVersion(spec, i, state_dir, now - std::chrono::hours(24),
                                               std::chrono::hours(24 * 90));
        CK_RETURN_IF_ERROR(inv.AddVersion(v));
        if (!host.empty()) {
          CK_RETURN_IF_ERROR(inv.PutHostDeployment({spec.name, host, 1, "deployed", now, ""}));
        }
        CK_RETURN_IF_ERROR(bench::LinkLive(state_dir, v));
      }
      return Status::Ok();
    }));
  }
  return Status::Ok();
}

struct Fleet {
  std::string url, password_file, key_file, psql, testenv_state;
};

Status ResetDatabase(const Fleet& fleet) {
  ProcessSpec spec;
  spec.argv = {fleet.psql, fleet.testenv_state, "-c",
               "DROP SCHEMA public CASCADE; CREATE SCHEMA public"};
  spec.timeout = std::chrono::seconds(60);
  CK_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(spec));
  if (!r.success()) return Status(ErrorCode::kInternal, "reset the database: " + r.stderr_data);
  return Status::Ok();
}

std::string FleetHead(const Fleet& fleet, const std::string& host, const std::string& state) {
  return "host = \"" + host + "\"\nstate_dir = \"" + state + "\"\n[store]\nurl = \"" +
         fleet.url + "\"\npassword_file = \"" + fleet.password_file +
         "\"\nencryption_key_file = \"" + fleet.key_file + "\"\n";
}

void Report(const char* backend, int n, const char* which, const Run& run) {
  if (!run.ok()) {
    std::printf("(a) %s, %d certificates: renew --all failed (status %d): %s\n", backend, n,
                run.status, Tail(run.err).c_str());
    return;
  }
  std::printf("(a) %-10s %6d certificates, none due, %s renew --all: %.3f s, %lld statements\n",
              backend, n, which, run.seconds, StatementsInLog(run.err));
}

void BenchNothingDue(const std::string& binary, const Fleet* fleet, int n) {
  fs::TempDir dir;
  // PostgreSQL: one fleet host over the shared inventory.
  if (fleet != nullptr) {
    Status reset = ResetDatabase(*fleet);
    if (!reset.ok()) {
      std::printf("(a) %s\n", reset.ToString().c_str());
      return;
    }
    std::string state = dir.path() + "/pg-state";
    store::PostgresOptions options;
    options.url = fleet->url;
    auto password = fs::ReadFile(fleet->password_file);
    if (password.ok()) {
      options.password = *password;
      while (!options.password.empty() && options.password.back() == '\n') options.password.pop_back();
    }
    options.clock = RealClock();
    auto t0 = Clock::now();
    auto inv = store::SqlInventory::OpenPostgres(options);
    Status seeded = inv.ok() ? Seed(**inv, state, n, "bench-1") : inv.status();
    if (!seeded.ok()) {
      std::printf("(a) PostgreSQL: cannot seed: %s\n", seeded.ToString().c_str());
      return;
    }
    std::printf("(a) PostgreSQL: %d certificates seeded in %.1f s (%lld statements)\n", n,
                Seconds(Clock::now() - t0), static_cast<long long>((*inv)->StatementsRun()));
    inv->reset();
    std::string config = dir.path() + "/pg.toml";
    Status written = fs::WritePrivateFile(
        config, FleetHead(*fleet, "bench-1", state) + "[acme]\nserver = \"" + kNeverReached + "\"\n");
    if (!written.ok()) {
      std::printf("(a) %s\n", written.ToString().c_str());
      return;
    }
    for (const char* which : {"first", "second"}) {
      auto runs = RunAtOnce({{binary, "-c", config, "--json", "-v", "renew", "--all"}}, dir.path());
      Report("PostgreSQL", n, which, runs[0]);
    }
  }
  // SQLite: the same inventory in the state directory.
  std::string state = dir.path() + "/sqlite-state";
  std::filesystem::create_directories(state);
  auto t0 = Clock::now();
  auto inv = store::SqlInventory::Open(state + "/certkeeper.db");
  Status seeded = inv.ok() ? Seed(**inv, state, n, "") : inv.status();
  if (!seeded.ok()) {
    std::printf("(a) SQLite: cannot seed: %s\n", seeded.ToString().c_str());
    return;
  }
  std::printf("(a) SQLite: %d certificates seeded in %.1f s\n", n, Seconds(Clock::now() - t0));
  inv->reset();
  for (const char* which : {"first", "second"}) {
    auto runs = RunAtOnce({{binary, "--state-dir", state, "--server", kNeverReached, "--json", "-v",
                            "renew", "--all"}},
                          dir.path());
    Report("SQLite", n, which, runs[0]);
  }
}

// The outcomes of a renew --json output marked "lease_conflict": another host
// held the certificate's claim.
long long LeaseConflicts(const nlohmann::json& j) {
  const nlohmann::json* list = &j;
  if (j.is_object() && j.contains("certificates")) list = &j["certificates"];
  if (!list->is_array()) return 0;
  long long n = 0;
  for (const auto& o : *list) {
    if (o.is_object() && o.value("lease_conflict", false)) n++;
  }
  return n;
}

// Outcomes of a renew --json output, by outcome.
void CountOutcomes(const nlohmann::json& j, std::map<std::string, int>& into) {
  const nlohmann::json* list = &j;
  if (j.is_object() && j.contains("certificates")) list = &j["certificates"];
  if (!list->is_array()) return;
  for (const auto& o : *list) {
    if (o.is_object()) into[o.value("outcome", "?")]++;
  }
}

void BenchThreeHosts(const std::string& binary, const Fleet& fleet,
                     const bench::StartedEnvironment& env, int n) {
  Status reset = ResetDatabase(fleet);
  if (!reset.ok()) {
    std::printf("(b) %s\n", reset.ToString().c_str());
    return;
  }
  fs::TempDir dir;
  std::string certs;
  for (int i = 0; i < n; ++i) {
    certs += "[[certificate]]\nname = \"" + bench::BenchName(i) + "\"\ndomains = [\"" +
             bench::BenchName(i) + ".fleet.bench.test\"]\nchallenges = [\"http-01\"]\n";
  }
  std::vector<std::vector<std::string>> argvs;
  for (int h = 1; h <= 3; ++h) {
    std::string host = "edge-" + std::to_string(h);
    std::string config = dir.path() + "/" + host + ".toml";
    std::string text =
        FleetHead(fleet, host, dir.path() + "/" + host) + "[acme]\nserver = \"" +
        env.Get("ACME_DIRECTORY_URL") + "\"\nca_bundle = \"" + env.Get("ACME_CA_BUNDLE") +
        "\"\nissuer_roots = \"" + env.Get("PEBBLE_ROOT_PEM") +
        "\"\nemail = \"ops@example.com\"\nagree_tos = true\n[solvers.http-01]\n"
        "listen = \"127.0.0.1:" + std::to_string(bench::FreeLoopbackPort()) +
        "\"\n[renewal.budgets]\nnew_orders_per_3h = 0\n"
        "certificates_per_registered_domain_per_week = 0\nduplicate_certificates_per_week = 0\n" +
        certs;
    if (Status written = fs::WritePrivateFile(config, text); !written.ok()) {
      std::printf("(b) %s\n", written.ToString().c_str());
      return;
    }
    argvs.push_back({binary, "-c", config, "--json", "renew", "--all", "--jobs", "4"});
  }
  auto start = Clock::now();
  auto runs = RunAtOnce(argvs, dir.path());
  double took = Seconds(Clock::now() - start);
  std::map<std::string, int> outcomes;
  long long conflicts = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    auto j = nlohmann::json::parse(runs[i].out, nullptr, false);
    std::map<std::string, int> mine;
    CountOutcomes(j, mine);
    conflicts += LeaseConflicts(j);
    std::string line;
    for (const auto& [k, v] : mine) {
      line += " " + k + "=" + std::to_string(v);
      outcomes[k] += v;
    }
    std::printf("(b) edge-%zu: %s in %.2f s:%s\n", i + 1, runs[i].ok() ? "exit 0" : "FAILED",
                runs[i].seconds, line.c_str());
    if (!runs[i].ok()) std::printf("    %s\n", Tail(runs[i].err).c_str());
  }
  std::printf("(b) three hosts, %d due certificates, --jobs 4 each: %d issued in %.2f s = %.1f "
              "certificates/s; lease conflicts: %lld, %d skipped outcomes\n",
              n, outcomes["issued"], took, outcomes["issued"] / took, conflicts,
              outcomes["skipped"]);
}

}  // namespace
}  // namespace certkeeper

int main(int argc, char** argv) {
  using namespace certkeeper;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as soon as it is measured
  std::vector<int> counts = {10000, 100000};
  int due = 1000;
  bool pebble = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--counts" && i + 1 < argc) {
      counts.clear();
      std::stringstream list(argv[++i]);
      for (std::string c; std::getline(list, c, ',');) counts.push_back(std::atoi(c.c_str()));
    } else if (a == "--due" && i + 1 < argc) {
      due = std::atoi(argv[++i]);
    } else if (a == "--skip-pebble") {
      pebble = false;
    } else {
      std::fprintf(stderr, "usage: fleet_bench [--counts N,N] [--due N] [--skip-pebble]\n");
      return 1;
    }
  }
  std::string binary = bench::CertkeeperBinary();
  if (Status s = bench::CheckCertkeeperExecutable(binary); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  fs::TempDir work;
  // PostgreSQL runs as its own unprivileged user: it must be able to traverse
  // to the state directory `up` creates in here (nothing is listable).
  if (chmod(work.path().c_str(), 0711) != 0) {
    std::fprintf(stderr, "cannot open %s to the database user\n", work.path().c_str());
    return 1;
  }
  auto env = bench::StartedEnvironment::Start(
      work.path(), {"--with", "postgres"},
      {{"PEBBLE_VA_ALWAYS_VALID", "1"},
       {"POSTGRES_PORT", std::to_string(bench::FreeLoopbackPort())}});
  if (!env.ok()) {
    std::fprintf(stderr, "%s\n", env.status().ToString().c_str());
    return 1;
  }
  Fleet fleet;
  fleet.url = (*env)->Get("POSTGRES_URL");
  fleet.password_file = (*env)->Get("POSTGRES_PASSWORD_FILE");
  fleet.testenv_state = (*env)->Get("CERTKEEPER_TESTENV_STATE");
  fleet.psql = std::string(CERTKEEPER_SOURCE_DIR) + "/pebble-testenv/postgres-psql";
  fleet.key_file = work.path() + "/fleet.key";
  // The fleet's encryption key: 32 random bytes, owner-only.
  std::string key(32, '\0');
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  bool read_key = fd >= 0 && read(fd, key.data(), key.size()) == 32;
  if (fd >= 0) close(fd);
  if (!read_key || !fs::WritePrivateFile(fleet.key_file, key).ok()) {
    std::fprintf(stderr, "cannot write the key file %s\n", fleet.key_file.c_str());
    return 1;
  }

  for (int n : counts) BenchNothingDue(binary, &fleet, n);
  if (pebble) BenchThreeHosts(binary, fleet, **env, due);
  return 0;
}
