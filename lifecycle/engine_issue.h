// Issuing one certificate within a recorded attempt: CA account -> order ->
// authorizations -> finalize -> a recorded version (engine_issue.cc). The
// order of writes is what keeps the inventory honest after a crash at any
// point:
//   1. the certificate key is written (0600) and the order URL recorded as
//      pending before any other request about the order, so a killed run
//      resumes the same order with the same key; when that record fails, the
//      issuance fails before finalize;
//   2. the version's files are written completely under archive/<name>/<n>;
//   3. AddVersion records it (the commit point: a recorded version always has
//      complete files), with the request records the budgets count.
// In a fleet (EngineContext::fleet) the other hosts must be able to carry on
// from any of these points: the pending order's key is shared
// (PendingOrderMaterial) before the order URL is recorded, and a version's
// files (Fleet::ShareVersion) before AddVersion records it; a host that
// finds another host's pending order resumes it with the shared key.
// Delivery is not part of it (engine_deploy.h).
//
// Thread-safe for different certificates (renew --jobs); MUST be called with
// the run lease held.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_ISSUE_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_ISSUE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/crypto.h"
#include "lifecycle/engine_account.h"
#include "lifecycle/engine_ari.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/caa_choice.h"
#include "lifecycle/engine_parts.h"
#include "lifecycle/issuer.h"
#include "lifecycle/solver_set.h"
#include "store/lease.h"

namespace certkeeper::lifecycle {

// The CAs one issuance may use, as its caller decided (lifecycle/planner.h).
struct CaRoute {
  std::vector<size_t> order;  // CA indices (Accounts), in the order to try
  // CAs held back before the attempt (the plan's holds): index and why. They
  // are recorded as skipped steps.
  std::vector<std::pair<size_t, std::string>> held;
  // Right before the first request to a CA: a reason to skip it now, or
  // nullopt. The renewal run counts its budgets here and reserves the order.
  // Null: no check.
  std::function<std::optional<std::string>(size_t ca)> gate;
  // The caller's claim on the certificate (store::Leases::Claim), checked
  // right before each CA is asked and before the version is recorded: once
  // lost, the issuance stops with kLocked, orders nothing more and records
  // no version (another host may hold the certificate now). Null: none.
  const store::CertificateClaim* claim = nullptr;
  // The caller recorded the requests the budgets count (the new order, the
  // certificate per names and per registered domain) when it reserved the
  // order fleet-wide (engine_renew.cc): they are not recorded again.
  bool requests_reserved = false;
};

// What the issuance falls back to the next CA on (ARCHITECTURE.md
// "Principles", issue of several CAs): the CA cannot be reached or answers
// 5xx, garbage or too slowly; it is rate-limiting; it refuses the
// identifiers or the account (rejectedIdentifier, caa, unauthorized,
// externalAccountRequired, userActionRequired); or every challenge route
// failed. Anything else (a local write, a configuration mistake) stops.
bool FallsBackToNextCa(const Status& error);

class Issuance {
 public:
  Issuance(const EngineContext& ctx, Accounts& accounts, RenewalInfoTracker& ari,
           SolverSetFactory solvers);

  // The CAs of spec in the order to try: its list (Config::CasFor); with
  // return_to_preferred off, the CA that issued `live` (null: none) first.
  CaRoute RouteFor(const CertificateSpec& spec, const store::Version* live) const;
  // With several CAs: moves each CA of route.order that a stored CA limit of
  // this certificate or of its account holds back (RFC 8555 §6.6) to
  // route.held, so that `issue` does not ask it before its Retry-After.
  // A limit that cannot be read holds every CA back.
  void HoldLimitedCas(const CertificateSpec& spec, CaRoute& route) const;
  // "name" of CA `ca`, or its server URL for the unnamed [acme] CA.
  std::string CaName(size_t ca) const;
  // Consecutive "CA unavailable" failures of CA `ca` in this engine's run.
  // A CA that cannot be reached fails every certificate the same way; the
  // renewal run stops asking it after kCaDownThreshold of these in a row.
  int UnavailableStreak(size_t ca) const;
  // A new run: every CA starts healthy.
  void ForgetUnavailable();
  // What this run learned about CA `ca`: whether any order reached it, and
  // the last failure to reach it (monitoring, lifecycle/engine_monitor.h).
  struct CaContact {
    int reached = 0;      // orders that got an answer (success or problem)
    int unreachable = 0;  // orders that could not reach it
    std::string last_error;
  };
  CaContact ContactOf(size_t ca) const;

  // The solver set, made on first use.
  Result<SolverSet*> Solvers();

  // Orders, validates and finalizes a new certificate for spec and records it
  // as a new version (state issued), steps in attempt_id. `live`: the live
  // version, or kNotFound when there is none; the caller MUST have failed on
  // any other read error (an unknown live version is not "none").
  //
  // With several CAs, each is tried in route order: a skip (held, gate, the
  // CA down in this run) or a failure that FallsBackToNextCa is recorded as a
  // "ca" step and the next CA is tried; the first version issued wins. An
  // account the CA no longer knows is registered again, once per CA. When no
  // CA issued, the error lists every CA's reason. With one CA, its error is
  // returned as it is.
  Result<store::Version> IssueVersion(const CertificateSpec& spec, int64_t attempt_id,
                                      const Result<store::Version>& live, const CaRoute& route);

  // Ends attempt_id as failed with `error` (when attempt_id > 0) and moves the
  // certificate's schedule on: backoff, and a CA's rate limit as its
  // ca_retry_after; a limit whose scope is the account (rate_limit_scope.h)
  // is also stored for every certificate of the account. When the schedule
  // cannot be read, it is left as stored rather than reset (a reset would
  // forget earlier failures and shorten the backoff toward the CA).
  void RecordFailure(const CertificateSpec& spec, int64_t attempt_id, const Status& error,
                     std::optional<TimePoint> not_after);
  // `error` itself, or, when it is a CA rate limit whose wait runs into the
  // live version's expiry (lifecycle/ca_wait.h), an error that says so.
  Status ExplainCaWait(Status error, const Result<store::Version>& live) const;

 private:
  struct CertificateKey {
    PrivateKey key;
    std::string path;              // where it is kept until the version is recorded
    std::string resume_order_url;  // the pending order it belongs to, if any
    // key's PKCS#8 PEM when this run encoded it (a new key); "": encode it when
    // needed (an encoding costs OpenSSL 3.0 an encoder lookup).
    std::string pem;
  };
  // The key of the pending order of a killed run (same key type), or a new
  // one written to the pending key path. A schedule that cannot be read fails.
  Result<CertificateKey> PendingOrNewKey(const CertificateSpec& spec);
  // One CA's try: order, validate, finalize, record. allowed_types: the
  // challenge types the CAA records let this CA use (empty: any).
  Result<store::Version> IssueWith(size_t ca, const CertificateSpec& spec, int64_t attempt_id,
                                   const Result<store::Version>& live, const CertificateKey& key,
                                   const std::vector<std::string>& allowed_types,
                                   const CaRoute& route);
  // In a fleet, the key of another host's pending order (shared sealed),
  // written 0600 to this host's pending key path; nullopt when none was
  // shared. A key that does not open (another fleet key) is the error.
  Result<std::optional<CertificateKey>> FetchPendingKey(const CertificateSpec& spec,
                                                        const store::PendingOrder& pending);
  // Why the names' CAA records forbid CA `ca` (caa_choice.h), or nullopt.
  std::optional<std::string> CaaForbidsCa(const CaaFacts& caa, size_t ca,
                                          std::vector<std::string>* allowed_types);
  // A skip or failure at CA `ca`, as a step of the attempt.
  void CaStep(int64_t attempt_id, size_t ca, store::StepResult result, const std::string& why);
  // A CA's rate limit that outlives the run, stored for that CA: of the
  // account (every certificate of it waits) or, with `certificate_scope`,
  // of this certificate.
  void RecordCaLimit(const CertificateSpec& spec, size_t ca, const Status& error,
                     bool certificate_scope);
  // RFC 9773 §5: the ARI id of the live version when the CA offers renewal
  // information; empty otherwise.
  std::string ReplacesId(acme::Client& client, const CertificateSpec& spec,
                         const Result<store::Version>& live);
  // The steps of one order, written to the attempt in batches (engine_issue.cc).
  class StepBatch;
  IssueHooks Hooks(size_t ca, const CertificateSpec& spec, const CertificateKey& key,
                   acme::Client& client, const CaRoute& route, StepBatch& steps);
  // Files, then the record: the commit point. In a fleet the files are
  // shared first, and the claim is checked before the record.
  Result<store::Version> RecordVersion(size_t ca, const CertificateSpec& spec,
                                       const CertificateKey& key, const IssueResult& issued,
                                       acme::Client& client, const CaRoute& route,
                                       StepBatch& steps);
  // The certificate counted per exact set of names and per registered domain.
  Status RecordIssuedRequests(const std::string& server, const CertificateSpec& spec,
                              const std::string& account_url);
  // A request record for the budgets. Best effort: the request was sent
  // whether or not it is counted, and the CA's own limit stays the bound; a
  // failure is logged.
  void RecordRequestBestEffort(const std::string& server, store::RequestKind kind,
                               const std::string& key, const std::string& account_url);
  // Ends the pending order of an issuance that failed. Best effort: a pending
  // order left behind is resumed by the next run only while the CA still
  // holds it valid; an order that ended is replaced by a new one.
  void ClearPendingOrderBestEffort(const std::string& name);
  // In a fleet, removes the shared key of the pending order once the order
  // ended. Best effort: a key left behind is sealed, and the next order of
  // the certificate replaces it.
  void ForgetPendingKeyBestEffort(const std::string& name);
  // Removes the pending key once the version holding it is recorded. Best
  // effort: the key is a 0600 copy of the recorded version's key, and the
  // next issuance of the certificate overwrites it.
  static void RemovePendingKeyBestEffort(const std::string& name, const std::string& path);
  // With spec.next_key, the staged next key when it is of spec.key_type
  // (lifecycle/next_key.h); otherwise a new key.
  Result<PrivateKey> StagedOrNewKey(const CertificateSpec& spec);
  // With spec.next_key, after the version holding `used` is recorded: stages
  // the key after it (RotateNextKey). Best effort: the issuance succeeded; a
  // failure is logged and `show` or the next issuance stages it.
  void StageNextKeyBestEffort(const CertificateSpec& spec, const PrivateKey& used);

  // Counts an order's answer (or its failure to reach the CA) for CA `ca`.
  void NoteContact(size_t ca, const Status& status);

  const EngineContext& ctx_;
  Accounts& accounts_;
  RenewalInfoTracker& ari_;
  SolverSetFactory make_solvers_;
  std::mutex solvers_mu_;
  std::unique_ptr<SolverSet> solvers_;  // guarded by solvers_mu_ until made
  std::unique_ptr<std::atomic<int>[]> unavailable_;  // per CA
  mutable std::mutex contact_mu_;
  std::map<size_t, CaContact> contacts_;  // guarded by contact_mu_
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_ISSUE_H_
