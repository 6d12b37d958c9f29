// serve benchmark: what a scrape of `certkeeper serve` costs over a large
// inventory, through the real HTTP server of the real executable.
//  - An inventory of N certificates (default 10,000), each with a deployed
//    version; `certkeeper serve` started on a free port of 127.0.0.1.
//  - GET /metrics and GET / (the status page): the first request (a fresh
//    snapshot: read the inventory, render), requests a second apart (each one
//    reads again: the snapshot is reused for a second only), and a burst of
//    requests within that second (one read for the burst).
// Target: a fresh /metrics under 100 ms at 10,000 certificates.
//
//   serve_bench [--inventory N]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "base/fs.h"
#include "bench/bench_inventory.h"
#include "lifecycle/engine.h"
#include "lifecycle/metrics.h"
#include "lifecycle/monitor.h"
#include "store/sql_inventory.h"

namespace certkeeper {
namespace {

using Clock = std::chrono::steady_clock;

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// N certificates, each with a deployed version valid for 90 days.
Status FillInventory(const std::string& state_dir, const std::string& server, int n) {
  std::filesystem::create_directories(state_dir + "/live");
  CK_ASSIGN_OR_RETURN(auto inv, store::SqlInventory::Open(state_dir + "/certkeeper.db"));
  TimePoint now = RealClock()->Now();
  return inv->Transaction([&]() -> Status {
    CK_RETURN_IF_ERROR(inv->PutCaDirectory({server, "", now, ""}));
    for (int i = 0; i < n; ++i) {
      store::CertificateSpec spec = bench::BenchSpec(i, server, /*www=*/true);
      CK_RETURN_IF_ERROR(inv->PutCertificate(spec));
      // Spread over the lifetime, so that the page has every kind of bar.
      CK_RETURN_IF_ERROR(inv->AddVersion(bench::BenchVersion(
          spec, i, state_dir, now - std::chrono::hours(24 * (1 + i % 80)),
          std::chrono::hours(24 * 90))));
    }
    return Status::Ok();
  });
}

// One GET over a new connection; the whole response, or "" on failure.
std::string Get(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      while (true) {
        pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 30000) <= 0) break;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  return out;
}

struct Figures {
  double first = 0;
  std::vector<double> fresh;
  std::vector<double> burst;
  size_t bytes = 0;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Figures Measure(int port, const std::string& path) {
  Figures f;
  auto timed = [&](std::vector<double>* into) {
    auto start = Clock::now();
    std::string r = Get(port, path);
    double ms = Millis(Clock::now() - start);
    if (r.rfind("HTTP/1.1 200", 0) != 0) {
      std::printf("  GET %s failed: %.200s\n", path.c_str(), r.c_str());
      std::exit(1);
    }
    f.bytes = r.size();
    if (into) into->push_back(ms);
    return ms;
  };
  // Past the snapshot's second, so that the first request reads afresh.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  f.first = timed(nullptr);
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    timed(&f.fresh);
    for (int j = 0; j < 4; ++j) timed(&f.burst);
  }
  return f;
}

int Main(int argc, char** argv) {
  int n = 10000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--inventory") n = std::atoi(argv[i + 1]);
  }
  std::string binary = bench::CertkeeperBinary();
  if (binary.empty()) {
    std::printf("certkeeper executable not found next to the benchmark\n");
    return 1;
  }
  fs::TempDir dir;
  const std::string state = dir.path() + "/state";
  const std::string server = "https://127.0.0.1:9/dir";  // never reached
  auto t0 = Clock::now();
  Status filled = FillInventory(state, server, n);
  if (!filled.ok()) {
    std::printf("cannot fill the inventory: %s\n", filled.ToString().c_str());
    return 1;
  }
  std::printf("inventory of %d certificates filled in %.0f ms\n", n, Millis(Clock::now() - t0));

  // In process: what one snapshot costs (every route starts from one), and
  // rendering the metrics from it.
  {
    lifecycle::Config config;
    config.state_dir = state;
    config.acme.server = server;
    auto engine = lifecycle::Engine::Open(config, RealClock());
    if (!engine.ok()) {
      std::printf("cannot open: %s\n", engine.status().ToString().c_str());
      return 1;
    }
    std::vector<double> lists, reads, renders;
    for (int i = 0; i < 3; ++i) {
      auto start = Clock::now();
      auto list = (*engine)->List();
      lists.push_back(Millis(Clock::now() - start));
      start = Clock::now();
      auto snap = (*engine)->Snapshot();
      reads.push_back(Millis(Clock::now() - start));
      if (!snap.ok()) {
        std::printf("snapshot failed: %s\n", snap.status().ToString().c_str());
        return 1;
      }
      start = Clock::now();
      std::string text = lifecycle::RenderMetrics(*snap);
      renders.push_back(Millis(Clock::now() - start));
    }
    std::printf("in process: Engine::List() median %.1f ms, Engine::Snapshot() median %.1f ms, "
                "RenderMetrics median %.1f ms\n",
                Median(lists), Median(reads), Median(renders));
  }

  const int port = bench::FreeLoopbackPort();
  const std::string log = dir.path() + "/serve.log";
  std::vector<std::string> args = {binary, "--state-dir", state, "--server", server, "-q",
                                   "serve", "--listen", "127.0.0.1:" + std::to_string(port)};
  std::vector<char*> c_args;
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err >= 0) dup2(err, 2);
    execv(c_args[0], c_args.data());
    _exit(127);
  }
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Get(port, "/healthz").empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const char* path : {"/metrics", "/", "/api/certificates"}) {
    Figures f = Measure(port, path);
    std::printf("GET %-17s %d certificates, %zu bytes: first %.1f ms, fresh snapshot median "
                "%.1f ms, cached median %.1f ms\n",
                path, n, f.bytes, f.first, Median(f.fresh), Median(f.burst));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  return 0;
}

}  // namespace
}  // namespace certkeeper

int main(int argc, char** argv) { return certkeeper::Main(argc, argv); }
