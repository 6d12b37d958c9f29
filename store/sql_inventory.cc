// SqlInventory: opening, transactions, accounts and certificates. Versions,
// attempts and rate limits are in sql_versions.cc, sql_attempts.cc and
// sql_limits.cc.
#include "store/sql_inventory.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "base/fs.h"
#include "base/log.h"
#include "base/names.h"
#include "base/text.h"
#include "store/internal/migrations.h"
#include "store/internal/rows.h"
#include "store/internal/postgres.h"
#include "store/internal/sqlite.h"

namespace certkeeper::store {

using internal::Statement;

namespace {

constexpr std::string_view kCertificateColumns =
    "name, domains, key_type, challenges, deploy_targets, server, removed, "
    "created_at, updated_at, next_attempt_at, consecutive_failures, "
    "deferred_reason, ca_retry_after, pending_order_url, pending_order_key_path, "
    "pending_order_created_at, ari_version, ari_window_start, ari_window_end, "
    "ari_chosen_at, ari_next_fetch_at, ari_explanation_url";

Result<Certificate> ReadCertificate(const Statement& row) {
  Certificate cert;
  cert.spec.name = row.Text(0);
  CK_ASSIGN_OR_RETURN(cert.spec.domains, internal::DecodeList(row.TextView(1), "domains"));
  cert.spec.key_type = row.Text(2);
  CK_ASSIGN_OR_RETURN(cert.spec.challenges,
                      internal::DecodeList(row.TextView(3), "challenges"));
  CK_ASSIGN_OR_RETURN(cert.spec.deploy_targets,
                      internal::DecodeList(row.TextView(4), "deploy_targets"));
  cert.spec.server = row.Text(5);
  cert.removed = row.Int(6) != 0;
  cert.created_at = row.Time(7);
  cert.updated_at = row.Time(8);
  cert.schedule.next_attempt_at = row.OptionalTime(9);
  cert.schedule.consecutive_failures = static_cast<int>(row.Int(10));
  cert.schedule.deferred_reason = row.Text(11);
  cert.schedule.ca_retry_after = row.OptionalTime(12);
  if (!row.IsNull(13)) {
    cert.pending_order =
        PendingOrder{row.Text(13), row.Text(14), row.OptionalTime(15).value_or(TimePoint())};
  }
  if (!row.IsNull(16)) {
    RenewalInfoRecord info;
    info.version = static_cast<int>(row.Int(16));
    info.window_start = row.OptionalTime(17);
    info.window_end = row.OptionalTime(18);
    info.chosen_at = row.OptionalTime(19);
    info.next_fetch_at = row.OptionalTime(20).value_or(TimePoint());
    info.explanation_url = row.Text(21);
    cert.renewal_info = std::move(info);
  }
  return cert;
}

Status ValidateList(const std::vector<std::string>& items, std::string_view field,
                    bool allow_empty_list, std::string_view operation) {
  if (items.empty() && !allow_empty_list) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(operation) + ": " + std::string(field) + " must not be empty");
  }
  for (const std::string& item : items) {
    CK_RETURN_IF_ERROR(internal::RequireNonEmpty(item, std::string(field) + " entry",
                                                 operation));
  }
  return Status::Ok();
}

Account ReadAccount(const Statement& row) {
  return Account{row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4),
                 row.Time(5)};
}

constexpr std::string_view kAccountColumns =
    "server, account_url, key_path, email, status, created_at";

}  // namespace

std::string InventoryPath(const std::string& state_dir) {
  return fs::JoinPath(state_dir, "certkeeper.db");
}

Result<std::unique_ptr<SqlInventory>> SqlInventory::Open(
    const std::string& path, const SqliteOptions& options) {
  if (options.clock == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "open the inventory: no clock given")
        .Where(path);
  }
  // Created here rather than by SQLite so that it is 0600 from the first byte;
  // SQLite gives its -wal and -shm files the database file's mode.
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int err = errno;
    Status status(err == ENOENT ? ErrorCode::kNotFound
                  : (err == EACCES || err == EPERM) ? ErrorCode::kPermissionDenied
                                                    : ErrorCode::kIo,
                  std::string("cannot open the inventory: ") + strerror(err));
    status.Where(path);
    if (err == ENOENT) status.Hint("create the state directory first");
    if (err == ELOOP) status.Hint("the inventory must be a regular file, not a symlink");
    return status;
  }
  close(fd);
  CK_ASSIGN_OR_RETURN(std::unique_ptr<internal::Database> db,
                      internal::OpenSqliteDatabase(path, options.busy_timeout_ms));
  CK_RETURN_IF_ERROR(internal::Migrate(*db, options.clock->Now()));
  return std::unique_ptr<SqlInventory>(new SqlInventory(std::move(db), options.clock));
}

SqlInventory::SqlInventory(std::unique_ptr<internal::Database> db, Clock* clock)
    : db_(std::move(db)), clock_(clock) {}

// What a run cost the database, for the fleet benchmarks (`--json -v`).
SqlInventory::~SqlInventory() {
  if (db_ != nullptr && log::Enabled(log::Level::kDebug)) {
    log::Debug("inventory closed", {{"engine", std::string(EngineName())},
                                    {"statements", std::to_string(db_->statements())}});
  }
}

namespace {
Status CheckAndMigratePostgres(internal::Database& db, const PostgresOptions& options);
}  // namespace

Result<std::unique_ptr<SqlInventory>> SqlInventory::OpenPostgres(
    const PostgresOptions& options) {
  if (options.clock == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "open the inventory: no clock given");
  }
  CK_ASSIGN_OR_RETURN(std::unique_ptr<internal::Database> db,
                      internal::OpenPostgresDatabase(options.url, options.password,
                                                     options.connect_timeout_s));
  // Held for the whole check-and-migrate: a host that creates the schema
  // applies its migrations one transaction each, and another host starting
  // at the same moment must see the database before or after all of them,
  // never half-way (the lock of Database::LockSchema, taken for the session;
  // advisory locks nest within one session).
  CK_RETURN_IF_ERROR(db->Exec("SELECT pg_advisory_lock(7311470386925843)",
                              "wait for another host creating the schema"));
  Status checked = CheckAndMigratePostgres(*db, options);
  Status unlocked = db->Exec("SELECT pg_advisory_unlock(7311470386925843)",
                             "release the schema lock");
  CK_RETURN_IF_ERROR(checked);
  CK_RETURN_IF_ERROR(unlocked);
  return std::unique_ptr<SqlInventory>(new SqlInventory(std::move(db), options.clock));
}

namespace {

Status CheckAndMigratePostgres(internal::Database& db, const PostgresOptions& options) {
  CK_ASSIGN_OR_RETURN(int current, internal::ReadSchemaVersion(db));
  if (current != 0 && current < internal::LatestSchemaVersion() && !options.migrate) {
    return Status(ErrorCode::kFailedPrecondition,
                  "the shared inventory has schema version " + std::to_string(current) +
                      "; this certkeeper uses version " +
                      std::to_string(internal::LatestSchemaVersion()))
        .Where(db.path())
        .Hint("upgrade it once with `certkeeper store migrate` after upgrading "
              "certkeeper on every host");
  }
  return internal::Migrate(db, options.clock->Now());
}

}  // namespace

std::string_view SqlInventory::EngineName() const {
  return db_->dialect() == internal::Dialect::kSqlite ? "SQLite" : "PostgreSQL";
}

const std::string& SqlInventory::Location() const { return db_->path(); }

int64_t SqlInventory::StatementsRun() const { return db_->statements(); }

int SqlInventory::LatestSchemaVersion() { return internal::LatestSchemaVersion(); }

Result<int> SqlInventory::SchemaVersion() {
  int version = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(version, internal::ReadSchemaVersion(*db_));
    return Status::Ok();
  }));
  return version;
}

Status SqlInventory::RunTx(TxKind kind, const std::function<Status()>& fn) {
  return RunTx(kind, Durability::kLazy, fn);
}

Status SqlInventory::RunTx(TxKind kind, Durability durability,
                           const std::function<Status()>& fn) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const bool outer = depth_ == 0;
  if (outer) synced_commit_ = false;
  // A nested call joins the outermost commit; a savepoint of it that is rolled
  // back leaves the commit synced, which costs one sync and loses nothing.
  if (durability == Durability::kSynced) synced_commit_ = true;
  const std::string savepoint = "ck_savepoint_" + std::to_string(depth_);
  // SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT are standard SQL;
  // how the outermost transaction begins is the driver's (docs/store.md).
  if (outer) {
    CK_RETURN_IF_ERROR(db_->Begin(kind));
  } else {
    CK_RETURN_IF_ERROR(db_->Exec("SAVEPOINT " + savepoint, "begin a transaction"));
  }
  ++depth_;
  Status status;
  try {
    status = fn();
  } catch (const std::exception& e) {
    status = Status(ErrorCode::kInternal,
                    std::string("inventory transaction threw: ") + e.what());
  } catch (...) {
    status = Status(ErrorCode::kInternal, "inventory transaction threw");
  }
  --depth_;
  if (status.ok()) {
    if (outer) {
      status = db_->Commit(synced_commit_ ? Durability::kSynced : Durability::kLazy,
                           "commit a transaction");
    } else {
      status = db_->Exec("RELEASE SAVEPOINT " + savepoint, "commit a transaction");
    }
    if (status.ok()) return status;
  }
  if (outer) {
    db_->RollBackBestEffort("ROLLBACK");
  } else {
    db_->RollBackBestEffort("ROLLBACK TO SAVEPOINT " + savepoint);
    db_->RollBackBestEffort("RELEASE SAVEPOINT " + savepoint);
  }
  return status;
}

Status SqlInventory::Transaction(const std::function<Status()>& fn) {
  return RunTx(TxKind::kExclusive, fn);
}

Status SqlInventory::RequireCertificate(std::string_view name) {
  CK_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT 1 FROM certificates WHERE name = ?",
                                                   "look up a certificate"));
  stmt.Bind(1, name);
  CK_ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return internal::UnknownCertificate(name, "look up a certificate");
  return Status::Ok();
}

// ---- Accounts ----

Status SqlInventory::PutAccount(const Account& account) {
  constexpr std::string_view kOp = "store the account";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(account.server, "server", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(account.account_url, "account URL", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(account.key_path, "key path", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(account.status, "status", kOp));
  // Synced: the CA holds the account already; its URL is what the next run
  // signs with.
  return RunTx(TxKind::kWrite, Durability::kSynced, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO accounts (server, account_url, key_path, email, status, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (server, account_url) DO UPDATE SET "
                     "key_path = excluded.key_path, email = excluded.email, "
                     "status = excluded.status",
                     kOp));
    stmt.BindAll(account.server, account.account_url, account.key_path, account.email,
                 account.status, clock_->Now());
    return stmt.Run();
  });
}

Result<Account> SqlInventory::FindAccount(std::string_view server) {
  Account account;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT " + std::string(kAccountColumns) +
                         " FROM accounts WHERE server = ? AND status = 'valid' "
                         "ORDER BY created_at DESC, account_url DESC LIMIT 1",
                     "find the account"));
    stmt.Bind(1, server);
    CK_ASSIGN_OR_RETURN(bool found, stmt.Step());
    if (!found) {
      return Status(ErrorCode::kNotFound,
                    "no valid account for the ACME server in the inventory")
          .Where(std::string(server))
          .Hint("run `certkeeper account register`");
    }
    account = ReadAccount(stmt);
    return Status::Ok();
  }));
  return account;
}

Result<std::vector<Account>> SqlInventory::ListAccounts() {
  std::vector<Account> accounts;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT " + std::string(kAccountColumns) +
                                         " FROM accounts ORDER BY server, created_at",
                                     "list accounts"));
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      accounts.push_back(ReadAccount(stmt));
    }
  }));
  return accounts;
}

// ---- Certificates ----

Status SqlInventory::PutCertificate(const CertificateSpec& spec) {
  constexpr std::string_view kOp = "store the certificate";
  Status name_ok = ValidateCertificateName(spec.name);
  if (!name_ok.ok()) return std::move(name_ok).Annotate(kOp);
  CK_RETURN_IF_ERROR(ValidateList(spec.domains, "domains", false, kOp));
  CK_RETURN_IF_ERROR(ValidateList(spec.challenges, "challenges", false, kOp));
  CK_RETURN_IF_ERROR(ValidateList(spec.deploy_targets, "deploy targets", true, kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(spec.key_type, "key type", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(spec.server, "server", kOp));
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO certificates (name, domains, key_type, challenges, "
                     "deploy_targets, server, removed, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?) "
                     "ON CONFLICT (name) DO UPDATE SET domains = excluded.domains, "
                     "key_type = excluded.key_type, challenges = excluded.challenges, "
                     "deploy_targets = excluded.deploy_targets, server = excluded.server, "
                     "removed = 0, updated_at = excluded.updated_at",
                     kOp));
    TimePoint now = clock_->Now();
    stmt.BindAll(spec.name, internal::EncodeList(spec.domains), spec.key_type,
                 internal::EncodeList(spec.challenges),
                 internal::EncodeList(spec.deploy_targets), spec.server, now, now);
    return stmt.Run();
  });
}

Result<Certificate> SqlInventory::GetCertificate(std::string_view name) {
  Certificate cert;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT " + std::string(kCertificateColumns) +
                                         " FROM certificates WHERE name = ?",
                                     "read the certificate"));
    stmt.Bind(1, name);
    CK_ASSIGN_OR_RETURN(bool found, stmt.Step());
    if (!found) return internal::UnknownCertificate(name, "read the certificate");
    CK_ASSIGN_OR_RETURN(cert, ReadCertificate(stmt));
    return Status::Ok();
  }));
  return cert;
}

Result<std::vector<Certificate>> SqlInventory::ListCertificates(bool include_removed) {
  std::vector<Certificate> certs;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    // Counted first (in the same transaction), so that the rows are read
    // into one buffer of their size: growing it by doubling would touch
    // about three times the memory of 10,000 rows.
    CK_ASSIGN_OR_RETURN(Statement count,
                        db_->Prepare("SELECT COUNT(*) FROM certificates", "count certificates"));
    CK_ASSIGN_OR_RETURN(bool counted, count.Step());
    if (counted) certs.reserve(static_cast<size_t>(std::max<int64_t>(count.Int(0), 0)));
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT " + std::string(kCertificateColumns) +
                         " FROM certificates WHERE removed = 0 OR ? = 1 ORDER BY name",
                     "list certificates"));
    stmt.Bind(1, include_removed ? 1 : 0);
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      CK_ASSIGN_OR_RETURN(Certificate cert, ReadCertificate(stmt));
      certs.push_back(std::move(cert));
    }
  }));
  return certs;
}

namespace {

// Runs an UPDATE on one certificate row; kNotFound when no row matched.
template <typename... Args>
Status UpdateCertificate(internal::Database& db, std::string_view set_clause,
                         std::string_view name, std::string_view operation,
                         const Args&... args) {
  CK_ASSIGN_OR_RETURN(Statement stmt,
                      db.Prepare("UPDATE certificates SET " + std::string(set_clause) +
                                     " WHERE name = ?",
                                 operation));
  stmt.BindAll(args..., name);
  CK_RETURN_IF_ERROR(stmt.Run());
  if (db.Changes() == 0) return internal::UnknownCertificate(name, operation);
  return Status::Ok();
}

}  // namespace

Status SqlInventory::MarkRemoved(std::string_view name) {
  return RunTx(TxKind::kWrite, [&]() -> Status {
    return UpdateCertificate(*db_, "removed = 1, updated_at = ?", name,
                             "remove the certificate", clock_->Now());
  });
}

Status SqlInventory::SetSchedule(std::string_view name, const Schedule& schedule) {
  if (schedule.consecutive_failures < 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "set the schedule: consecutive failures must not be negative")
        .Where(std::string(name));
  }
  return RunTx(TxKind::kWrite, [&]() -> Status {
    return UpdateCertificate(
        *db_,
        "next_attempt_at = ?, consecutive_failures = ?, deferred_reason = ?, "
        "ca_retry_after = ?, updated_at = ?",
        name, "set the schedule", schedule.next_attempt_at,
        schedule.consecutive_failures,
        internal::StoredText(schedule.deferred_reason, kMaxStoredTextBytes),
        schedule.ca_retry_after, clock_->Now());
  });
}

Status SqlInventory::SetRenewalInfo(std::string_view name,
                                      const std::optional<RenewalInfoRecord>& info) {
  constexpr std::string_view kOp = "record the renewal information";
  if (info && info->version <= 0) {
    return Status(ErrorCode::kInvalidArgument, std::string(kOp) + ": no version given")
        .Where(std::string(name));
  }
  if (info && info->window_start.has_value() != info->window_end.has_value()) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(kOp) + ": a window needs both its start and its end")
        .Where(std::string(name));
  }
  return RunTx(TxKind::kWrite, [&]() -> Status {
    std::optional<int> version;
    std::optional<TimePoint> start, end, chosen, next_fetch;
    std::string explanation;
    if (info) {
      version = info->version;
      start = info->window_start;
      end = info->window_end;
      chosen = info->chosen_at;
      next_fetch = info->next_fetch_at;
      // A cut URL would point elsewhere: one too long is not kept.
      explanation = SanitizeUtf8(info->explanation_url);
      if (explanation.size() > kMaxStoredUrlBytes) explanation.clear();
    }
    return UpdateCertificate(*db_,
                             "ari_version = ?, ari_window_start = ?, ari_window_end = ?, "
                             "ari_chosen_at = ?, ari_next_fetch_at = ?, "
                             "ari_explanation_url = ?, updated_at = ?",
                             name, kOp, version, start, end, chosen, next_fetch, explanation,
                             clock_->Now());
  });
}

Status SqlInventory::SetPendingOrder(std::string_view name, const PendingOrder& order) {
  constexpr std::string_view kOp = "record the pending order";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(order.order_url, "order URL", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(order.key_path, "key path", kOp));
  return RunTx(TxKind::kWrite, [&]() -> Status {
    return UpdateCertificate(*db_,
                             "pending_order_url = ?, pending_order_key_path = ?, "
                             "pending_order_created_at = ?, updated_at = ?",
                             name, kOp, order.order_url, order.key_path,
                             order.created_at, clock_->Now());
  });
}

Status SqlInventory::ClearPendingOrder(std::string_view name) {
  return RunTx(TxKind::kWrite, [&]() -> Status {
    return UpdateCertificate(*db_,
                             "pending_order_url = NULL, pending_order_key_path = NULL, "
                             "pending_order_created_at = NULL, updated_at = ?",
                             name, "clear the pending order", clock_->Now());
  });
}

}  // namespace certkeeper::store
