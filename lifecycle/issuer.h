// One issuance, read top to bottom as the protocol's story (RFC 8555 §7.4):
// order, authorizations with challenge failover, finalize, download.
//
// Failover (ARCHITECTURE.md "Principles"): for each identifier the certificate's
// challenge types are tried in order. A solver first checks itself; a failed
// self-check or Present moves to the next type within the same authorization,
// at no cost at the CA. When the CA marks a validation invalid, the failure is
// recorded and a new order is placed in which only the identifiers that failed
// use their next type (valid authorizations are reused by the CA). Each type is
// tried at most once per identifier per issuance, so the loop is bounded.
// Solvers take a batch of identifiers at a time; when a batch fails locally,
// each identifier gets its own try, so that one name a route cannot serve does
// not push the others off that route. When no route is left for an identifier,
// the order's pending authorizations are deactivated and the error lists every
// route tried with the reason it failed.
#ifndef CERTKEEPER_LIFECYCLE_ISSUER_H_
#define CERTKEEPER_LIFECYCLE_ISSUER_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "acme/client.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/status.h"
#include "lifecycle/config.h"
#include "lifecycle/solver_set.h"
#include "store/records.h"

namespace certkeeper::lifecycle {

struct IssueInput {
  const CertificateSpec* spec = nullptr;
  const PrivateKey* key = nullptr;     // the certificate key (new, or resumed)
  std::string resume_order_url;        // a pending order from a killed run
  std::string replaces;                // ARI certificate id of the version replaced
  Duration validation_timeout = std::chrono::seconds(90);
  Duration order_timeout = std::chrono::seconds(90);
};

struct IssueResult {
  std::string order_url;
  std::string cert_pem;   // leaf
  std::string chain_pem;  // intermediates
  std::string challenge;  // the type that validated the last identifier
};

// Callbacks into the engine, so the issuer stays free of storage details.
struct IssueHooks {
  std::function<void(const store::AttemptStep&)> step;
  // An order was created (record it for resumption and for budgets).
  std::function<void(const std::string& order_url)> order_created;
  // The CA marked a validation invalid for identifier.
  std::function<void(const std::string& identifier)> validation_failed;
};

// The challenge types to try for spec, in order: its own list filtered to the
// configured solvers, or every configured solver. Errors when nothing is left,
// or when a wildcard name has no dns-01 route.
Result<std::vector<std::string>> ChallengeRoutes(const CertificateSpec& spec,
                                                 const std::vector<std::string>& configured);

// An authorization's identifier comes from the CA: it must be a valid DNS name
// (no wildcard label: RFC 8555 §7.1.4 moves "*." into the "wildcard" field) and,
// with its wildcard flag, one of the domains the order asked for. Only then does
// it reach a solver (a file name, a DNS record name, an SNI value).
Status CheckRequested(const acme::Authorization& authz, const std::vector<std::string>& domains);

class Issuer {
 public:
  Issuer(acme::Client* client, SolverSet* solvers, Clock* clock)
      : client_(client), solvers_(solvers), clock_(clock) {}

  Result<IssueResult> Issue(const IssueInput& input, const IssueHooks& hooks);

 private:
  struct Route {
    std::string identifier;  // without "*."
    bool wildcard = false;
    std::string authz_url;
    std::string type;  // chosen challenge type
    std::string challenge_url;
    challenges::ChallengeTask task;
  };
  // Per identifier key ("*.example.com" or "example.com"): types already tried.
  using Tried = std::map<std::string, std::set<std::string>>;

  // Solves every pending authorization of the order. Returns the identifiers
  // (keys) whose validation the CA rejected, empty when all are valid.
  Result<std::vector<std::string>> SolveAuthorizations(
      const acme::Order& order, const std::vector<std::string>& preference, Tried& tried,
      std::vector<std::string>& failures, const IssueInput& input, const IssueHooks& hooks,
      std::string& last_type);
  // SelfCheck, then Present, of one batch of routes of one type; records a
  // step per route and the solver's notes. On a failed Present the batch is
  // cleaned up (after its steps are recorded) before returning. stage names
  // the failed stage on error.
  Status Prepare(challenges::Solver* solver, const std::string& type,
                 const std::vector<Route>& routes, const IssueHooks& hooks, std::string& stage);
  // CleanUp of routes presented by solver (type), whatever happened since;
  // its notes and a failure are recorded, a failure does not stop the issuance.
  void CleanUp(challenges::Solver* solver, const std::string& type,
               const std::vector<Route>& routes, const IssueHooks& hooks);
  // The solver's notes since the last call, as steps of the attempt.
  void RecordNotes(challenges::Solver* solver, const std::string& type, const IssueHooks& hooks);
  // Giving up on an order: its pending authorizations are deactivated (RFC 8555
  // §7.5.2) so that none lingers at the CA; best-effort, each recorded as a step.
  void DeactivatePending(const std::map<std::string, acme::Authorization>& authzs,
                         const IssueHooks& hooks);
  Result<IssueResult> FinishOrder(const acme::Order& order, const IssueInput& input,
                                  const IssueHooks& hooks);
  void Step(const IssueHooks& hooks, std::string kind, std::string challenge,
            std::string identifier, store::StepResult result, std::string error = {},
            std::string output = {});

  acme::Client* client_;
  SolverSet* solvers_;
  Clock* clock_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ISSUER_H_
