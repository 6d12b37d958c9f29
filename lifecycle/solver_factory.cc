#include "base/challenge_type.h"
#include "challenges/dns01_solver.h"
#include "challenges/http01_solver.h"
#include "challenges/http01_webroot.h"
#include "challenges/tls_alpn_solver.h"
#include "lifecycle/solver_set.h"

namespace certkeeper::lifecycle {

namespace {

template <typename T>
Result<std::unique_ptr<challenges::Solver>> AsSolver(Result<std::unique_ptr<T>> solver,
                                                     const std::string& where) {
  if (!solver.ok()) return solver.status().Annotate(where);
  return std::unique_ptr<challenges::Solver>(std::move(*solver));
}

Result<std::unique_ptr<challenges::Solver>> MakeHttp01(const SolverSettings& s,
                                                       const std::string& where) {
  if (!s.webroot.empty()) return AsSolver(challenges::Http01WebrootSolver::Create(s.webroot), where);
  challenges::Http01Options options;
  options.listen = s.listen;
  return AsSolver(challenges::Http01Solver::Create(options), where);
}

Result<std::unique_ptr<challenges::Solver>> MakeTlsAlpn01(const SolverSettings& s,
                                                          const std::string& where) {
  challenges::TlsAlpnOptions options;
  options.listen = s.listen;
  return AsSolver(challenges::TlsAlpnSolver::Create(options), where);
}

Result<std::unique_ptr<challenges::Solver>> MakeDns01(const SolverSettings& s,
                                                      const std::string& where) {
  challenges::Dns01Config config;
  config.provider = s.provider;
  config.resolver = s.resolver;
  config.propagation_timeout = s.propagation_timeout;
  config.options = s.options;
  config.command = s.command;
  return AsSolver(challenges::MakeDns01Solver(config), where);
}

}  // namespace

Result<std::unique_ptr<challenges::Solver>> MakeSolver(const SolverSettings& s) {
  const std::string where = "solvers." + s.type;
  std::optional<ChallengeType> type = ParseChallengeType(s.type);
  if (!type) {
    return Status(ErrorCode::kInvalidArgument, "unknown solver type \"" + s.type + "\"")
        .Hint("solver types are " + ChallengeTypeList());
  }
  switch (*type) {
    case ChallengeType::kHttp01:
      return MakeHttp01(s, where);
    case ChallengeType::kTlsAlpn01:
      return MakeTlsAlpn01(s, where);
    case ChallengeType::kDns01:
      return MakeDns01(s, where);
  }
  return Status(ErrorCode::kInternal, where + ": unhandled challenge type");
}

}  // namespace certkeeper::lifecycle
