// Inventory: everything certkeeper remembers between runs, behind one interface.
//
// The engine and the CLI see only this interface. SqliteInventory
// (store/sqlite_inventory.h) is the embedded default; a PostgreSQL backend for
// fleets sharing one inventory implements the same contract.
//
// Contract for every implementation:
//  - Every method is atomic on its own: it either fully happens or not at all.
//    Transaction() groups several calls into one atomic unit.
//  - Every method is safe to call from several threads at once (the engine runs
//    certificates concurrently with --jobs N).
//  - Reads of a single named thing (GetCertificate, GetVersion, ...) fail with
//    kNotFound when it does not exist; List* methods return an empty vector.
//  - Malformed input (empty names, unknown certificate) fails with
//    kInvalidArgument or kNotFound and changes nothing.
//  - Times are stored in whole seconds (see store/records.h).
//  - Storage failures are kIo (or kLocked when another process holds the
//    database beyond the busy timeout) and say which database and operation.
#ifndef CERTKEEPER_STORE_INVENTORY_H_
#define CERTKEEPER_STORE_INVENTORY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/records.h"

namespace certkeeper::store {

// One certificate's latest and live versions, as Inventory::LatestVersion and
// Inventory::LiveVersion return them.
struct CurrentVersions {
  std::optional<Version> latest;
  std::optional<Version> live;
};

// Requests inside a window, as Inventory::WindowSince counts them.
struct RequestWindow {
  int64_t count = 0;
  std::optional<TimePoint> oldest;
};

class Inventory {
 public:
  virtual ~Inventory() = default;

  // Runs fn as one transaction: when fn returns OK every change it made through
  // this inventory is committed durably; when it returns an error nothing it
  // did is kept and that error is returned. Calls may nest (an inner call joins
  // the outer transaction; its failure undoes only its own changes). While fn
  // runs, other threads' calls on this inventory wait; fn must not wait for
  // another thread that uses this inventory.
  virtual Status Transaction(const std::function<Status()>& fn) = 0;

  // ---- Accounts (RFC 8555 §7.3) ----

  // Inserts the account or, when (server, account_url) exists, updates its
  // key_path, email and status (key rollover, deactivation). created_at is kept.
  virtual Status PutAccount(const Account& account) = 0;
  // The newest account with status "valid" for the server.
  virtual Result<Account> FindAccount(std::string_view server) = 0;
  virtual Result<std::vector<Account>> ListAccounts() = 0;

  // ---- Certificates ----

  // Inserts the certificate or updates its spec; clears the removed flag. The
  // schedule, pending order and versions of an existing certificate are kept.
  virtual Status PutCertificate(const CertificateSpec& spec) = 0;
  // Also returns removed certificates (check Certificate::removed).
  virtual Result<Certificate> GetCertificate(std::string_view name) = 0;
  // Ordered by name.
  virtual Result<std::vector<Certificate>> ListCertificates(bool include_removed) = 0;
  // Stops managing the certificate; its versions and history stay.
  virtual Status MarkRemoved(std::string_view name) = 0;
  virtual Status SetSchedule(std::string_view name, const Schedule& schedule) = 0;
  // At most one pending order per certificate; setting replaces it.
  // Replaces the certificate's renewal information; nullopt forgets it.
  virtual Status SetRenewalInfo(std::string_view name,
                                const std::optional<RenewalInfoRecord>& info) = 0;
  virtual Status SetPendingOrder(std::string_view name, const PendingOrder& order) = 0;
  virtual Status ClearPendingOrder(std::string_view name) = 0;

  // ---- Versions ----
  //
  // Commit point: the engine writes and fsyncs every file of a version into its
  // directory first and then calls AddVersion. A version the inventory knows
  // therefore always has complete files; a crash before AddVersion leaves an
  // unrecorded directory that the next run overwrites.

  // The n the next AddVersion for this certificate must use (1 for the first).
  virtual Result<int> NextVersionNumber(std::string_view certificate) = 0;
  // Records a version. version.n must equal NextVersionNumber (kAlreadyExists
  // when taken, kFailedPrecondition when it would leave a gap); state must be
  // kIssued or kDeployed.
  virtual Status AddVersion(const Version& version) = 0;
  // Allowed moves: kIssued -> kDeployed | kDeployFailed, kDeployFailed ->
  // kDeployed (deployed again), kDeployed -> kDeployFailed (a later redeploy
  // failed). Anything else, and any move out of kRevoked, is kFailedPrecondition.
  virtual Status SetVersionState(std::string_view certificate, int n,
                                 VersionState state) = 0;
  virtual Status RevokeVersion(std::string_view certificate, int n, TimePoint at,
                               std::string_view reason) = 0;
  virtual Result<Version> GetVersion(std::string_view certificate, int n) = 0;
  // Newest first.
  virtual Result<std::vector<Version>> ListVersions(std::string_view certificate) = 0;
  // The live version: the newest one in state kDeployed. Versions that are only
  // issued (not yet installed), failed to deploy or were revoked are never
  // live, so the previous certificate stays live until its successor is
  // installed and verified. Expiry is not considered: check not_after.
  virtual Result<Version> LiveVersion(std::string_view certificate) = 0;
  // The newest version in any state (what `deploy NAME` retries).
  virtual Result<Version> LatestVersion(std::string_view certificate) = 0;
  // LatestVersion and LiveVersion of every certificate that has a version, by
  // certificate name, in one read: a renewal run over thousands of
  // certificates must not cost two queries per certificate.
  virtual Result<std::map<std::string, CurrentVersions>> AllCurrentVersions() = 0;

  // ---- Attempts ----

  // Records a new running attempt (outcome, finished_at and steps are ignored)
  // and returns its id.
  virtual Result<int64_t> StartAttempt(const Attempt& attempt) = 0;
  // Appends a step and returns its seq. Output longer than kMaxStepOutputBytes
  // is cut and marked as cut; every free-text field is stored as valid UTF-8
  // within the bounds of records.h (kMaxStoredTextBytes, ...).
  virtual Result<int> AddAttemptStep(int64_t attempt_id, const AttemptStep& step) = 0;
  // Closes a running attempt (kFailedPrecondition if it is not running).
  // end.outcome must not be kRunning.
  virtual Status FinishAttempt(int64_t attempt_id, const AttemptEnd& end) = 0;
  virtual Result<Attempt> GetAttempt(int64_t attempt_id) = 0;
  // Newest first, with steps; limit <= 0 means all.
  virtual Result<std::vector<Attempt>> ListAttempts(std::string_view certificate,
                                                    int limit) = 0;
  // The newest attempt (as ListAttempts(name, 1) returns it) of every
  // certificate that has one, by certificate name.
  virtual Result<std::map<std::string, Attempt>> LatestAttempts() = 0;
  // Closes every attempt still `running` as failed with error type
  // "interrupted": they were left by a process that died. Call only while
  // holding the run lock, else a concurrent run's attempts would be closed.
  // Returns how many were closed.
  virtual Result<int> CloseInterruptedAttempts(TimePoint now) = 0;

  // ---- Audit trail ----

  // Returns the event's id.
  virtual Result<int64_t> AddEvent(const Event& event) = 0;
  // Newest first; certificate unset means all events; limit <= 0 means all.
  virtual Result<std::vector<Event>> ListEvents(std::optional<std::string> certificate,
                                                int limit) = 0;

  // ---- Rate-limit budgets ----

  virtual Status RecordRequest(const RequestRecord& request) = 0;
  // Requests of `kind` to `server` at or after `since`. An empty account_url or
  // key matches every value (e.g. certificates per registered domain across
  // all accounts).
  virtual Result<int64_t> CountSince(std::string_view server,
                                     std::string_view account_url, RequestKind kind,
                                     std::string_view key, TimePoint since) = 0;
  // CountSince with the same arguments, plus the oldest matching request (unset
  // when none): its leaving a window is when a budget slot frees up.
  virtual Result<RequestWindow> WindowSince(std::string_view server,
                                            std::string_view account_url, RequestKind kind,
                                            std::string_view key, TimePoint since) = 0;
  // Every request to `server` at or after `since`, oldest first: one read
  // from which a caller counts every budget window in memory (a renewal run
  // over many certificates must not cost a query per certificate and limit).
  virtual Result<std::vector<RequestRecord>> ListRequestsSince(std::string_view server,
                                                               TimePoint since) = 0;
  // Forgets requests older than `before`; returns how many.
  virtual Result<int64_t> PruneRequests(TimePoint before) = 0;

  // ---- CA-imposed limits (Retry-After, RFC 8555 §6.6) ----

  // Sets or replaces the limit for (server, scope).
  virtual Status SetCaLimit(const CaLimit& limit) = 0;
  // The limit for (server, scope) if it is still in force at `now`.
  virtual Result<std::optional<CaLimit>> ActiveCaLimit(std::string_view server,
                                                       std::string_view scope,
                                                       TimePoint now) = 0;
  // Every limit in force at `now`, ordered by server and scope.
  virtual Result<std::vector<CaLimit>> ListCaLimits(TimePoint now) = 0;
  virtual Status ClearCaLimit(std::string_view server, std::string_view scope) = 0;
  // Deletes limits that ended before `now`; returns how many.
  virtual Result<int64_t> PruneCaLimits(TimePoint now) = 0;

  // ---- CA directories ----
  // Inserts or replaces the row of directory.server.
  virtual Status PutCaDirectory(const CaDirectory& directory) = 0;
  // nullopt when nothing is recorded for that server.
  virtual Result<std::optional<CaDirectory>> FindCaDirectory(std::string_view server) = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_INVENTORY_H_
