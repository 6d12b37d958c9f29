// SqlInventory: the Inventory over one SQL connection. Open() gives the
// embedded default, one SQLite file per state directory; OpenPostgres() a
// PostgreSQL database that the hosts of a fleet share. The SQL is the same
// for both (store/internal/sql.h); so is every test of the store suite.
//
// Thread-safety: one connection guarded by one recursive mutex. Every public
// method, and every Transaction(), holds the mutex for its whole duration, so
// calls from several threads are serialised; a thread inside Transaction() may
// call other methods (they join its transaction). Other processes reading the
// same file (e.g. `certkeeper list` beside a renewal run) are fine: the database
// runs in WAL mode and waits up to the busy timeout for a writer.
//
// Durability (docs/crash-leftovers.md, "What is synced, and when"): every
// method that returned OK survives a killed process. On SQLite, the methods
// whose record the crash recovery relies on or that record what the CA
// already did (AddVersion, SetVersionState, RevokeVersion, PutAccount) sync
// the write-ahead log when they commit, and with it every commit before them;
// the others (attempts, steps, events, schedules, budgets, pending orders,
// ...) are synced by the next such commit, a checkpoint, or at the latest
// when the inventory closes, so a power loss while a run is under way may
// undo the most recent of them, whole. A Transaction() is synced when any
// method called inside it is. PostgreSQL commits are durable as the server
// is configured.
//
// PostgreSQL: a lost connection (the server restarted) fails the call that
// found it with kUnavailable; the next call reconnects.
#ifndef CERTKEEPER_STORE_SQL_INVENTORY_H_
#define CERTKEEPER_STORE_SQL_INVENTORY_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "store/inventory.h"

namespace certkeeper::store {

namespace internal {
class Database;
enum class TxKind;
enum class Durability;
}  // namespace internal

struct SqliteOptions {
  // Stamps created_at / updated_at and the schema_migrations rows. Not owned;
  // must outlive the inventory.
  Clock* clock = RealClock();
  // How long to wait for another process that holds the database.
  int busy_timeout_ms = 5000;
};

// STATE/certkeeper.db
std::string InventoryPath(const std::string& state_dir);

struct PostgresOptions {
  // postgresql://[user@]host[:port]/dbname[?param=value...]; without a
  // password (libpq's own PGPASSFILE / ~/.pgpass still apply).
  std::string url;
  // The password, read by the caller from [store] password_file; empty: none.
  std::string password;
  Clock* clock = RealClock();
  // Seconds libpq waits for the server to accept a connection.
  int connect_timeout_s = 10;
  // Whether opening may upgrade an older schema. A shared database is
  // created on first use, but migrated only on request (`certkeeper store
  // migrate`), since the other hosts may still run the older certkeeper.
  bool migrate = false;
};

class SqlInventory final : public Inventory {
 public:
  // Opens the database at `path`, creating it (mode 0600) when missing, and
  // migrates its schema to LatestSchemaVersion(). The parent directory must
  // exist. Fails with kFailedPrecondition, changing nothing, when the file was
  // written by a newer certkeeper (a higher schema version) or is not a
  // certkeeper inventory.
  static Result<std::unique_ptr<SqlInventory>> Open(const std::string& path,
                                                    const SqliteOptions& options = {});
  // Connects to a PostgreSQL database. An empty database gets the whole
  // schema; an older one is migrated only with options.migrate, else
  // kFailedPrecondition with a hint to run `certkeeper store migrate`; a
  // newer one, or one holding other tables, is refused like for Open().
  static Result<std::unique_ptr<SqlInventory>> OpenPostgres(const PostgresOptions& options);
  // The engine behind this inventory, for messages: "SQLite" or "PostgreSQL".
  std::string_view EngineName() const;
  // Where it is: the file, or the URL (never with a password).
  const std::string& Location() const;
  // Statements sent to the database since it was opened (transaction control
  // included), for benchmarks and `--log-level debug`.
  int64_t StatementsRun() const;
  ~SqlInventory() override;

  // The schema version this code creates and understands.
  static int LatestSchemaVersion();
  // The version recorded in the open database.
  Result<int> SchemaVersion();

  // Transactional
  Status Transaction(const std::function<Status()>& fn) override;

  // AccountStore
  Status PutAccount(const Account& account) override;
  Result<Account> FindAccount(std::string_view server) override;
  Result<std::vector<Account>> ListAccounts() override;

  // CertificateStore
  Status PutCertificate(const CertificateSpec& spec) override;
  Result<Certificate> GetCertificate(std::string_view name) override;
  Result<std::vector<Certificate>> ListCertificates(bool include_removed) override;
  Status MarkRemoved(std::string_view name) override;
  Status SetSchedule(std::string_view name, const Schedule& schedule) override;
  Status SetPendingOrder(std::string_view name, const PendingOrder& order) override;
  Status ClearPendingOrder(std::string_view name) override;

  // VersionStore
  Result<int> NextVersionNumber(std::string_view certificate) override;
  Status AddVersion(const Version& version) override;
  Status SetVersionState(std::string_view certificate, int n,
                         VersionState state) override;
  Status RevokeVersion(std::string_view certificate, int n, TimePoint at,
                       std::string_view reason) override;
  Result<Version> GetVersion(std::string_view certificate, int n) override;
  Result<std::vector<Version>> ListVersions(std::string_view certificate) override;
  Result<Version> LiveVersion(std::string_view certificate) override;
  Result<Version> LatestVersion(std::string_view certificate) override;
  Result<std::map<std::string, CurrentVersions>> AllCurrentVersions() override;

  // AttemptLog
  Result<int64_t> StartAttempt(const Attempt& attempt) override;
  Result<int> AddAttemptStep(int64_t attempt_id, const AttemptStep& step) override;
  Status FinishAttempt(int64_t attempt_id, const AttemptEnd& end) override;
  Result<Attempt> GetAttempt(int64_t attempt_id) override;
  Result<std::vector<Attempt>> ListAttempts(std::string_view certificate,
                                            int limit) override;
  Result<std::map<std::string, Attempt>> LatestAttempts() override;
  Result<int> CloseInterruptedAttempts(TimePoint now,
                                       std::optional<std::string_view> host) override;

  Result<int64_t> AddEvent(const Event& event) override;
  Result<std::vector<Event>> ListEvents(std::optional<std::string> certificate,
                                        int limit) override;

  // RequestLog
  Status RecordRequest(const RequestRecord& request) override;
  Result<int64_t> CountSince(std::string_view server, std::string_view account_url,
                             RequestKind kind, std::string_view key,
                             TimePoint since) override;
  Result<RequestWindow> WindowSince(std::string_view server, std::string_view account_url,
                                    RequestKind kind, std::string_view key,
                                    TimePoint since) override;
  Result<std::vector<RequestRecord>> ListRequestsSince(std::string_view server,
                                                       TimePoint since) override;
  Result<int64_t> PruneRequests(TimePoint before) override;

  // LimitStore
  Status SetCaLimit(const CaLimit& limit) override;
  Result<std::optional<CaLimit>> ActiveCaLimit(std::string_view server,
                                               std::string_view scope,
                                               TimePoint now) override;
  Result<std::vector<CaLimit>> ListCaLimits(TimePoint now) override;
  Status ClearCaLimit(std::string_view server, std::string_view scope) override;
  Result<int64_t> PruneCaLimits(TimePoint now) override;

  // RenewalInfoStore
  Status SetRenewalInfo(std::string_view name,
                        const std::optional<RenewalInfoRecord>& info) override;
  Status PutCaDirectory(const CaDirectory& directory) override;
  Result<std::optional<CaDirectory>> FindCaDirectory(std::string_view server) override;

  // MonitorStore (sql_monitor.cc)
  Result<int64_t> AddProbe(const ProbeRecord& probe) override;
  Result<std::vector<ProbeRecord>> LatestProbes() override;
  Result<std::vector<ProbeRecord>> ListProbes(std::string_view endpoint, int limit) override;
  Result<int64_t> PruneProbes(TimePoint before) override;
  Status PutRevocation(const RevocationRecord& record) override;
  Result<std::vector<RevocationRecord>> ListRevocations() override;
  Result<std::vector<RevocationState>> ListRevocationStates() override;
  Status PutAlertState(const AlertState& state) override;
  Status DeleteAlertState(std::string_view alert, std::string_view event,
                          std::string_view subject) override;
  Result<std::vector<AlertState>> ListAlertStates() override;
  Result<int64_t> AddRun(const RunRecord& run) override;
  Result<std::optional<RunRecord>> LatestRun(std::string_view kind) override;
  Status PutCaStatus(const CaStatusRecord& status) override;
  Result<std::vector<CaStatusRecord>> ListCaStatus() override;
  Status AddCaRequests(std::string_view server,
                       const std::map<std::string, int64_t>& counts) override;
  Result<std::map<std::string, std::map<std::string, int64_t>>> CaRequestTotals() override;

  // MaterialStore and FleetStore (sql_fleet.cc)
  Status PutMaterial(std::string_view owner, const std::vector<MaterialFile>& files) override;
  Result<std::vector<MaterialFile>> GetMaterial(std::string_view owner) override;
  Status DeleteMaterial(std::string_view owner) override;
  Result<LeaseRecord> TryLease(std::string_view certificate, std::string_view holder,
                               std::string_view token, TimePoint now,
                               TimePoint until) override;
  Result<bool> RenewLease(std::string_view certificate, std::string_view token,
                          TimePoint now, TimePoint until) override;
  Status ReleaseLease(std::string_view certificate, std::string_view token) override;
  Result<std::vector<LeaseRecord>> ListLeases() override;
  Status PutHostDeployment(const HostDeployment& deployment) override;
  Result<std::vector<HostDeployment>> ListHostDeployments(
      std::optional<std::string_view> certificate) override;

  // Every row of every inventory table, for `certkeeper store copy`
  // (store/copy.h): the table names in dependency order.
  internal::Database& database() { return *db_; }

 private:
  using TxKind = internal::TxKind;
  using Durability = internal::Durability;

  SqlInventory(std::unique_ptr<internal::Database> db, Clock* clock);

  // Runs fn under the mutex inside a transaction (or a savepoint when nested).
  // A read transaction sees one consistent snapshot; a write transaction takes
  // the database's write lock up front so it never fails half-way on a lock.
  // Results leave fn through captured variables. A kSynced call makes the
  // outermost transaction's commit a synced one (internal::Durability).
  Status RunTx(TxKind kind, const std::function<Status()>& fn);
  Status RunTx(TxKind kind, Durability durability, const std::function<Status()>& fn);

  // kNotFound unless the certificate exists; expects a transaction open.
  Status RequireCertificate(std::string_view name);

  std::recursive_mutex mu_;
  int depth_ = 0;  // open transaction levels; guarded by mu_
  // Whether the open outermost transaction commits synced; guarded by mu_.
  bool synced_commit_ = false;
  std::unique_ptr<internal::Database> db_;
  Clock* clock_;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_SQL_INVENTORY_H_
