// Files relative to a directory descriptor: atomic writes, symlinks, reads that
// never follow a symlink, removal.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <vector>

#include "base/dirfd.h"
#include "base/fault_injection.h"
#include "base/internal/dirfd_util.h"

namespace certkeeper::fs {

namespace {

using internal::CheckName;
using internal::DirErrno;

constexpr size_t kMaxRead = 64u << 20;

Status WriteAllFd(int fd, std::string_view data, const std::string& where) {
  while (!data.empty()) {
    ssize_t n = fs::Write(fd, data.data(), data.size(), where);
    if (n < 0) {
      if (errno == EINTR) continue;
      return DirErrno("cannot write", where, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Mode and owner on the open descriptor, before any byte is written.
Status SetModeAndOwner(int fd, const WriteOptions& options, const std::string& where) {
  if (fchmod(fd, options.mode) != 0) return DirErrno("cannot chmod", where, errno);
  if (!options.owner && !options.group) return Status::Ok();
  if (fchown(fd, options.owner.value_or(static_cast<uid_t>(-1)),
             options.group.value_or(static_cast<gid_t>(-1))) != 0) {
    return DirErrno("cannot chown", where, errno);
  }
  // chown may clear set-id bits; apply the mode again.
  if (fchmod(fd, options.mode) != 0) return DirErrno("cannot chmod", where, errno);
  return Status::Ok();
}

Result<std::string> ReadAllFd(int fd, const std::string& where) {
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return DirErrno("cannot read", where, errno);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxRead) {
      return Status(ErrorCode::kInvalidArgument, "file is larger than 64 MiB").Where(where);
    }
  }
}

}  // namespace

Status WriteFileAt(const Dir& dir, const std::string& name, std::string_view data,
                   const WriteOptions& options) {
  CK_RETURN_IF_ERROR(CheckName(name, dir.path()));
  std::string tmp = "." + name + ".tmp-" + RandomName();
  std::string where = dir.PathOf(tmp);
  int raw = openat(dir.fd(), tmp.c_str(),
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return DirErrno("cannot create", where, errno);
  UniqueFd fd(raw);
  auto fail = [&](Status s) {
    fd.Reset();
    unlinkat(dir.fd(), tmp.c_str(), 0);
    return s;
  };
  Status s = SetModeAndOwner(fd.get(), options, where);
  if (s.ok()) s = WriteAllFd(fd.get(), data, where);
  if (s.ok() && fs::Fsync(fd.get(), dir.PathOf(name)) != 0) {
    s = DirErrno("cannot sync", where, errno);
  }
  if (s.ok()) s = fd.Close(where);
  if (!s.ok()) return fail(std::move(s));
  if (fs::RenameAt(dir.fd(), tmp.c_str(), dir.fd(), name.c_str(), dir.PathOf(name)) != 0) {
    return fail(DirErrno("cannot rename into place", dir.PathOf(name), errno));
  }
  return SyncDirAt(dir);
}

Status SymlinkAt(const Dir& dir, const std::string& target, const std::string& name) {
  CK_RETURN_IF_ERROR(CheckName(name, dir.path()));
  std::string tmp = "." + name + ".tmp-" + RandomName();
  if (symlinkat(target.c_str(), dir.fd(), tmp.c_str()) != 0) {
    return DirErrno("cannot create symlink", dir.PathOf(tmp), errno);
  }
  if (renameat(dir.fd(), tmp.c_str(), dir.fd(), name.c_str()) != 0) {
    int err = errno;
    unlinkat(dir.fd(), tmp.c_str(), 0);
    return DirErrno("cannot rename symlink into place", dir.PathOf(name), err);
  }
  return SyncDirAt(dir);
}

Result<Entry> ReadEntryAt(const Dir& dir, const std::string& name) {
  CK_RETURN_IF_ERROR(CheckName(name, dir.path()));
  std::string where = dir.PathOf(name);
  // A name that changes type between the open and readlinkat is looked at again.
  for (int attempt = 0; attempt < 4; ++attempt) {
    Entry entry;
    int raw = openat(dir.fd(), name.c_str(),
                     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (raw >= 0) {
      UniqueFd fd(raw);
      if (fstat(fd.get(), &entry.st) != 0) return DirErrno("cannot stat", where, errno);
      if (!S_ISREG(entry.st.st_mode)) {
        entry.type = Entry::Type::kOther;
        return entry;
      }
      entry.type = Entry::Type::kFile;
      CK_ASSIGN_OR_RETURN(entry.content, ReadAllFd(fd.get(), where));
      return entry;
    }
    int err = errno;
    if (err == ENOENT) return entry;  // kAbsent
    if (err != ELOOP) {
      // O_RDONLY on a directory works; anything else unreadable is an error.
      return DirErrno("cannot open", where, err);
    }
    if (fstatat(dir.fd(), name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return DirErrno("cannot stat", where, errno);
    }
    if (!S_ISLNK(entry.st.st_mode)) continue;
    std::vector<char> target(PATH_MAX + 1);
    ssize_t n = readlinkat(dir.fd(), name.c_str(), target.data(), target.size() - 1);
    if (n < 0) {
      if (errno == EINVAL || errno == ENOENT) continue;
      return DirErrno("cannot read symlink", where, errno);
    }
    entry.type = Entry::Type::kSymlink;
    entry.content.assign(target.data(), static_cast<size_t>(n));
    return entry;
  }
  return Status(ErrorCode::kFailedPrecondition, "changes while it is being read")
      .Where(where)
      .Hint("someone else is changing this directory; check who can write it");
}

Result<std::string> ReadFileAt(const Dir& dir, const std::string& name, struct stat* st) {
  CK_ASSIGN_OR_RETURN(Entry entry, ReadEntryAt(dir, name));
  std::string where = dir.PathOf(name);
  switch (entry.type) {
    case Entry::Type::kFile:
      if (st != nullptr) *st = entry.st;
      return std::move(entry.content);
    case Entry::Type::kAbsent:
      return DirErrno("cannot read", where, ENOENT);
    case Entry::Type::kSymlink:
      return Status(ErrorCode::kFailedPrecondition,
                    "is a symlink (to " + entry.content + "): refusing to follow it")
          .Where(where);
    case Entry::Type::kOther:
      break;
  }
  return Status(ErrorCode::kFailedPrecondition, "is not a regular file").Where(where);
}

Status UnlinkAt(const Dir& dir, const std::string& name) {
  CK_RETURN_IF_ERROR(CheckName(name, dir.path()));
  if (unlinkat(dir.fd(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return DirErrno("cannot remove", dir.PathOf(name), errno);
  }
  return Status::Ok();
}

}  // namespace certkeeper::fs
