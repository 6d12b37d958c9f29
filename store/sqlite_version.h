// The SQLite library this process runs with, for `certkeeper --version`.
#ifndef CERTKEEPER_STORE_SQLITE_VERSION_H_
#define CERTKEEPER_STORE_SQLITE_VERSION_H_

#include <string>

namespace certkeeper::store {

// "3.40.1": sqlite3_libversion() of the loaded libsqlite3.
std::string SqliteVersion();

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_SQLITE_VERSION_H_
