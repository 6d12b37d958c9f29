// One issuance, read top to bottom as the protocol's story (RFC 8555 §7.4):
// order, authorizations with challenge failover, finalize, download.
//
// Failover (ARCHITECTURE.md "Principles"), the contract of Issuer::Issue:
//  - Routes. An identifier's routes are the certificate's challenge types in
//    order (ChallengeRoutes), only dns-01 for a wildcard (the CA/Browser Forum
//    Baseline Requirements §3.2.2.4 allow neither the HTTP nor the TLS-ALPN
//    method for wildcard names), and only types its authorization offers.
//  - Local failures. A solver first checks itself (SelfCheck), then makes the
//    challenge answerable (Present). When either fails, the identifier moves
//    to its next route within the same order, at no cost at the CA: no
//    challenge is answered and no new order is placed.
//  - Batches. The identifiers that chose one type are prepared as one batch.
//    When a batch fails locally, each identifier of it gets its own try, so
//    that one name a route cannot serve does not push the others off it.
//  - CA rejections. The CA is asked to validate only once every pending
//    identifier of the order is presented. When it marks a validation
//    invalid, the failure is recorded and a new order is placed in which only
//    the identifiers that failed use their next route (valid authorizations
//    are reused by the CA); no new order is placed unless every rejected
//    identifier has a route left.
//  - Early finalize. When every presented route's solver saw the CA fetch
//    its answer (Solver::AwaitServed, before its first timeout), the order is
//    finalized at once instead of after an authorization poll. An answer
//    "processing" or "valid" shows every authorization valid (RFC 8555
//    §7.1.6) and is recorded as their validations; any other answer
//    (orderNotReady, §7.4) or error leads to the authorization polls, the
//    failover and the finalize as without the shortcut. Routes whose solver
//    cannot see the CA (DNS-01, webroot, exec) always have their
//    authorizations polled.
//  - Bound. Each (identifier, type) fails at most once per Issue call (a
//    batch failure and the identifier's own try after it count as one), so
//    there are at most identifiers x types + 1 rounds (one order each).
//  - Solvers. The solvers of the certificate's types are held exclusively
//    (SolverSet::Lock) from an order's first self-check to its last cleanup.
//  - Giving up. When an identifier has no route left, the order's presented
//    routes are cleaned up, its pending authorizations are deactivated
//    (RFC 8555 §7.5.2), and the error (kFailedPrecondition) lists every route
//    tried with the reason it failed.
//  - Cleanup. Every Present is followed by exactly one CleanUp of the same
//    tasks: at once when it failed, otherwise after the validations (and an
//    early finalize), also when a later step (a challenge response, a poll)
//    fails. A failed CleanUp is recorded and never stops the issuance.
//  - Record. Every step (order, self-check, present, note, cleanup,
//    validation, deactivate, finalize, download) is reported through
//    IssueHooks::step in the order it happened.
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
  std::string profile;  // sent in newOrder when set (the CA's meta.profiles)
  // The challenge types the names' CAA records allow this CA to use (RFC 8657
  // §4); empty: any.
  std::vector<std::string> allowed_types;
  // Picks the chain to keep among the default and the alternates (RFC 8555
  // §7.4.2); null: the default chain, and no alternate is downloaded.
  std::function<std::string(const acme::CertificateChains&)> choose_chain;
};

struct IssueResult {
  std::string order_url;
  std::string cert_pem;   // leaf
  std::string chain_pem;  // intermediates
  std::string challenge;  // the type that validated the last identifier
  CertInfo cert_info;     // the leaf, as parsed when it was downloaded
};

// Callbacks into the engine, so the issuer stays free of storage details.
struct IssueHooks {
  std::function<void(const store::AttemptStep&)> step;
  // An order was created: record it for resumption. Called before any other
  // request about the order; an error ends the issuance at once (a run killed
  // after further requests could not resume an order it never recorded).
  std::function<Status(const std::string& order_url)> persist_order;
  // An order was created (and persisted): count it for budgets.
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

  // Issues input.spec's domains for input.key (see the file comment). A
  // resumed order (input.resume_order_url) is used when the CA still holds it
  // pending, ready, processing or valid; otherwise a new one is placed. When
  // the CA answers alreadyReplaced to "replaces" (RFC 9773 §5), the order is
  // placed again without it. The certificate returned MUST match input.key
  // and cover every domain, or it is refused.
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
  // The state of one Issue call, shared by the orders it places: the
  // failover decisions as data (which types were tried for which identifier,
  // and why they failed) and the routes presented right now.
  struct Issuance {
    const IssueInput& input;
    const IssueHooks& hooks;
    std::vector<std::string> preference;  // challenge types in failover order
    // Per identifier key ("*.example.com" or "example.com"): types tried.
    std::map<std::string, std::set<std::string>> tried{};
    std::vector<std::string> failures{};  // "key via type: why", as they happened
    std::string last_type{};  // the type of the last validation the CA decided
    // The current order's presented routes by type; CleanUpPresented empties it.
    std::map<std::string, std::vector<Route>> presented{};
    // The current order as the CA answered an early finalize it accepted.
    std::optional<acme::Order> finalized{};
    // The CSR (DER) of input.key for the domains, once made: every order of
    // the issuance finalizes with the same one.
    std::string csr{};

    // The first type of preference not tried for key, dns-01 only for a
    // wildcard key, and one authz offers unless authz is null; "" if none.
    std::string NextType(const std::string& key, const acme::Authorization* authz) const;
    // (key, type) is tried and failed for `why`.
    void Failed(const std::string& key, const std::string& type, const std::string& why);
    // The error when key has no route left: every failure recorded, a hint.
    Status NoRouteLeft(const std::string& key) const;
  };
  // The authorizations of one order that still need a challenge (by URL),
  // and one route for each, its type not chosen yet.
  struct Pending {
    std::map<std::string, acme::Authorization> authzs;
    std::vector<Route> routes;
  };
  // How preparing one batch went: OK, or the stage that failed and why.
  struct Prepared {
    std::string stage;  // "self-check" or "present"
    Status status;
    std::string Why() const { return stage + " failed: " + status.ToString(); }
  };

  // issuer.cc: the order's story.
  std::optional<acme::Order> ResumeOrder(const Issuance& s);
  Result<acme::Order> PlaceOrder(const Issuance& s);
  // Finalizes order, unless finalized_early (the CA accepted an early finalize),
  // waits for the certificate and downloads it. `csr`: the one FinalizeEarly
  // made, or empty (made here).
  Result<IssueResult> FinishOrder(const acme::Order& order, bool finalized_early,
                                  const std::string& csr, const IssueInput& input,
                                  const IssueHooks& hooks);
  // The early finalize of the current order, once every presented route's
  // solver saw the CA's requests. True when the CA accepted it: then the
  // validations and the finalize are recorded and s.finalized is set; false
  // (nothing recorded) otherwise.
  bool FinalizeEarly(Issuance& s, const acme::Order& order);
  Result<IssueResult> Download(const acme::Order& order, const IssueInput& input,
                               const IssueHooks& hooks);
  void Step(const IssueHooks& hooks, std::string kind, std::string challenge,
            std::string identifier, store::StepResult result, std::string error = {},
            std::string output = {});

  // issuer_routes.cc: the authorizations of one order.
  // Solves every pending authorization of the order. Returns the identifier
  // keys whose validation the CA rejected, empty when all are valid. Every
  // route it presents is cleaned up before it returns.
  Result<std::vector<std::string>> SolveAuthorizations(Issuance& s, const acme::Order& order);
  Result<Pending> FetchPending(const Issuance& s, const acme::Order& order);
  // Chooses a type for every route and prepares it, falling over on local
  // failures, until all are in s.presented; on no route left, gives up on the
  // order (see the file comment).
  Status PresentAll(Issuance& s, Pending& pending);
  // The challenge of `type` for route r, with its key authorization.
  Status Assign(Route& r, const acme::Authorization& authz, const std::string& type);
  // Prepares routes of one type as a batch, else one by one; returns the
  // routes that failed (recorded in s), the others join s.presented.
  std::vector<Route> PrepareBatch(Issuance& s, const std::string& type,
                                  const std::vector<Route>& routes);
  // SelfCheck, then Present, of one batch of one type; records a step per
  // route and the solver's notes. A failed Present is cleaned up (after its
  // steps are recorded) before returning.
  Prepared Prepare(const Issuance& s, const std::string& type, const std::vector<Route>& routes);
  // Asks the CA to validate every presented route, then waits for each
  // (RFC 8555 §7.5.1), or finalizes order early (see the file comment);
  // returns the rejected keys.
  Result<std::vector<std::string>> ValidatePresented(Issuance& s, const acme::Order& order);
  // Waits until the solver of r saw the CA's requests for it, bounded by
  // deadline; nullopt when that solver cannot see them.
  std::optional<challenges::ServedWaitResult> AwaitFetched(const std::string& type, const Route& r,
                                                           TimePoint deadline);
  // Waits for one route's authorization; false when the CA rejected it.
  // fetched: its solver saw the CA's requests, so the first poll goes out at
  // once; otherwise it waits for them where the solver can see them (a CA
  // that had not looked before AwaitFetched timed out), else on the schedule.
  Result<bool> AwaitValidation(Issuance& s, const std::string& type, const Route& r,
                               TimePoint deadline, bool fetched);
  // Records that the CA validated r.
  void Validated(Issuance& s, const std::string& type, const Route& r);
  void CleanUpPresented(Issuance& s);
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

  acme::Client* client_;
  SolverSet* solvers_;
  Clock* clock_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ISSUER_H_
