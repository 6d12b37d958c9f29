// The SQLite driver of the SQL seam (store/internal/sql.h): one connection to
// the inventory file, SQLite result codes turned into Status values that say
// which file and operation failed.
#ifndef CERTKEEPER_STORE_INTERNAL_SQLITE_H_
#define CERTKEEPER_STORE_INTERNAL_SQLITE_H_

#include <memory>
#include <string>

#include "base/status.h"
#include "store/internal/sql.h"

namespace certkeeper::store::internal {

// Opens an existing database file read-write (never creates it, never follows
// a symlink) and applies the connection settings: extended result codes,
// busy timeout, foreign keys, WAL journal, synchronous=NORMAL with the
// commits that ask for it synced (Database::Commit). Changes not synced yet
// are synced before the connection closes.
Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path,
                                                     int busy_timeout_ms);

}  // namespace certkeeper::store::internal

#endif  // CERTKEEPER_STORE_INTERNAL_SQLITE_H_
