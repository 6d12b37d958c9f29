// A thin C++ layer over the SQLite C API for the store's own use: one
// connection, prepared statements with typed binds, and SQLite result codes
// turned into Status values that say which database and operation failed.
//
// Not thread-safe by itself: SqliteInventory serialises all use of a Database.
#ifndef CERTKEEPER_STORE_INTERNAL_SQLITE_H_
#define CERTKEEPER_STORE_INTERNAL_SQLITE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace certkeeper::store::internal {

class Statement;

class Database {
 public:
  // Opens an existing database file read-write (never creates it, never follows
  // a symlink) and applies the connection settings: extended result codes,
  // busy timeout, foreign keys, WAL journal, synchronous=FULL.
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                int busy_timeout_ms);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without parameters.
  Status Exec(std::string_view sql, std::string_view operation);
  Result<Statement> Prepare(std::string_view sql, std::string_view operation);
  // Best-effort cleanup after a failed transaction: runs a ROLLBACK [TO
  // SAVEPOINT] or RELEASE and drops its outcome, because the caller reports
  // the error that caused the rollback. Nothing half-done is kept either way:
  // an uncommitted transaction never becomes durable, and should one still be
  // open the next BEGIN on this connection fails and says so.
  void RollBackBestEffort(std::string_view sql);
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;
  const std::string& path() const { return path_; }

  // Status for a failed SQLite call, with the connection's error message.
  Status Error(int rc, std::string_view operation) const;

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// A prepared statement. Bind parameters are numbered from 1; Bind* record the
// first failure and Step/Run report it.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, TimePoint value);  // whole seconds since the epoch
  Statement& BindNull(int index);
  template <typename T>
  Statement& Bind(int index, const std::optional<T>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, const std::string& value) {
    return Bind(index, std::string_view(value));
  }
  Statement& Bind(int index, const char* value) {
    return Bind(index, std::string_view(value));
  }

  // Binds the arguments to parameters 1, 2, ... in order.
  template <typename... Args>
  Statement& BindAll(const Args&... args) {
    [[maybe_unused]] int index = 0;
    (Bind(++index, args), ...);
    return *this;
  }

  // Advances to the next row: true when a row is available, false when done.
  Result<bool> Step();
  // Runs a statement that returns no rows to completion.
  Status Run();

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  std::string Text(int column) const;
  TimePoint Time(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;
  std::optional<TimePoint> OptionalTime(int column) const;
  std::optional<std::string> OptionalText(int column) const;

 private:
  friend class Database;
  Statement(const Database* db, sqlite3_stmt* stmt, std::string operation)
      : db_(db), stmt_(stmt), operation_(std::move(operation)) {}
  void NoteBind(int rc);

  const Database* db_;
  sqlite3_stmt* stmt_;
  std::string operation_;
  int bind_error_ = 0;
};

}  // namespace certkeeper::store::internal

#endif  // CERTKEEPER_STORE_INTERNAL_SQLITE_H_
