#include "challenges/dns01_solver.h"
#include "challenges/http01_solver.h"
#include "challenges/http01_webroot.h"
#include "challenges/tls_alpn_solver.h"
#include "lifecycle/solver_set.h"

namespace certkeeper::lifecycle {

Result<std::unique_ptr<challenges::Solver>> MakeSolver(const SolverSettings& s) {
  const std::string where = "solvers." + s.type;
  if (s.type == "http-01") {
    if (!s.webroot.empty()) {
      auto solver = challenges::Http01WebrootSolver::Create(s.webroot);
      if (!solver.ok()) return solver.status().Annotate(where);
      return std::unique_ptr<challenges::Solver>(std::move(*solver));
    }
    challenges::Http01Options options;
    options.listen = s.listen;
    auto solver = challenges::Http01Solver::Create(options);
    if (!solver.ok()) return solver.status().Annotate(where);
    return std::unique_ptr<challenges::Solver>(std::move(*solver));
  }
  if (s.type == "tls-alpn-01") {
    challenges::TlsAlpnOptions options;
    options.listen = s.listen;
    auto solver = challenges::TlsAlpnSolver::Create(options);
    if (!solver.ok()) return solver.status().Annotate(where);
    return std::unique_ptr<challenges::Solver>(std::move(*solver));
  }
  if (s.type == "dns-01") {
    challenges::Dns01Config config;
    config.provider = s.provider;
    config.resolver = s.resolver;
    config.propagation_timeout = s.propagation_timeout;
    config.options = s.options;
    config.command = s.command;
    auto solver = challenges::MakeDns01Solver(config);
    if (!solver.ok()) return solver.status().Annotate(where);
    return std::move(*solver);
  }
  return Status(ErrorCode::kInvalidArgument, "unknown solver type \"" + s.type + "\"")
      .Hint("solver types are http-01, dns-01 and tls-alpn-01");
}

}  // namespace certkeeper::lifecycle
