#include "store/copy.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "base/encoding.h"
#include "store/internal/migrations.h"
#include "store/internal/postgres.h"
#include "store/internal/sql.h"

namespace certkeeper::store {

namespace {

using internal::Database;
using internal::Dialect;
using internal::Statement;

struct TableInfo {
  std::string_view name;
  std::string_view primary_key;  // ORDER BY list; a lone "id" is an identity
};

// Dependency order: certificates before versions and attempts, attempts
// before attempt_steps. Every table of the schema (store/internal/
// migrations.cc) but schema_migrations; an unknown table stops the copy.
constexpr TableInfo kTables[] = {
    {"accounts", "server, account_url"},
    {"certificates", "name"},
    {"versions", "certificate, n"},
    {"attempts", "id"},
    {"attempt_steps", "attempt_id, seq"},
    {"events", "id"},
    {"request_log", "id"},
    {"ca_limits", "server, scope"},
    {"ca_directories", "server"},
    {"probes", "id"},
    {"revocations", "certificate, version, method"},
    {"alert_state", "alert, event, subject"},
    {"runs", "id"},
    {"ca_status", "server"},
    {"ca_requests", "server, kind"},
    {"material", "owner, name"},
    {"leases", "certificate"},
    {"host_deployments", "certificate, host"},
};

constexpr std::string_view kMigrationsTable = "schema_migrations";

struct Column {
  std::string name;
  bool integer = false;
};

// The columns of `table` in declaration order with whether each holds
// integers, as the engine declared them (SQLite INTEGER, PostgreSQL bigint).
Result<std::vector<Column>> ColumnsOf(Database& db, std::string_view table) {
  const std::string_view sql =
      db.dialect() == Dialect::kSqlite
          ? "SELECT name, type FROM pragma_table_info(?) ORDER BY cid"
          : "SELECT column_name, data_type FROM information_schema.columns WHERE "
            "table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position";
  CK_ASSIGN_OR_RETURN(Statement stmt, db.Prepare(sql, "read the columns of " + std::string(table)));
  stmt.Bind(1, table);
  std::vector<Column> columns;
  while (true) {
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    std::string type = stmt.Text(1);
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) {
      return static_cast<char>(std::toupper(c));
    });
    columns.push_back({stmt.Text(0), type.find("INT") != std::string::npos});
  }
  return columns;
}

std::string ColumnList(const std::vector<Column>& columns) {
  std::string out;
  for (const Column& c : columns) out += (out.empty() ? "" : ", ") + c.name;
  return out;
}

// kFailedPrecondition unless `db` holds exactly the known tables.
Status CheckTables(Database& db, std::string_view side) {
  CK_ASSIGN_OR_RETURN(std::vector<std::string> tables, db.Tables());
  std::set<std::string> known{std::string(kMigrationsTable)};
  for (const TableInfo& t : kTables) known.insert(std::string(t.name));
  for (const std::string& t : tables) {
    if (known.count(t) == 0) {
      return Status(ErrorCode::kFailedPrecondition,
                    "the " + std::string(side) + " inventory has a table \"" + t +
                        "\" that this certkeeper does not copy")
          .Where(db.path())
          .Hint("copy with the certkeeper that created it");
    }
  }
  for (const std::string& t : known) {
    if (std::find(tables.begin(), tables.end(), t) == tables.end()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "the " + std::string(side) + " inventory has no table \"" + t + "\"")
          .Where(db.path());
    }
  }
  return Status::Ok();
}

Result<int64_t> CountRows(Database& db, std::string_view table) {
  CK_ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT COUNT(*) FROM " + std::string(table),
                                                 "count the rows of " + std::string(table)));
  CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

// One row as the checksum sees it: every value tagged and length-prefixed,
// so that no two different rows serialize alike.
std::string SerializeRow(const Statement& stmt, const std::vector<Column>& columns) {
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    const int c = static_cast<int>(i);
    if (stmt.IsNull(c)) {
      out += "n;";
    } else if (columns[i].integer) {
      out += "i" + std::to_string(stmt.Int(c)) + ";";
    } else {
      const std::string text = stmt.Text(c);
      out += "t" + std::to_string(text.size()) + ":" + text;
    }
  }
  return out;
}

Result<TableDigest> DigestTable(Database& db, const TableInfo& table) {
  const std::string name(table.name);
  CK_ASSIGN_OR_RETURN(std::vector<Column> columns, ColumnsOf(db, name));
  std::string header = name + "\n";
  for (const Column& c : columns) header += c.name + (c.integer ? " i\n" : " t\n");
  CK_ASSIGN_OR_RETURN(Statement stmt,
                      db.Prepare("SELECT " + ColumnList(columns) + " FROM " + name +
                                     " ORDER BY " + std::string(table.primary_key),
                                 "read the rows of " + name));
  // A hash of the row hashes: memory stays small for a large table.
  std::string hashes = Sha256(header);
  TableDigest digest{name, 0, ""};
  while (true) {
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    hashes += Sha256(SerializeRow(stmt, columns));
    ++digest.rows;
  }
  digest.checksum = HexEncode(Sha256(hashes));
  return digest;
}

// Copies one table's rows, binding each value with its column's type.
Status CopyTable(Database& source, Database& target, const TableInfo& table) {
  const std::string name(table.name);
  CK_ASSIGN_OR_RETURN(std::vector<Column> columns, ColumnsOf(source, name));
  CK_ASSIGN_OR_RETURN(std::vector<Column> target_columns, ColumnsOf(target, name));
  if (ColumnList(columns) != ColumnList(target_columns)) {
    return Status(ErrorCode::kFailedPrecondition,
                  "table " + name + " has other columns in the target than in the source")
        .Where(target.path())
        .Hint("both inventories must be at the same schema version");
  }
  std::string placeholders;
  for (size_t i = 0; i < columns.size(); ++i) placeholders += i == 0 ? "?" : ", ?";
  const std::string insert = "INSERT INTO " + name + " (" + ColumnList(columns) +
                             ") VALUES (" + placeholders + ")";
  const std::string operation = "copy the rows of " + name;
  CK_ASSIGN_OR_RETURN(Statement read,
                      source.Prepare("SELECT " + ColumnList(columns) + " FROM " + name +
                                         " ORDER BY " + std::string(table.primary_key),
                                     operation));
  while (true) {
    CK_ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) break;
    CK_ASSIGN_OR_RETURN(Statement write, target.Prepare(insert, operation));
    for (size_t i = 0; i < columns.size(); ++i) {
      const int c = static_cast<int>(i);
      if (read.IsNull(c)) {
        write.BindNull(c + 1);
      } else if (target_columns[i].integer) {
        write.Bind(c + 1, read.Int(c));
      } else {
        write.Bind(c + 1, read.Text(c));
      }
    }
    CK_RETURN_IF_ERROR(write.Run());
  }
  return Status::Ok();
}

// PostgreSQL's identity sequences do not move when ids are inserted: without
// this the next StartAttempt would collide with a copied id. SQLite picks
// max(rowid) + 1 by itself.
Status ResetIdentities(Database& target) {
  if (target.dialect() != Dialect::kPostgres) return Status::Ok();
  for (const TableInfo& t : kTables) {
    if (t.primary_key != "id") continue;
    const std::string name(t.name);
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        target.Prepare("SELECT setval(pg_get_serial_sequence('" + name +
                           "', 'id'), COALESCE((SELECT MAX(id) FROM " + name +
                           "), 0) + 1, false)",
                       "move the id sequence of " + name + " past the copied rows"));
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return Status(ErrorCode::kInternal, "setval returned no row for " + name)
          .Where(target.path());
    }
  }
  return Status::Ok();
}

// kFailedPrecondition unless every table of `target` is empty.
Status RequireEmpty(Database& target) {
  std::string held;
  int64_t certificates = 0;
  for (const TableInfo& t : kTables) {
    CK_ASSIGN_OR_RETURN(int64_t rows, CountRows(target, t.name));
    if (t.name == "certificates") certificates = rows;
    if (rows > 0) held += (held.empty() ? "" : ", ") + std::string(t.name) + " " +
                          std::to_string(rows);
  }
  if (held.empty()) return Status::Ok();
  return Status(ErrorCode::kFailedPrecondition,
                "the target inventory is not empty: it holds " + std::to_string(certificates) +
                    " certificates (rows: " + held + ")")
      .Where(target.path())
      .Hint("copy into a new, empty database (or one that only has the schema); a database "
            "that hosts already use is never overwritten");
}

Status CheckVersions(SqlInventory& source, SqlInventory& target, int& version) {
  CK_ASSIGN_OR_RETURN(int from, source.SchemaVersion());
  CK_ASSIGN_OR_RETURN(int to, target.SchemaVersion());
  if (from != to) {
    return Status(ErrorCode::kFailedPrecondition,
                  "the source inventory has schema version " + std::to_string(from) +
                      " but the target has " + std::to_string(to))
        .Where(target.Location())
        .Hint("bring both to the same version first: `certkeeper store migrate` with the "
              "target's [store] url, or a certkeeper of the target's version");
  }
  CK_RETURN_IF_ERROR(CheckTables(source.database(), "source"));
  CK_RETURN_IF_ERROR(CheckTables(target.database(), "target"));
  version = from;
  return Status::Ok();
}

}  // namespace

bool CopyReport::verified() const {
  return std::all_of(tables.begin(), tables.end(),
                     [](const TableCopy& t) { return t.matches(); });
}

int64_t CopyReport::certificates() const {
  for (const TableCopy& t : tables) {
    if (t.table == "certificates") return t.source_rows;
  }
  return 0;
}

const std::vector<std::string>& CopiedTables() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const TableInfo& t : kTables) names.emplace_back(t.name);
    return names;
  }();
  return kNames;
}

Result<std::vector<TableDigest>> DigestTables(Database& db) {
  std::vector<TableDigest> digests;
  for (const TableInfo& t : kTables) {
    CK_ASSIGN_OR_RETURN(TableDigest d, DigestTable(db, t));
    digests.push_back(std::move(d));
  }
  return digests;
}

Result<std::vector<TableCopy>> VerifyCopy(Database& source, Database& target) {
  CK_ASSIGN_OR_RETURN(std::vector<TableDigest> from, DigestTables(source));
  CK_ASSIGN_OR_RETURN(std::vector<TableDigest> to, DigestTables(target));
  std::vector<TableCopy> tables;
  for (size_t i = 0; i < from.size(); ++i) {
    tables.push_back({from[i].table, from[i].rows, to[i].rows, from[i].checksum,
                      to[i].checksum});
  }
  return tables;
}

Result<CopyReport> CopyInventory(SqlInventory& source, SqlInventory& target,
                                 const CopyOptions& options) {
  CopyReport report;
  report.dry_run = options.dry_run;
  bool mismatch = false;
  Status status = source.Transaction([&]() -> Status {
    return target.Transaction([&]() -> Status {
      CK_RETURN_IF_ERROR(CheckVersions(source, target, report.schema_version));
      CK_RETURN_IF_ERROR(RequireEmpty(target.database()));
      if (options.dry_run) {
        CK_ASSIGN_OR_RETURN(std::vector<TableDigest> from, DigestTables(source.database()));
        for (const TableDigest& d : from) {
          report.tables.push_back({d.table, d.rows, 0, d.checksum, ""});
        }
        return Status::Ok();
      }
      for (const TableInfo& t : kTables) {
        CK_RETURN_IF_ERROR(CopyTable(source.database(), target.database(), t));
      }
      CK_RETURN_IF_ERROR(ResetIdentities(target.database()));
      CK_ASSIGN_OR_RETURN(report.tables, VerifyCopy(source.database(), target.database()));
      if (!report.verified()) {
        mismatch = true;
        return Status(ErrorCode::kInternal, "the copy differs from the source; rolled back")
            .Where(target.Location());
      }
      if (options.before_commit) CK_RETURN_IF_ERROR(options.before_commit());
      return Status::Ok();
    });
  });
  if (mismatch) return report;
  CK_RETURN_IF_ERROR(status);
  report.committed = !options.dry_run;
  return report;
}

Result<MigrateResult> MigratePostgres(PostgresOptions options) {
  MigrateResult result;
  {
    CK_ASSIGN_OR_RETURN(std::unique_ptr<Database> db,
                        internal::OpenPostgresDatabase(options.url, options.password,
                                                       options.connect_timeout_s));
    CK_ASSIGN_OR_RETURN(result.from, internal::ReadSchemaVersion(*db));
  }
  options.migrate = true;
  CK_ASSIGN_OR_RETURN(std::unique_ptr<SqlInventory> inventory, SqlInventory::OpenPostgres(options));
  CK_ASSIGN_OR_RETURN(result.to, inventory->SchemaVersion());
  return result;
}

}  // namespace certkeeper::store
