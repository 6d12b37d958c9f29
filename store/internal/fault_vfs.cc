#include "store/internal/fault_vfs.h"

#include <errno.h>
#include <sqlite3.h>

#include <atomic>
#include <mutex>
#include <string>

#include "base/fault_injection.h"

namespace certkeeper::store::internal {

namespace {

constexpr const char* kVfsName = "certkeeper-fault";

sqlite3_vfs* g_real = nullptr;     // the default VFS being wrapped
std::atomic<int> g_last_errno{0};  // the last injected errno, for xGetLastError

// A file of the wrapping VFS: its own header, then the real VFS's file object
// (szOsFile bytes) right behind it.
struct FaultFile {
  sqlite3_file base;
  std::string* path;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

FaultFile* Of(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }

int Close(sqlite3_file* f) {
  FaultFile* file = Of(f);
  int rc = file->real()->pMethods ? file->real()->pMethods->xClose(file->real()) : SQLITE_OK;
  delete file->path;
  file->path = nullptr;
  return rc;
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 offset) {
  if (int err = fs::InjectedErrno(fs::FaultOp::kRead, *Of(f)->path)) {
    g_last_errno = err;
    return SQLITE_IOERR_READ;
  }
  return Of(f)->real()->pMethods->xRead(Of(f)->real(), buf, n, offset);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 offset) {
  if (int err = fs::InjectedErrno(fs::FaultOp::kWrite, *Of(f)->path)) {
    g_last_errno = err;
    return err == ENOSPC || err == EDQUOT ? SQLITE_FULL : SQLITE_IOERR_WRITE;
  }
  return Of(f)->real()->pMethods->xWrite(Of(f)->real(), buf, n, offset);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Of(f)->real()->pMethods->xTruncate(Of(f)->real(), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (int err = fs::InjectedErrno(fs::FaultOp::kSync, *Of(f)->path)) {
    g_last_errno = err;
    return SQLITE_IOERR_FSYNC;
  }
  return Of(f)->real()->pMethods->xSync(Of(f)->real(), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Of(f)->real()->pMethods->xFileSize(Of(f)->real(), size);
}
int Lock(sqlite3_file* f, int level) {
  return Of(f)->real()->pMethods->xLock(Of(f)->real(), level);
}
int Unlock(sqlite3_file* f, int level) {
  return Of(f)->real()->pMethods->xUnlock(Of(f)->real(), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Of(f)->real()->pMethods->xCheckReservedLock(Of(f)->real(), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Of(f)->real()->pMethods->xFileControl(Of(f)->real(), op, arg);
}
int SectorSize(sqlite3_file* f) { return Of(f)->real()->pMethods->xSectorSize(Of(f)->real()); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Of(f)->real()->pMethods->xDeviceCharacteristics(Of(f)->real());
}
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Of(f)->real()->pMethods->xShmMap(Of(f)->real(), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Of(f)->real()->pMethods->xShmLock(Of(f)->real(), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Of(f)->real()->pMethods->xShmBarrier(Of(f)->real()); }
int ShmUnmap(sqlite3_file* f, int remove) {
  return Of(f)->real()->pMethods->xShmUnmap(Of(f)->real(), remove);
}
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
  return Of(f)->real()->pMethods->xFetch(Of(f)->real(), offset, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return Of(f)->real()->pMethods->xUnfetch(Of(f)->real(), offset, p);
}

// Version 3 methods; the unix VFS implements all of them.
const sqlite3_io_methods kMethods = {
    3,         Close,      Read,   Write,     Truncate,  Sync,  FileSize, Lock,
    Unlock,    CheckReservedLock,  FileControl,          SectorSize, DeviceCharacteristics,
    ShmMap,    ShmLock,    ShmBarrier,       ShmUnmap,   Fetch,      Unfetch};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  FaultFile* file = Of(f);
  file->base.pMethods = nullptr;
  file->path = nullptr;
  int rc = g_real->xOpen(g_real, name, file->real(), flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  file->path = new std::string(name ? name : "");
  file->base.pMethods = &kMethods;
  return SQLITE_OK;
}
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void DlError(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int Sleep(sqlite3_vfs*, int micros) { return g_real->xSleep(g_real, micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) {
  int injected = g_last_errno.exchange(0);
  if (injected != 0) return injected;
  return g_real->xGetLastError ? g_real->xGetLastError(g_real, n, out) : 0;
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

sqlite3_vfs g_vfs;

}  // namespace

const char* InventoryVfsName() {
  if (!fs::FaultArmed()) return nullptr;
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    if (g_real == nullptr || g_real->iVersion < 2) return;
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real->szOsFile;
    g_vfs.mxPathname = g_real->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.xOpen = Open;
    g_vfs.xDelete = Delete;
    g_vfs.xAccess = Access;
    g_vfs.xFullPathname = FullPathname;
    g_vfs.xDlOpen = DlOpen;
    g_vfs.xDlError = DlError;
    g_vfs.xDlSym = DlSym;
    g_vfs.xDlClose = DlClose;
    g_vfs.xRandomness = Randomness;
    g_vfs.xSleep = Sleep;
    g_vfs.xCurrentTime = CurrentTime;
    g_vfs.xGetLastError = GetLastError;
    g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
    registered = sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK;
  });
  return registered ? kVfsName : nullptr;
}

}  // namespace certkeeper::store::internal
