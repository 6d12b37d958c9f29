#include "store/internal/postgres.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <regex>
#include <utility>
#include <vector>

namespace certkeeper::store::internal {

namespace {

constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

bool ConnectionLost(std::string_view sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

// A Status for a failed call: the SQLSTATE class decides the code, the
// server's primary message says what (never the query or its parameters,
// which may hold key material).
Status MakeError(PGconn* conn, const PGresult* result, std::string_view operation,
                 const std::string& where) {
  std::string sqlstate;
  std::string message;
  if (result != nullptr) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    if (state) sqlstate = state;
    if (primary) message = primary;
  }
  if (message.empty()) message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  ErrorCode code = ErrorCode::kIo;
  std::string hint;
  if (PQstatus(conn) == CONNECTION_BAD || ConnectionLost(sqlstate)) {
    code = ErrorCode::kUnavailable;
    hint = "the database server went away or is restarting; the next run reconnects";
  } else if (sqlstate == "23505") {
    code = ErrorCode::kAlreadyExists;
  } else if (sqlstate.rfind("23", 0) == 0) {
    code = ErrorCode::kInvalidArgument;
  } else if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    code = ErrorCode::kLocked;
    hint = "another host held the same rows; run again";
  } else if (sqlstate == "57014") {
    code = ErrorCode::kDeadlineExceeded;
    hint = "the database took too long to answer; check the server's load";
  } else if (sqlstate == "53100") {
    hint = "the database server's disk is full: free space there and run again";
  } else if (sqlstate.rfind("53", 0) == 0) {
    code = ErrorCode::kUnavailable;
    hint = "the database server is out of resources (connections, memory); run again later";
  } else if (sqlstate == "42501" || sqlstate.rfind("28", 0) == 0) {
    code = ErrorCode::kPermissionDenied;
    hint = "the database role needs to own the certkeeper database (docs/fleet.md)";
  }
  std::string detail = std::string(operation) + ": " + message;
  if (!sqlstate.empty()) detail += " (SQLSTATE " + sqlstate + ")";
  Status status(code, std::move(detail));
  status.Where(where);
  if (!hint.empty()) status.Hint(std::move(hint));
  return status;
}

class PostgresDatabase;

class PostgresStatement final : public StatementImpl {
 public:
  PostgresStatement(PostgresDatabase* db, std::string sql, std::string operation)
      : db_(db), sql_(std::move(sql)), operation_(std::move(operation)) {}

  void Bind(int index, int64_t value) override { Set(index, std::to_string(value), kInt8Oid); }
  void Bind(int index, std::string_view value) override {
    Set(index, std::string(value), kTextOid);
  }
  void BindNull(int index) override {
    if (!Grow(index)) return;
    values_[index - 1].reset();
    types_[index - 1] = 0;
  }
  Result<bool> Step() override;
  bool IsNull(int column) const override {
    return PQgetisnull(result_.get(), row_, column) != 0;
  }
  int64_t Int(int column) const override {
    const char* text = PQgetvalue(result_.get(), row_, column);
    if (text == nullptr) return 0;
    // Booleans come back as t/f; everything else numeric is decimal text.
    if (text[0] == 't' && text[1] == '\0') return 1;
    return std::strtoll(text, nullptr, 10);
  }
  std::string_view TextView(int column) const override {
    // Owned by result_, which holds every row and lives with the statement.
    const char* text = PQgetvalue(result_.get(), row_, column);
    if (text == nullptr) return std::string_view();
    return std::string_view(text,
                            static_cast<size_t>(PQgetlength(result_.get(), row_, column)));
  }

 private:
  bool Grow(int index) {
    if (index < 1 || index > 1000) {
      bind_error_ = true;
      return false;
    }
    if (values_.size() < static_cast<size_t>(index)) {
      values_.resize(index);
      types_.resize(index, 0);
    }
    return true;
  }
  void Set(int index, std::string value, Oid type) {
    if (!Grow(index)) return;
    values_[index - 1] = std::move(value);
    types_[index - 1] = type;
  }

  PostgresDatabase* db_;
  std::string sql_;
  std::string operation_;
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_;
  bool bind_error_ = false;
  ResultPtr result_;
  int row_ = -1;
  int rows_ = 0;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(PGconn* conn, std::string where) : conn_(conn), where_(std::move(where)) {}
  ~PostgresDatabase() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::kPostgres; }
  const std::string& path() const override { return where_; }

  Status Exec(std::string_view sql, std::string_view operation) override {
    CountStatement();
    ResultPtr result(PQexec(conn_, std::string(sql).c_str()));
    ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      NoteChanges(result.get());
      return Status::Ok();
    }
    return MakeError(conn_, result.get(), operation, where_);
  }

  Result<Statement> Prepare(std::string_view sql, std::string_view operation) override {
    CountStatement();
    return Statement(std::make_unique<PostgresStatement>(this, NumberPlaceholders(sql),
                                                         std::string(operation)));
  }

  Status Begin(TxKind kind) override {
    if (PQstatus(conn_) != CONNECTION_OK) {
      PQreset(conn_);
      if (PQstatus(conn_) != CONNECTION_OK) {
        return MakeError(conn_, nullptr, "reconnect to the shared inventory", where_);
      }
    }
    // Reads see one snapshot. Writes run at READ COMMITTED and take row
    // locks (leases, upserts), so that two hosts never fail each other's
    // transaction with a serialization error. An exclusive transaction also
    // takes one advisory lock, the same on every host, as SQLite's write
    // lock would.
    if (kind == TxKind::kRead) {
      return Exec("BEGIN ISOLATION LEVEL REPEATABLE READ", "begin a transaction");
    }
    CK_RETURN_IF_ERROR(Exec("BEGIN", "begin a transaction"));
    if (kind == TxKind::kWrite) return Status::Ok();
    Status locked = Exec("SELECT pg_advisory_xact_lock(7311470386925844)",
                         "wait for other hosts' transactions");
    if (!locked.ok()) RollBackBestEffort("ROLLBACK");
    return locked;
  }

  // Every commit is as durable as the server makes it (synchronous_commit).
  Status Commit(Durability, std::string_view operation) override {
    return Exec("COMMIT", operation);
  }

  Status LockSchema() override {
    // Any constant: every certkeeper migrating this database takes the same.
    return Exec("SELECT pg_advisory_xact_lock(7311470386925843)", "lock the schema");
  }

  void RollBackBestEffort(std::string_view sql) override {
    if (PQstatus(conn_) != CONNECTION_OK) return;
    Status ignored = Exec(sql, "roll back");
    static_cast<void>(ignored);
  }

  int64_t Changes() const override { return changes_; }

  Result<std::vector<std::string>> Tables() override {
    return Names("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                 "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
                 std::nullopt);
  }

  Result<std::vector<std::string>> Columns(std::string_view table) override {
    return Names("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                 "current_schema() AND table_name = ? ORDER BY ordinal_position",
                 table);
  }

  std::string SchemaSql(std::string_view sql) const override { return PostgresSchemaSql(sql); }

  PGconn* conn() { return conn_; }
  void NoteChanges(const PGresult* result) {
    const char* tuples = PQcmdTuples(const_cast<PGresult*>(result));
    changes_ = (tuples && *tuples) ? std::strtoll(tuples, nullptr, 10) : 0;
  }

 private:
  Result<std::vector<std::string>> Names(std::string_view sql,
                                         std::optional<std::string_view> arg) {
    CK_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql, "read the schema"));
    if (arg) stmt.Bind(1, *arg);
    std::vector<std::string> names;
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return names;
      names.push_back(stmt.Text(0));
    }
  }

  PGconn* conn_;
  std::string where_;
  int64_t changes_ = 0;
};

Result<bool> PostgresStatement::Step() {
  if (bind_error_) {
    return Status(ErrorCode::kInternal, operation_ + ": a parameter index is out of range")
        .Where(db_->path());
  }
  if (!result_) {
    std::vector<const char*> values(values_.size(), nullptr);
    for (size_t i = 0; i < values_.size(); ++i) {
      if (values_[i]) values[i] = values_[i]->c_str();
    }
    result_.reset(PQexecParams(db_->conn(), sql_.c_str(), static_cast<int>(values.size()),
                               types_.data(), values.data(), nullptr, nullptr, 0));
    ExecStatusType status = result_ ? PQresultStatus(result_.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      Status error = MakeError(db_->conn(), result_.get(), operation_, db_->path());
      result_.reset();
      return error;
    }
    db_->NoteChanges(result_.get());
    rows_ = PQntuples(result_.get());
  }
  if (row_ + 1 >= rows_) {
    row_ = rows_;
    return false;
  }
  ++row_;
  return true;
}

}  // namespace

std::string RedactedUrl(std::string_view url) {
  std::string out(url);
  size_t scheme = out.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t at = out.find('@', start);
  size_t slash = out.find('/', start);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  static const std::regex kPasswordParam("(password=)[^&]*", std::regex::icase);
  return std::regex_replace(out, kPasswordParam, "$1***");
}

std::string NumberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 0;
  char quote = 0;
  bool comment = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (comment) {
      if (c == '\n') comment = false;
    } else if (quote != 0) {
      if (c == quote) quote = 0;  // a doubled quote reopens at once
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      comment = true;
    } else if (c == '?') {
      out += "$" + std::to_string(++next);
      continue;
    }
    out += c;
  }
  return out;
}

std::string PostgresSchemaSql(std::string_view sql) {
  static const std::regex kIdentity("\\bINTEGER PRIMARY KEY\\b");
  static const std::regex kInteger("\\bINTEGER\\b");
  static const std::regex kText("\\bTEXT\\b");
  std::string out = std::regex_replace(std::string(sql), kIdentity,
                                       "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
  out = std::regex_replace(out, kInteger, "BIGINT");
  return std::regex_replace(out, kText, "TEXT COLLATE \"C\"");
}

Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& url,
                                                       const std::string& password,
                                                       int connect_timeout_s) {
  const std::string where = RedactedUrl(url);
  if (where != url) {
    return Status(ErrorCode::kInvalidArgument, "the [store] url holds a password")
        .Where(where)
        .Hint("remove it from the url and put it in [store] password_file");
  }
  const std::string timeout = std::to_string(connect_timeout_s > 0 ? connect_timeout_s : 10);
  // The server ends a statement waiting on a lock after 30 s and a session
  // idle inside a transaction after 5 min; TCP keepalives notice a server
  // that vanished without closing the connection.
  std::vector<const char*> keys = {"dbname",
                                   "connect_timeout",
                                   "application_name",
                                   "client_encoding",
                                   "options",
                                   "keepalives",
                                   "keepalives_idle",
                                   "keepalives_interval",
                                   "keepalives_count",
                                   "tcp_user_timeout"};
  std::vector<const char*> values = {url.c_str(),
                                     timeout.c_str(),
                                     "certkeeper",
                                     "UTF8",
                                     "-c lock_timeout=30000 -c "
                                     "idle_in_transaction_session_timeout=300000",
                                     "1",
                                     "10",
                                     "5",
                                     "3",
                                     "30000"};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) {
    return Status(ErrorCode::kInternal, "connect to the shared inventory: out of memory")
        .Where(where);
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    bool refused = message.find("password authentication failed") != std::string::npos ||
                   message.find("no password supplied") != std::string::npos ||
                   message.find("no pg_hba.conf entry") != std::string::npos;
    Status status(refused ? ErrorCode::kPermissionDenied : ErrorCode::kUnavailable,
                  "cannot connect to the shared inventory: " + message);
    status.Where(where);
    status.Hint(refused ? "check the role in [store] url and the password in [store] "
                          "password_file"
                        : "check that the PostgreSQL server in [store] url is running and "
                          "reachable from this host");
    return status;
  }
  // The server's NOTICEs ("drop cascades to ...") are not for the user.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Database>(std::make_unique<PostgresDatabase>(conn, where));
}

}  // namespace certkeeper::store::internal
