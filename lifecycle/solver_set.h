// The configured challenge solvers, shared by every certificate of a run.
#ifndef CERTKEEPER_LIFECYCLE_SOLVER_SET_H_
#define CERTKEEPER_LIFECYCLE_SOLVER_SET_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "challenges/solver.h"
#include "lifecycle/config.h"

namespace certkeeper::lifecycle {

// Builds one solver from its settings; names the bad setting on error.
Result<std::unique_ptr<challenges::Solver>> MakeSolver(const SolverSettings& settings);

// Owns one solver per configured type. A solver instance is not thread-safe and
// a standalone one owns a port, so concurrent certificates take turns: Lock()
// hands out exclusive use of a set of types, acquired in a fixed order so that
// two certificates needing overlapping sets cannot deadlock. The validation phase
// that holds them is short (milliseconds to a DNS propagation wait).
class SolverSet {
 public:
  // Every [solvers.*] entry; when none is configured, HTTP-01 standalone on
  // port 80 (the usual default of ACME clients).
  static Result<std::unique_ptr<SolverSet>> Create(
      const std::map<std::string, SolverSettings>& settings);
  // For tests and embedders: solvers built elsewhere, each under its type();
  // of two solvers of one type the later wins.
  static std::unique_ptr<SolverSet> FromSolvers(
      std::vector<std::unique_ptr<challenges::Solver>> solvers);

  challenges::Solver* Find(const std::string& type) const;
  // Configured types in the default preference order: http-01, dns-01, tls-alpn-01.
  std::vector<std::string> Types() const;

  class Lease {
   public:
    Lease() = default;
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;

   private:
    friend class SolverSet;
    std::vector<std::unique_lock<std::mutex>> locks_;
  };
  // Exclusive use of the given types until the Lease is destroyed.
  Lease Lock(std::vector<std::string> types);

 private:
  struct Entry {
    std::unique_ptr<challenges::Solver> solver;
    std::unique_ptr<std::mutex> mu = std::make_unique<std::mutex>();
  };
  std::map<std::string, Entry> solvers_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_SOLVER_SET_H_
