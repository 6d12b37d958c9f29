#include "store/internal/sqlite.h"

#include <sqlite3.h>

#include <errno.h>
#include <string.h>

#include <string>
#include <unordered_map>
#include <utility>

#include "base/log.h"
#include "store/internal/fault_vfs.h"

namespace certkeeper::store::internal {

namespace {

// SQLite's own words ("database or disk is full", "disk I/O error") do not say
// which: the cause comes from the errno of the failed system call
// (sqlite3_system_errno), or, for SQLITE_FULL without one, a full disk.
// SQLITE_FULL is never anything but a full disk (or quota) to the user.
std::string Cause(int rc, int system_errno) {
  if ((rc & 0xff) == SQLITE_FULL) return strerror(system_errno == EDQUOT ? EDQUOT : ENOSPC);
  return strerror(system_errno != 0 ? system_errno : EIO);
}

Status MakeError(int rc, std::string_view message, std::string_view operation,
                 const std::string& path, int system_errno = 0) {
  ErrorCode code = ErrorCode::kIo;
  std::string hint;
  std::string detail(message);
  if ((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR) {
    detail += " (" + Cause(rc, system_errno) + ")";
    if (system_errno == ENOSPC || system_errno == EDQUOT || (rc & 0xff) == SQLITE_FULL) {
      hint = "the file system is full: free space and run again";
    }
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = ErrorCode::kLocked;
      hint = "another process kept the inventory busy; run again when it is done";
      break;
    case SQLITE_CONSTRAINT:
      code = (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
                 ? ErrorCode::kAlreadyExists
                 : ErrorCode::kInvalidArgument;
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
    case SQLITE_AUTH:
      code = ErrorCode::kPermissionDenied;
      hint = "check that the state directory and certkeeper.db are writable by this user";
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      hint = "the inventory is damaged or not a certkeeper database: restore it from a backup";
      break;
    default:
      break;
  }
  Status status(code, std::string(operation) + ": " + detail);
  status.Where(path);
  if (!hint.empty()) status.Hint(std::move(hint));
  return status;
}

class SqliteDatabase;

class SqliteStatement final : public StatementImpl {
 public:
  SqliteStatement(SqliteDatabase* db, sqlite3_stmt* stmt, std::string operation)
      : db_(db), stmt_(stmt), operation_(std::move(operation)) {}
  ~SqliteStatement() override;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void Bind(int index, int64_t value) override {
    NoteBind(sqlite3_bind_int64(stmt_, index, value));
  }
  void Bind(int index, std::string_view value) override {
    NoteBind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                                 SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void BindNull(int index) override { NoteBind(sqlite3_bind_null(stmt_, index)); }
  Result<bool> Step() override;
  bool IsNull(int column) const override {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }
  int64_t Int(int column) const override { return sqlite3_column_int64(stmt_, column); }
  std::string_view TextView(int column) const override {
    // sqlite3_column_text first, then _bytes: the documented order that
    // leaves the pointer valid (the text form is made before its length).
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return std::string_view();
    return std::string_view(reinterpret_cast<const char*>(text),
                            static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  void NoteBind(int rc) {
    if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  }

  SqliteDatabase* db_;
  sqlite3_stmt* stmt_;
  std::string operation_;
  int bind_error_ = 0;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteDatabase() override {
    Status flushed = SyncLazyCommits();
    if (!flushed.ok()) {
      log::Warn("the inventory's latest changes may not be on disk yet",
                {{"error", flushed.ToString()}});
    }
    for (auto& [sql, stmt] : idle_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }
  const std::string& path() const override { return path_; }

  Status Exec(std::string_view sql, std::string_view operation) override {
    CountStatement();
    std::string text(sql);
    char* message = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string detail = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return MakeError(rc, detail, operation, path_, sqlite3_system_errno(db_));
  }

  // A statement of the same SQL that an earlier Prepare made and its user
  // released is used again: compiling one costs more than running most of
  // them (about a sixth of an issuance's instructions went to
  // sqlite3_prepare_v2). The connection's one user serializes every use
  // (sql_inventory.h), as for the statements themselves.
  Result<Statement> Prepare(std::string_view sql, std::string_view operation) override {
    CountStatement();
    sqlite3_stmt* stmt = nullptr;
    if (auto idle = idle_.find(std::string(sql)); idle != idle_.end()) {
      stmt = idle->second;
      idle_.erase(idle);
    } else {
      int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt,
                                  nullptr);
      if (rc != SQLITE_OK) return Error(rc, operation);
    }
    return Statement(std::make_unique<SqliteStatement>(this, stmt, std::string(operation)));
  }

  // A released statement: reset (which ends its read, so no snapshot
  // outlives its Statement) and its bindings cleared, kept for the next
  // Prepare of its SQL; finalized when one is kept already or too many are.
  void Release(sqlite3_stmt* stmt) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    const char* sql = sqlite3_sql(stmt);
    if (sql == nullptr || idle_.size() >= kMaxIdleStatements ||
        !idle_.emplace(sql, stmt).second) {
      sqlite3_finalize(stmt);
    }
  }

  // BEGIN IMMEDIATE takes the write lock up front, so a write transaction
  // never fails half-way on SQLITE_BUSY (docs/store.md).
  Status Begin(TxKind kind) override {
    return Exec(kind == TxKind::kRead ? "BEGIN" : "BEGIN IMMEDIATE", "begin a transaction");
  }
  Status LockSchema() override { return Status::Ok(); }

  // The connection runs with synchronous=NORMAL: COMMIT writes the
  // transaction to the write-ahead log without syncing it. A synced commit
  // then syncs the log, which makes this commit and every one before it
  // durable (the log is appended in order; a checkpoint syncs it before it
  // copies from it). One fdatasync either way, as synchronous=FULL would
  // spend on this commit, and none on the lazy ones.
  Status Commit(Durability durability, std::string_view operation) override {
    CK_RETURN_IF_ERROR(Exec("COMMIT", operation));
    if (durability == Durability::kSynced) return SyncLog();
    return Status::Ok();
  }

  void RollBackBestEffort(std::string_view sql) override {
    Status ignored = Exec(sql, "roll back");
    static_cast<void>(ignored);
  }

  int64_t Changes() const override { return sqlite3_changes64(db_); }

  Result<std::vector<std::string>> Tables() override {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                "'sqlite_%' ORDER BY name",
                "read the schema"));
    std::vector<std::string> names;
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return names;
      names.push_back(stmt.Text(0));
    }
  }

  Result<std::vector<std::string>> Columns(std::string_view table) override {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        Prepare("SELECT name FROM pragma_table_info(?) ORDER BY cid",
                                "read the schema"));
    stmt.Bind(1, table);
    std::vector<std::string> names;
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return names;
      names.push_back(stmt.Text(0));
    }
  }

  std::string SchemaSql(std::string_view sql) const override { return std::string(sql); }

  // Status for a failed SQLite call, with the connection's error message.
  Status Error(int rc, std::string_view operation) const {
    return MakeError(rc, sqlite3_errmsg(db_), operation, path_, sqlite3_system_errno(db_));
  }

 private:
  // Whether this connection changed rows since the log was last synced.
  bool Unsynced() const { return sqlite3_total_changes64(db_) != synced_changes_; }

  // fdatasync of the write-ahead log (and, the first time after SQLite
  // created it, of its directory), through the VFS the file was opened with,
  // so that an armed fault plan sees it like SQLite's own syncs.
  Status SyncLog() {
    if (!Unsynced()) return Status::Ok();
    const int64_t changes = sqlite3_total_changes64(db_);
    sqlite3_mutex_enter(sqlite3_db_mutex(db_));
    sqlite3_file* log = nullptr;
    int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &log);
    int system_errno = 0;
    if (rc == SQLITE_OK && log != nullptr && log->pMethods != nullptr) {
      rc = log->pMethods->xSync(log, SQLITE_SYNC_NORMAL);
      if (rc != SQLITE_OK) {
        sqlite3_vfs* vfs = nullptr;
        if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) == SQLITE_OK &&
            vfs != nullptr && vfs->xGetLastError != nullptr) {
          system_errno = vfs->xGetLastError(vfs, 0, nullptr);
        }
      }
    } else if (rc == SQLITE_OK) {
      rc = SQLITE_IOERR_FSYNC;  // no log file open: nothing can be promised
    }
    sqlite3_mutex_leave(sqlite3_db_mutex(db_));
    if (rc != SQLITE_OK) {
      return MakeError(rc, sqlite3_errstr(rc), "sync the inventory's write-ahead log",
                       path_ + "-wal", system_errno);
    }
    synced_changes_ = changes;
    return Status::Ok();
  }

  // Before the connection closes: a passive checkpoint syncs the log before
  // it copies from it, and it is what SQLite's close would run anyway when
  // this is the last connection (which then finds nothing left to copy). When
  // other connections keep it from copying everything, the log is synced
  // here.
  Status SyncLazyCommits() {
    if (!Unsynced()) return Status::Ok();
    int log_frames = -1;
    int checkpointed = -1;
    int rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                       &checkpointed);
    if (rc == SQLITE_OK && log_frames >= 0 && checkpointed == log_frames) {
      synced_changes_ = sqlite3_total_changes64(db_);
      return Status::Ok();
    }
    return SyncLog();
  }

  // The code has a few dozen distinct statements; more means SQL built from
  // values, which must not grow this without bound.
  static constexpr size_t kMaxIdleStatements = 256;

  sqlite3* db_;
  std::string path_;
  int64_t synced_changes_ = 0;  // sqlite3_total_changes64 when the log was last synced
  std::unordered_map<std::string, sqlite3_stmt*> idle_;  // by SQL text, see Release
};

SqliteStatement::~SqliteStatement() { db_->Release(stmt_); }

Result<bool> SqliteStatement::Step() {
  if (bind_error_ != 0) return db_->Error(bind_error_, operation_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, operation_);
}

}  // namespace

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path,
                                                     int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  // NOMUTEX: the connection's one user, SqlInventory, holds its own mutex
  // around every use (sql_inventory.h); SQLite's per-call mutex on top cost
  // about a tenth of a run that reads 10,000 rows.
  int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
      InventoryVfsName());
  if (rc != SQLITE_OK) {
    std::string message = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return MakeError(rc, message, "cannot open the inventory", path);
  }
  auto db = std::make_unique<SqliteDatabase>(raw, path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  CK_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
  // WAL lets readers (`list`, `show`) run beside a renewal run.
  // synchronous=NORMAL: a commit is synced only when the caller asks for it
  // (Durability::kSynced, SqliteDatabase::Commit); SQLite itself still syncs
  // the log before every checkpoint and the database file after it.
  CK_ASSIGN_OR_RETURN(Statement wal, db->Prepare("PRAGMA journal_mode = WAL",
                                                 "switch to WAL journal"));
  CK_ASSIGN_OR_RETURN(bool has_row, wal.Step());
  if (!has_row || wal.TextView(0) != "wal") {
    return Status(ErrorCode::kIo, "the inventory cannot use WAL journaling")
        .Where(path)
        .Hint("keep the state directory on a local file system that supports shared memory");
  }
  CK_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = NORMAL", "set synchronous mode"));
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace certkeeper::store::internal
