// Metrics benchmark: what a scrape costs over an inventory of 10,000
// certificates (each with a deployed version, a renewal schedule and a
// revocation answer).
//  (a) in one process: Engine::Snapshot() and RenderMetrics, each timed
//      (median of the runs), with the size of the exposition;
//  (b) a fresh `certkeeper metrics` process (what node_exporter's textfile
//      refresh or a cron job pays), to stdout and with --textfile.
// The target is under 100 ms for each.
//
//   metrics_bench [--inventory N] [--runs N] [--keep DIR]
// --keep fills DIR (which must not exist) and leaves it, for profiling
// `certkeeper --state-dir DIR/state --server https://127.0.0.1:9/dir metrics`.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/process.h"
#include "bench/bench_inventory.h"
#include "lifecycle/engine.h"
#include "lifecycle/metrics.h"
#include "store/sql_inventory.h"

namespace certkeeper {
namespace {

using Clock = std::chrono::steady_clock;

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// CPU time (user + system) of this process, and of its reaped children: on
// a loaded machine the wall time measures the other processes too.
double ProcessCpuMillis() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double ChildrenCpuMillis() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  auto ms = [](const timeval& tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// N certificates, each with a deployed version issued yesterday for 90 days,
// live/<name> pointing at it, and a good OCSP answer for it.
Status FillInventory(const std::string& state_dir, const std::string& server, int n) {
  std::filesystem::create_directories(state_dir + "/live");
  CK_ASSIGN_OR_RETURN(auto inv, store::SqlInventory::Open(state_dir + "/certkeeper.db"));
  TimePoint now = RealClock()->Now();
  return inv->Transaction([&]() -> Status {
    CK_RETURN_IF_ERROR(inv->PutCaDirectory({server, "", now, ""}));
    for (int i = 0; i < n; ++i) {
      store::CertificateSpec spec = bench::BenchSpec(i, server);
      CK_RETURN_IF_ERROR(inv->PutCertificate(spec));
      store::Version v = bench::BenchVersion(spec, i, state_dir, now - std::chrono::hours(24),
                                             std::chrono::hours(24 * 90));
      CK_RETURN_IF_ERROR(inv->AddVersion(v));
      store::RevocationRecord r;
      r.certificate = spec.name;
      r.version = 1;
      r.method = "ocsp";
      r.status = "good";
      r.url = "http://ocsp.bench.test";
      r.checked_at = now;
      r.next_update = now + std::chrono::hours(24);
      CK_RETURN_IF_ERROR(inv->PutRevocation(r));
      CK_RETURN_IF_ERROR(bench::LinkLive(state_dir, v));
    }
    return Status::Ok();
  });
}

void BenchInProcess(const lifecycle::Config& config, int n, int runs) {
  auto engine = lifecycle::Engine::Open(config, RealClock());
  if (!engine.ok()) {
    std::printf("(a) cannot open: %s\n", engine.status().ToString().c_str());
    return;
  }
  std::vector<double> snapshot_ms, render_ms, snapshot_cpu, render_cpu;
  size_t bytes = 0, lines = 0;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    const double c0 = ProcessCpuMillis();
    auto snap = (*engine)->Snapshot();
    auto t1 = Clock::now();
    const double c1 = ProcessCpuMillis();
    if (!snap.ok()) {
      std::printf("(a) snapshot failed: %s\n", snap.status().ToString().c_str());
      return;
    }
    std::string text = lifecycle::RenderMetrics(*snap);
    auto t2 = Clock::now();
    render_cpu.push_back(ProcessCpuMillis() - c1);
    snapshot_cpu.push_back(c1 - c0);
    snapshot_ms.push_back(Millis(t1 - t0));
    render_ms.push_back(Millis(t2 - t1));
    bytes = text.size();
    lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }
  std::vector<double> list_cpu;
  for (int i = 0; i < runs; ++i) {
    const double c0 = ProcessCpuMillis();
    auto list = (*engine)->List();
    list_cpu.push_back(ProcessCpuMillis() - c0);
    if (!list.ok()) return;
  }
  std::printf("(a) List() alone (the certificates' views inside Snapshot()): %.1f ms CPU time\n",
              Median(list_cpu));
  std::printf("(a) in process, %d certificates, median of %d: Snapshot() %.1f ms, "
              "RenderMetrics %.1f ms, total %.1f ms (CPU time: %.1f + %.1f ms); %zu lines, "
              "%.2f MB\n",
              n, runs, Median(snapshot_ms), Median(render_ms),
              Median(snapshot_ms) + Median(render_ms), Median(snapshot_cpu), Median(render_cpu),
              lines, bytes / 1e6);
}

void BenchCli(const std::string& state, const std::string& server, const std::string& textfile,
              int n, int runs) {
  std::string binary = bench::CertkeeperBinary();
  if (binary.empty()) {
    std::printf("(b) certkeeper executable not found next to the benchmark; skipped\n");
    return;
  }
  for (bool to_file : {false, true}) {
    std::vector<double> ms, cpu;
    for (int i = 0; i < runs; ++i) {
      ProcessSpec spec;
      spec.argv = {binary, "--state-dir", state, "--server", server, "-q", "metrics"};
      if (to_file) spec.argv.insert(spec.argv.end(), {"--textfile", textfile});
      spec.max_output = 64 * 1024 * 1024;
      spec.timeout = std::chrono::seconds(120);
      auto start = Clock::now();
      const double c0 = ChildrenCpuMillis();
      auto run = RunProcess(spec);
      ms.push_back(Millis(Clock::now() - start));
      cpu.push_back(ChildrenCpuMillis() - c0);
      if (!run.ok() || !run->success()) {
        std::printf("(b) certkeeper metrics failed: %s\n",
                    run.ok() ? run->stderr_data.c_str() : run.status().ToString().c_str());
        return;
      }
    }
    std::printf("(b) certkeeper metrics%s (a fresh process) over %d certificates, median of %d: "
                "%.1f ms (min %.1f, max %.1f), CPU time %.1f ms\n",
                to_file ? " --textfile" : "", n, runs, Median(ms),
                *std::min_element(ms.begin(), ms.end()), *std::max_element(ms.begin(), ms.end()),
                Median(cpu));
  }
}

}  // namespace
}  // namespace certkeeper

int main(int argc, char** argv) {
  int n = 10000, runs = 7;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--inventory" && i + 1 < argc) {
      n = std::atoi(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr, "usage: metrics_bench [--inventory N] [--runs N] [--keep DIR]\n");
      return 1;
    }
  }
  using certkeeper::Status;
  namespace fs = certkeeper::fs;
  namespace lifecycle = certkeeper::lifecycle;
  using Clock = std::chrono::steady_clock;
  fs::TempDir dir;
  const std::string server = "https://127.0.0.1:9/dir";  // never reached
  const std::string base = keep.empty() ? dir.path() : keep;
  const std::string state = base + "/state";
  auto t0 = Clock::now();
  Status filled = certkeeper::FillInventory(state, server, n);
  if (!filled.ok()) {
    std::printf("cannot fill the inventory: %s\n", filled.ToString().c_str());
    return 1;
  }
  std::printf("inventory of %d certificates filled in %.2f s\n", n,
              std::chrono::duration<double>(Clock::now() - t0).count());
  lifecycle::Config config;
  config.state_dir = state;
  config.acme.server = server;
  certkeeper::BenchInProcess(config, n, runs);
  certkeeper::BenchCli(state, server, base + "/certkeeper.prom", n, runs);
  return 0;
}
