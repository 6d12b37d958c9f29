// The PostgreSQL driver of the SQL seam (store/internal/sql.h), over libpq:
// the inventory a fleet of hosts shares.
//
// The connection is made once and remade by the first transaction after it
// was lost (a restarted server), never in the middle of one. libpq's TCP
// keepalives and a server-side lock and statement timeout bound how long a
// call can hang on a server that went away.
#ifndef CERTKEEPER_STORE_INTERNAL_POSTGRES_H_
#define CERTKEEPER_STORE_INTERNAL_POSTGRES_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/internal/sql.h"

namespace certkeeper::store::internal {

// Connects to `url` (postgresql://...; a password in it is refused: it would
// show in messages), with `password` when not empty. Fails with kUnavailable
// when the server cannot be reached and kPermissionDenied when it refuses the
// credentials.
Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& url,
                                                       const std::string& password,
                                                       int connect_timeout_s);

// `url` with any password replaced by "***", for messages.
std::string RedactedUrl(std::string_view url);

// The SQL with its "?" placeholders numbered $1, $2, ... (outside quoted
// strings, quoted identifiers and comments).
std::string NumberPlaceholders(std::string_view sql);

// The migration SQL as PostgreSQL spells it: INTEGER columns are BIGINT
// (times and counters outgrow 32 bits), "INTEGER PRIMARY KEY" is an identity
// column, and TEXT compares byte-wise (COLLATE "C") like SQLite's.
std::string PostgresSchemaSql(std::string_view sql);

}  // namespace certkeeper::store::internal

#endif  // CERTKEEPER_STORE_INTERNAL_POSTGRES_H_
