// A seam between certkeeper's file writes and the operating system, so tests can
// make the Nth write, fsync, rename or mkdir fail with ENOSPC or EIO (like
// LevelDB's Env) and check that nothing half-written is ever recorded or served.
//
// Contract:
//  - Every write path in base/fs.cc and the version directory rename in
//    lifecycle/state_layout.cc MUST call the syscall through Write, Fsync,
//    Rename, RenameAt or Mkdir below; new write paths SHOULD too.
//  - Unarmed (the default, and always in production unless CERTKEEPER_FAULT is
//    set), each wrapper costs one relaxed atomic load and then does the syscall.
//  - Armed with a FaultPlan, the plan's nth matching call (op, and the path
//    containing `path_contains` when it is not empty) does NOT reach the kernel:
//    it returns -1 with errno = plan.error. Calls before and after it are real:
//    one injected failure per plan, like a disk that fills up and is freed again.
//    The injected failure is announced with one line on stderr.
//  - The plan is process-wide and thread-safe. It is a test facility: the
//    environment form CERTKEEPER_FAULT lets an end-to-end test arm it in the real
//    certkeeper binary.
#ifndef CERTKEEPER_BASE_FAULT_INJECTION_H_
#define CERTKEEPER_BASE_FAULT_INJECTION_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace certkeeper::fs {

// kRead is for seams that read (the inventory's SQLite VFS): a disk that
// cannot be read must never look like an empty one.
enum class FaultOp { kWrite, kSync, kRename, kMkdir, kRead };

struct FaultPlan {
  FaultOp op = FaultOp::kWrite;
  int nth = 1;                // the 1st, 2nd, ... matching call fails
  int error = 0;              // errno to fail with, e.g. ENOSPC or EIO
  std::string path_contains;  // only calls whose path contains this; "" = all
};

// "<op>:<n>:<errno>[:<path substring>]", e.g. "write:1:ENOSPC:/archive/" or
// "rename:2:EIO". op: write, fsync, rename, mkdir, read; errno: ENOSPC, EIO, EDQUOT,
// EROFS or a number.
Result<FaultPlan> ParseFaultPlan(std::string_view text);

// Replaces the armed plan (if any) with `plan`; Disarm removes it.
void ArmFault(const FaultPlan& plan);
void DisarmFault();
// How many calls the armed plan has failed so far (0 or 1).
int InjectedFaultCount();

// Reads CERTKEEPER_FAULT once; arms it when set. An unparsable value is an error
// naming the variable (the caller refuses to run rather than run unfaulted).
Status ArmFaultFromEnvironment();

// For seams outside base/fs.cc (the inventory's SQLite VFS): whether a plan is
// armed at all, and the errno to fail this call with (0: let it through),
// counted like the wrappers below.
bool FaultArmed();
int InjectedErrno(FaultOp op, std::string_view path);

// The syscalls, through the seam. `path` names the file for matching (for Write
// and Fsync, the file the descriptor was opened for).
ssize_t Write(int fd, const void* data, size_t size, const std::string& path);
int Fsync(int fd, const std::string& path);
int Rename(const std::string& from, const std::string& to);
int RenameAt(int from_dir, const char* from, int to_dir, const char* to,
             const std::string& path);
int Mkdir(const std::string& path, mode_t mode);
int MkdirAt(int dir, const char* name, mode_t mode, const std::string& path);

}  // namespace certkeeper::fs

#endif  // CERTKEEPER_BASE_FAULT_INJECTION_H_
