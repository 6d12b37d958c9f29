// The inventory's way through base/fault_injection.h: a SQLite VFS that wraps
// the default one and fails a write (SQLITE_FULL for ENOSPC/EDQUOT, else
// SQLITE_IOERR_WRITE), a sync (SQLITE_IOERR_FSYNC) or a read
// (SQLITE_IOERR_READ) when the armed FaultPlan says so, matching on the
// file's path (certkeeper.db, certkeeper.db-wal, ...).
// Its xGetLastError reports the injected errno, so sqlite3_system_errno names
// the cause as for a real failure.
#ifndef CERTKEEPER_STORE_INTERNAL_FAULT_VFS_H_
#define CERTKEEPER_STORE_INTERNAL_FAULT_VFS_H_

namespace certkeeper::store::internal {

// The VFS name to open the inventory with: the fault VFS (registered on first
// use) when a FaultPlan is armed, otherwise nullptr (SQLite's default).
const char* InventoryVfsName();

}  // namespace certkeeper::store::internal

#endif  // CERTKEEPER_STORE_INTERNAL_FAULT_VFS_H_
