#include "store/sqlite_version.h"

#include <sqlite3.h>

namespace certkeeper::store {

std::string SqliteVersion() { return sqlite3_libversion(); }

}  // namespace certkeeper::store
