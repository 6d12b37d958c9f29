#include "store/internal/sqlite.h"

#include <sqlite3.h>

#include <errno.h>
#include <string.h>

#include <utility>

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

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
      InventoryVfsName());
  if (rc != SQLITE_OK) {
    std::string message = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return MakeError(rc, message, "cannot open the inventory", path);
  }
  std::unique_ptr<Database> db(new Database(raw, path));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  CK_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
  // WAL lets readers (`list`, `show`) run beside a renewal run; every commit is
  // fsynced (synchronous=FULL) because AddVersion is the engine's commit point.
  CK_ASSIGN_OR_RETURN(Statement wal, db->Prepare("PRAGMA journal_mode = WAL",
                                                 "switch to WAL journal"));
  CK_ASSIGN_OR_RETURN(bool has_row, wal.Step());
  if (!has_row || wal.Text(0) != "wal") {
    return Status(ErrorCode::kIo, "the inventory cannot use WAL journaling")
        .Where(path)
        .Hint("keep the state directory on a local file system that supports shared memory");
  }
  CK_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = FULL", "set synchronous mode"));
  return db;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Error(int rc, std::string_view operation) const {
  return MakeError(rc, sqlite3_errmsg(db_), operation, path_, sqlite3_system_errno(db_));
}

Status Database::Exec(std::string_view sql, std::string_view operation) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string detail = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return MakeError(rc, detail, operation, path_, sqlite3_system_errno(db_));
}

void Database::RollBackBestEffort(std::string_view sql) {
  Status ignored = Exec(sql, "roll back");
  static_cast<void>(ignored);
}

Result<Statement> Database::Prepare(std::string_view sql, std::string_view operation) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt,
                              nullptr);
  if (rc != SQLITE_OK) return Error(rc, operation);
  return Statement(this, stmt, std::string(operation));
}

int64_t Database::Changes() const { return sqlite3_changes64(db_); }

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      operation_(std::move(other.operation_)),
      bind_error_(other.bind_error_) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::NoteBind(int rc) {
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

Statement& Statement::Bind(int index, int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  NoteBind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Statement& Statement::Bind(int index, TimePoint value) {
  return Bind(index, ToUnixSeconds(value));
}

Statement& Statement::BindNull(int index) {
  NoteBind(sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_error_ != 0) return db_->Error(bind_error_, operation_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, operation_);
}

Status Statement::Run() {
  while (true) {
    CK_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

TimePoint Statement::Time(int column) const { return FromUnixSeconds(Int(column)); }

std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

std::optional<TimePoint> Statement::OptionalTime(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Time(column);
}

std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

}  // namespace certkeeper::store::internal
