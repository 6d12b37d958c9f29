// `certkeeper serve`: the bounded HTTP server (challenges/http_server.h) with
// serve's routes (cli/serve_routes.h), and, with --renew-every/--probe-every,
// the periodic renewal and probes (cli/serve_schedule.h), until SIGTERM or
// SIGINT.
#include <signal.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "challenges/http_server.h"
#include "cli/command_context.h"
#include "cli/serve_routes.h"
#include "cli/serve_schedule.h"
#include "cli/serve_setup.h"
#include "lifecycle/monitor.h"

namespace certkeeper::cli {

namespace {

// Hostile-client bounds (docs/serve.md): a scrape or a page view is one small
// GET; 64 clients at once is far more than monitoring needs.
constexpr size_t kMaxConnections = 64;
constexpr auto kRequestTimeout = std::chrono::seconds(10);
// After SIGTERM a renewal in progress is allowed to finish (each request to
// the CA is bounded in time); a second signal ends the process at once.
constexpr int kSignalPollMillis = 200;

using EngineFactory = std::function<Result<std::unique_ptr<lifecycle::Engine>>()>;

// The same renewal as `renew --all`, on a fresh engine so that the run lease is
// held only during the run.
void RenewOnce(const EngineFactory& open) {
  auto engine = open();
  if (!engine.ok()) {
    log::Warn("serve: renewal: cannot open the inventory", {{"error", engine.status().ToString()}});
    return;
  }
  lifecycle::RenewOptions options;
  options.all = true;
  Result<lifecycle::RunReport> report = (*engine)->Renew(options);
  if (!report.ok()) {
    if (report.status().code() == ErrorCode::kLocked) {
      log::Info("serve: renewal skipped: another run holds the lock; retrying next period");
    } else {
      log::Warn("serve: renewal failed", {{"error", report.status().ToString()}});
    }
    return;
  }
  std::map<std::string, int> counts;
  for (const auto& c : report->certificates) {
    ++counts[c.outcome];
    if (!c.error.ok()) {
      log::Warn("serve: renewal of a certificate failed",
                {{"name", c.name}, {"error", c.error.ToString()}});
    }
  }
  log::Fields fields;
  for (const auto& [outcome, n] : counts) fields.emplace_back(outcome, std::to_string(n));
  log::Info("serve: renewal done", fields);
}

void ProbeOnce(const EngineFactory& open) {
  auto engine = open();
  if (!engine.ok()) {
    log::Warn("serve: probes: cannot open the inventory", {{"error", engine.status().ToString()}});
    return;
  }
  Result<std::vector<lifecycle::ProbeView>> probes = (*engine)->Probe();
  if (!probes.ok()) {
    log::Warn("serve: probes failed", {{"error", probes.status().ToString()}});
    return;
  }
  int failing = 0;
  for (const auto& p : *probes) failing += (p.ok && p.error.empty()) ? 0 : 1;
  log::Info("serve: probes done", {{"endpoints", std::to_string(probes->size())},
                                   {"failing", std::to_string(failing)}});
}

// Waits for SIGTERM or SIGINT (blocked in every thread since before they
// started). Returns the signal.
int AwaitSignal(const sigset_t& set) {
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) return sig;
  }
}

}  // namespace

int CmdServe(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) {
    return ctx.Fail(Status(ErrorCode::kInvalidArgument, "serve takes no arguments")
                        .Hint("certkeeper serve [--listen ADDR] [--renew-every D]"),
                    1);
  }
  Result<ServeSetup> setup = ResolveServeSetup(ctx.config().serve, ctx.values());
  // A bad address, token file or duration is a configuration error: exit 1.
  if (!setup.ok()) return ctx.Fail(setup.status(), 1);
  // Every thread started from here on inherits the mask, so that only sigwait here
  // sees the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto reader = ctx.OpenEngine();
  if (!reader.ok()) return ctx.Fail(reader.status(), ctx.ExitFor(reader.status()));
  std::unique_ptr<lifecycle::Engine> engine = std::move(*reader);

  Result<int> fd = challenges::BindListener(setup->listen, "serve");
  if (!fd.ok()) return ctx.Fail(fd.status(), 1);
  Result<int> port = challenges::BoundPort(*fd);
  const std::string where = setup->listen.WithPort(port.ok() ? *port : setup->listen.port)
                                .ToString();
  if (!setup->loopback) {
    log::Warn("serve: listening on an address other than loopback without TLS: the pages, "
              "the metrics and the bearer token cross the network unencrypted; put a TLS "
              "reverse proxy in front or listen on 127.0.0.1",
              {{"listen", where}});
  }
  ServeRoutesOptions options;
  options.token = setup->token;
  lifecycle::Engine* read_engine = engine.get();
  auto routes = std::make_shared<ServeRoutes>([read_engine] { return read_engine->Snapshot(); },
                                              options);
  challenges::HttpServerLimits limits;
  limits.max_connections = kMaxConnections;
  limits.request_timeout = kRequestTimeout;
  auto server = challenges::HttpServer::Start(
      *fd, "serve", [routes](const challenges::RequestHead& head) { return routes->Handle(head); },
      limits);
  if (!server.ok()) return ctx.Fail(server.status(), 2);
  log::Info("serve: listening", {{"listen", where},
                                 {"auth", setup->token.empty() ? "none" : "bearer token"}});

  EngineFactory open = [&ctx] { return ctx.OpenEngine(); };
  std::vector<std::unique_ptr<PeriodicJob>> jobs;
  if (setup->renew_every) {
    jobs.push_back(std::make_unique<PeriodicJob>("serve: renewal", *setup->renew_every,
                                                 [open] { RenewOnce(open); }));
  }
  if (setup->probe_every) {
    jobs.push_back(std::make_unique<PeriodicJob>("serve: probes", *setup->probe_every,
                                                 [open] { ProbeOnce(open); }));
  }

  int sig = AwaitSignal(signals);
  log::Info("serve: stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server->reset();  // no new request; every socket closed
  routes.reset();
  for (auto& job : jobs) job->RequestStop();
  for (auto& job : jobs) {
    while (!job->Finished()) {
      timespec wait = {0, kSignalPollMillis * 1000000L};
      if (sigtimedwait(&signals, nullptr, &wait) > 0) {
        log::Warn("serve: second signal: stopping without waiting for the run in progress");
        _exit(128 + SIGTERM);
      }
    }
  }
  jobs.clear();
  engine.reset();
  log::Info("serve: stopped");
  return 0;
}

}  // namespace certkeeper::cli
