// Shared by base/dirfd*.cc and base/fs.cc only.
#ifndef CERTKEEPER_BASE_INTERNAL_DIRFD_UTIL_H_
#define CERTKEEPER_BASE_INTERNAL_DIRFD_UTIL_H_

#include <errno.h>
#include <string.h>

#include <string>

#include "base/status.h"

namespace certkeeper::fs::internal {

inline Status DirErrno(std::string what, const std::string& path, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == EACCES || err == EPERM || err == EROFS) code = ErrorCode::kPermissionDenied;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  Status s(code, std::move(what) + ": " + strerror(err));
  s.Where(path);
  if (err == ENOSPC || err == EDQUOT) s.Hint("the file system is full: free space and run again");
  return s;
}

// A name used with a directory descriptor is one component, never a path.
inline Status CheckName(const std::string& name, const std::string& dir) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument,
                  "\"" + name + "\" is not a plain file name (no '/', not . or ..)")
        .Where(dir);
  }
  return Status::Ok();
}

// Reads `fd` to its end (retrying EINTR); more than 64 MiB is an error, so a
// file that keeps growing cannot exhaust memory. `where` names it in errors.
// Defined in base/dirfd_files.cc.
Result<std::string> ReadAllFd(int fd, const std::string& where);

}  // namespace certkeeper::fs::internal

#endif  // CERTKEEPER_BASE_INTERNAL_DIRFD_UTIL_H_
