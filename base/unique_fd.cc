#include "base/unique_fd.h"

#include <errno.h>
#include <unistd.h>

#include "base/internal/dirfd_util.h"

namespace certkeeper::fs {

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

Status UniqueFd::Close(const std::string& path) {
  if (fd_ < 0) return Status::Ok();
  int rc = close(Release());
  if (rc != 0) return internal::DirErrno("cannot close", path, errno);
  return Status::Ok();
}

}  // namespace certkeeper::fs
