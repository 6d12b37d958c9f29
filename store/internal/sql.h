// The SQL seam under SqlInventory: one connection to a database engine,
// prepared statements with typed binds, and the engine's errors turned into
// Status values that say which database and operation failed.
//
// Two drivers implement it: SQLite (store/internal/sqlite.h, the embedded
// default) and PostgreSQL through libpq (store/internal/postgres.h, for a
// fleet sharing one inventory). The inventory's SQL is written once, in the
// subset both engines accept (docs/store.md): "?" placeholders (the
// PostgreSQL driver numbers them), INTEGER seconds for times, TEXT holding
// JSON for lists, INTEGER 0/1 for flags, INSERT ... ON CONFLICT, RETURNING,
// SAVEPOINT. What differs (how a transaction starts, how the schema is
// spelled, which tables exist) is asked of the driver.
//
// Not thread-safe by itself: SqlInventory serialises all use of a Database.
#ifndef CERTKEEPER_STORE_INTERNAL_SQL_H_
#define CERTKEEPER_STORE_INTERNAL_SQL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::store::internal {

enum class Dialect { kSqlite, kPostgres };

// A driver's prepared statement. Parameters are numbered from 1.
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual void Bind(int index, int64_t value) = 0;
  virtual void Bind(int index, std::string_view value) = 0;
  virtual void BindNull(int index) = 0;
  // True when a row is available, false when done. The first call runs the
  // statement; a bind error is reported here.
  virtual Result<bool> Step() = 0;
  virtual bool IsNull(int column) const = 0;
  virtual int64_t Int(int column) const = 0;
  // The column's bytes inside the current row: valid until the next Step or
  // the statement's destruction. NULL reads as empty.
  virtual std::string_view TextView(int column) const = 0;
};

// A prepared statement of either driver. Bind* record the first failure and
// Step/Run report it.
class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementImpl> impl) : impl_(std::move(impl)) {}
  Statement(Statement&& other) noexcept = default;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement() = default;

  Statement& Bind(int index, int64_t value) {
    impl_->Bind(index, value);
    return *this;
  }
  Statement& Bind(int index, std::string_view value) {
    impl_->Bind(index, value);
    return *this;
  }
  Statement& Bind(int index, TimePoint value) {  // whole seconds since the epoch
    return Bind(index, ToUnixSeconds(value));
  }
  Statement& BindNull(int index) {
    impl_->BindNull(index);
    return *this;
  }
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
  Result<bool> Step() { return impl_->Step(); }
  // Runs a statement that returns no rows to completion.
  Status Run();

  bool IsNull(int column) const { return impl_->IsNull(column); }
  int64_t Int(int column) const { return impl_->Int(column); }
  // A view into the current row (see StatementImpl::TextView): for text that
  // is parsed or compared, not kept. Text copies it.
  std::string_view TextView(int column) const { return impl_->TextView(column); }
  std::string Text(int column) const { return std::string(TextView(column)); }
  TimePoint Time(int column) const { return FromUnixSeconds(Int(column)); }
  std::optional<int64_t> OptionalInt(int column) const;
  std::optional<TimePoint> OptionalTime(int column) const;
  std::optional<std::string> OptionalText(int column) const;

 private:
  std::unique_ptr<StatementImpl> impl_;
};

// kRead sees one consistent snapshot. kWrite is one method's change. kExclusive
// is a caller's group of reads and writes (Transactional::Transaction) that
// must not interleave with any other exclusive transaction on the database,
// from this process or another host: a read-modify-write stays whole.
enum class TxKind { kRead, kWrite, kExclusive };

// How durable an outermost commit must be when Commit returns
// (docs/crash-leftovers.md, "What is synced, and when").
//  - kSynced: on stable storage, and with it every commit before it.
//  - kLazy: atomic, visible to every connection and safe from a killed
//    process at once; on stable storage with the next synced commit, a
//    checkpoint, or when the connection closes. A power loss before then may
//    undo it whole, never part of it.
// A driver whose every commit is durable (PostgreSQL, as its server is
// configured) treats both alike.
enum class Durability { kLazy, kSynced };

class Database {
 public:
  virtual ~Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  virtual Dialect dialect() const = 0;
  // Names the database in messages: the file, or the URL without secrets.
  virtual const std::string& path() const = 0;

  // Runs one or more statements without parameters.
  virtual Status Exec(std::string_view sql, std::string_view operation) = 0;
  virtual Result<Statement> Prepare(std::string_view sql, std::string_view operation) = 0;
  // Starts an outermost transaction of `kind` (TxKind). A write transaction
  // never fails half-way on a lock another writer holds (SQLite takes the
  // write lock up front; PostgreSQL waits for row locks). A driver whose
  // connection was lost reconnects here, never inside a transaction.
  virtual Status Begin(TxKind kind) = 0;
  // Commits the outermost transaction Begin started. A kSynced commit whose
  // sync failed fails with kIo although its changes may be visible (and may
  // reach the disk later): the caller treats it as not durable, as it would a
  // commit whose own sync failed.
  virtual Status Commit(Durability durability, std::string_view operation) = 0;
  // Serialises the caller's transaction against every other connection doing
  // the same (migrations): SQLite's write lock already does; PostgreSQL takes
  // a transaction-scoped advisory lock. Expects a transaction open.
  virtual Status LockSchema() = 0;
  // Best-effort cleanup after a failed transaction: runs a ROLLBACK [TO
  // SAVEPOINT] or RELEASE and drops its outcome, because the caller reports
  // the error that caused the rollback. Nothing half-done is kept either way:
  // an uncommitted transaction never becomes durable.
  virtual void RollBackBestEffort(std::string_view sql) = 0;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  virtual int64_t Changes() const = 0;

  // The names of the tables in the database (any, not only certkeeper's),
  // and the columns of one in declaration order.
  virtual Result<std::vector<std::string>> Tables() = 0;
  virtual Result<std::vector<std::string>> Columns(std::string_view table) = 0;
  // The migration SQL (written in SQLite's spelling) as this engine needs it.
  virtual std::string SchemaSql(std::string_view sql) const = 0;

  // How many statements this connection prepared or executed, for benchmarks.
  int64_t statements() const { return statements_.load(std::memory_order_relaxed); }

 protected:
  Database() = default;
  void CountStatement() { statements_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> statements_{0};
};

}  // namespace certkeeper::store::internal

#endif  // CERTKEEPER_STORE_INTERNAL_SQL_H_
