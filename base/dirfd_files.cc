// Files relative to a directory descriptor: atomic writes, symlinks, reads that
// never follow a symlink, removal.
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>

#include <vector>

#include "base/dirfd.h"
#include "base/fault_injection.h"
#include "base/internal/dirfd_util.h"

namespace certkeeper::fs {

namespace {

using internal::CheckName;
using internal::DirErrno;
using internal::ReadAllFd;

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

}  // namespace

namespace internal {

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

}  // namespace internal

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

std::string TempNameTarget(std::string_view entry) {
  constexpr std::string_view kMarker = ".tmp-";
  constexpr size_t kSuffix = 10;  // RandomName()
  if (entry.size() < kMarker.size() + kSuffix + 1) return "";
  std::string_view suffix = entry.substr(entry.size() - kSuffix);
  for (char c : suffix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return "";
  }
  entry.remove_suffix(kSuffix);
  if (entry.substr(entry.size() - kMarker.size()) != kMarker) return "";
  entry.remove_suffix(kMarker.size());
  // ".<name>" (the *At writers) or "<name>" (the path writers); for a name
  // that itself starts with '.', both readings are tried by the caller.
  return std::string(entry);
}

namespace {

bool AllowedTarget(const std::string& target, const StaleTempFilter& filter) {
  if (target.empty() || target == "." || target == "..") return false;
  if (filter.names.empty()) return true;
  auto listed = [&](const std::string& n) {
    return std::find(filter.names.begin(), filter.names.end(), n) != filter.names.end();
  };
  return listed(target) || (target.front() == '.' && listed(target.substr(1)));
}

}  // namespace

Result<std::vector<std::string>> ListNamesAt(const Dir& dir) {
  // A descriptor of our own for readdir: fdopendir takes ownership and moves
  // the offset, and dir.fd() may be an O_PATH descriptor that cannot be read.
  int raw = openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return DirErrno("cannot list", dir.path(), errno);
  DIR* listing = fdopendir(raw);
  if (listing == nullptr) {
    int err = errno;
    close(raw);
    return DirErrno("cannot list", dir.path(), err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* d = readdir(listing)) {
    std::string name = d->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
    errno = 0;
  }
  int err = errno;
  closedir(listing);
  if (err != 0) return DirErrno("cannot list", dir.path(), err);
  return names;
}

Result<int> RemoveStaleTempsAt(const Dir& dir, const StaleTempFilter& filter) {
  CK_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNamesAt(dir));
  std::vector<std::string> stale;
  for (std::string& entry : names) {
    if (AllowedTarget(TempNameTarget(entry), filter)) stale.push_back(std::move(entry));
  }
  const uid_t euid = geteuid();
  int removed = 0;
  for (const std::string& entry : stale) {
    struct stat st;
    if (fstatat(dir.fd(), entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) continue;
    bool ours = st.st_uid == 0 || st.st_uid == euid ||
                (filter.also_owner && st.st_uid == *filter.also_owner);
    if (!ours) continue;
    // Never AT_REMOVEDIR: a directory swapped in after the fstatat stays.
    if (unlinkat(dir.fd(), entry.c_str(), 0) == 0) {
      ++removed;
    } else if (errno != ENOENT && errno != EISDIR) {
      return DirErrno("cannot remove a leftover temporary file", dir.PathOf(entry), errno);
    }
  }
  // No directory fsync: a removal lost in a crash is redone by the next run.
  return removed;
}

}  // namespace certkeeper::fs
