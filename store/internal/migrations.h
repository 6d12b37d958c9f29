// The inventory schema as an ordered list of migrations, and the runner that
// brings a database of either engine up to date: one schema description and
// one migration history for SQLite and PostgreSQL.
//
// Migration 1 is the foundation; each later one only adds (tables, columns,
// indexes), so a database of any older version migrates forward. The SQL stays
// within what PostgreSQL also accepts: INTEGER seconds since the epoch for times,
// TEXT holding JSON for lists, INTEGER 0/1 for flags. "INTEGER PRIMARY KEY" ids
// are assigned by SQLite; the PostgreSQL driver spells them as identity columns
// (Database::SchemaSql).
#ifndef CERTKEEPER_STORE_INTERNAL_MIGRATIONS_H_
#define CERTKEEPER_STORE_INTERNAL_MIGRATIONS_H_

#include <span>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "store/internal/sql.h"

namespace certkeeper::store::internal {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// In version order, starting at 1, without gaps.
std::span<const Migration> Migrations();
int LatestSchemaVersion();

// The version recorded in schema_migrations; 0 for an empty database.
// kFailedPrecondition when the file holds tables but is not a certkeeper
// inventory.
Result<int> ReadSchemaVersion(Database& db);

// Applies every missing migration, each in its own transaction together with
// its schema_migrations row, so a crash leaves the database at a whole version.
// Safe against another process migrating at the same time. Refuses (with
// kFailedPrecondition, changing nothing) a database newer than this code.
Status Migrate(Database& db, TimePoint now);

}  // namespace certkeeper::store::internal

#endif  // CERTKEEPER_STORE_INTERNAL_MIGRATIONS_H_
