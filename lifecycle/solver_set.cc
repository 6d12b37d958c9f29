#include "lifecycle/solver_set.h"

#include <algorithm>

namespace certkeeper::lifecycle {

namespace {
const std::vector<std::string>& DefaultOrder() {
  static const std::vector<std::string>* order =
      new std::vector<std::string>{"http-01", "dns-01", "tls-alpn-01"};
  return *order;
}
}  // namespace

Result<std::unique_ptr<SolverSet>> SolverSet::Create(
    const std::map<std::string, SolverSettings>& settings) {
  auto set = std::make_unique<SolverSet>();
  std::map<std::string, SolverSettings> effective = settings;
  if (effective.empty()) {
    SolverSettings http;
    http.type = "http-01";
    http.listen = "0.0.0.0:80";
    effective["http-01"] = http;
  }
  for (const auto& [type, s] : effective) {
    CK_ASSIGN_OR_RETURN(auto solver, MakeSolver(s));
    set->solvers_[type].solver = std::move(solver);
  }
  return set;
}

std::unique_ptr<SolverSet> SolverSet::FromSolvers(
    std::vector<std::unique_ptr<challenges::Solver>> solvers) {
  auto set = std::make_unique<SolverSet>();
  for (auto& s : solvers) {
    std::string type(s->type());
    set->solvers_[type].solver = std::move(s);
  }
  return set;
}

challenges::Solver* SolverSet::Find(const std::string& type) const {
  auto it = solvers_.find(type);
  return it == solvers_.end() ? nullptr : it->second.solver.get();
}

std::vector<std::string> SolverSet::Types() const {
  std::vector<std::string> out;
  for (const std::string& t : DefaultOrder()) {
    if (solvers_.count(t)) out.push_back(t);
  }
  return out;
}

SolverSet::Lease SolverSet::Lock(std::vector<std::string> types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  Lease lease;
  for (const std::string& t : types) {
    auto it = solvers_.find(t);
    if (it != solvers_.end()) lease.locks_.emplace_back(*it->second.mu);
  }
  return lease;
}

}  // namespace certkeeper::lifecycle
