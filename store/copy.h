// Copying a whole inventory from one database to another, table by table:
// `certkeeper store copy --to postgresql://...` moves a host's SQLite
// inventory into the PostgreSQL database a fleet shares (docs/fleet.md).
//
// Engine-agnostic: the source and target may be either engine (the tests copy
// SQLite into SQLite as well as into PostgreSQL). The copy is verified by the
// same code reading both sides: per table the row count and a SHA-256 over a
// canonical serialization of every row in primary-key order.
#ifndef CERTKEEPER_STORE_COPY_H_
#define CERTKEEPER_STORE_COPY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/sql_inventory.h"

namespace certkeeper::store {

namespace internal {
class Database;
}  // namespace internal

// One table as read from one database.
struct TableDigest {
  std::string table;
  int64_t rows = 0;
  std::string checksum;  // lower-case hex SHA-256
};

// One table of a copy: the source's digest beside the target's.
struct TableCopy {
  std::string table;
  int64_t source_rows = 0;
  int64_t target_rows = 0;
  std::string source_checksum;
  std::string target_checksum;
  bool matches() const {
    return source_rows == target_rows && source_checksum == target_checksum;
  }
};

struct CopyReport {
  int schema_version = 0;
  bool dry_run = false;
  // Whether the copy was committed on the target: false for a dry run and
  // when the verification found a difference (then nothing was kept).
  bool committed = false;
  std::vector<TableCopy> tables;  // in CopiedTables() order
  bool verified() const;          // every table matches
  int64_t certificates() const;   // source rows of "certificates"
};

struct CopyOptions {
  // Counts the source and checks the target; writes nothing.
  bool dry_run = false;
  // Runs inside the target's transaction after the rows were copied and
  // verified, before the commit (the CLI shares the key files here); an error
  // rolls the whole copy back.
  std::function<Status()> before_commit;
};

// The inventory's tables in dependency order (a referenced table before the
// tables referring to it). schema_migrations is not among them: the target
// records its own migrations.
const std::vector<std::string>& CopiedTables();

// The row count and checksum of every table of CopiedTables() in `db`. The
// serialization is canonical across engines: column names in declaration
// order, each value tagged as NULL, integer (decimal) or text (length-
// prefixed bytes), rows ordered by primary key (byte order on both engines).
// The caller SHOULD hold a transaction for a consistent snapshot.
Result<std::vector<TableDigest>> DigestTables(internal::Database& db);

// Compares the digests of both databases table by table.
Result<std::vector<TableCopy>> VerifyCopy(internal::Database& source,
                                          internal::Database& target);

// Copies every row of `source` into `target`:
//  - MUST be refused (kFailedPrecondition, nothing written) when the schema
//    versions differ, when either database has a table this code does not know,
//    or when the target holds any row (the count of certificates named);
//  - runs in one transaction on each side (the source's takes its write lock,
//    so nothing changes it meanwhile), resets the target's identity sequences
//    past the copied ids, verifies, and commits only when every table
//    matches; a mismatch rolls back and returns the report (committed=false).
Result<CopyReport> CopyInventory(SqlInventory& source, SqlInventory& target,
                                 const CopyOptions& options = {});

// `certkeeper store migrate` on a shared inventory: the schema version found
// (0 for an empty database) and the one after migrating. A database newer
// than this certkeeper, or not a certkeeper inventory, is refused
// (kFailedPrecondition) and left as it was.
struct MigrateResult {
  int from = 0;
  int to = 0;
};
Result<MigrateResult> MigratePostgres(PostgresOptions options);

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_COPY_H_
