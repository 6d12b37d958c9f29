// Directory descriptors: opening paths without following untrusted symlinks,
// creating directories through their own descriptors.
#include "base/dirfd.h"
#include "base/fault_injection.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <random>
#include <vector>

#include "base/internal/dirfd_util.h"

namespace certkeeper::fs {

namespace {

using internal::DirErrno;

// O_PATH: walking a component needs search permission only, like the kernel's
// own path walk; the last component is opened again for reading (fsync, getdents).
constexpr int kWalkFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr int kOpenFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr int kMaxSymlinks = 40;

bool TrustedOwner(uid_t uid) { return uid == 0 || uid == geteuid(); }

std::string OctalMode(mode_t mode) {
  char buf[8];
  snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

void SplitInto(const std::string& path, std::deque<std::string>& parts, bool at_front) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") out.push_back(std::move(part));
    start = slash + 1;
  }
  if (at_front) {
    parts.insert(parts.begin(), out.begin(), out.end());
  } else {
    parts.insert(parts.end(), out.begin(), out.end());
  }
}

Status UntrustedSymlink(const std::string& where, const struct stat& link,
                        const struct stat& parent) {
  std::string why;
  if (!TrustedOwner(link.st_uid)) {
    why = "the link is owned by uid " + std::to_string(link.st_uid);
  } else if (!TrustedOwner(parent.st_uid)) {
    why = "its directory is owned by uid " + std::to_string(parent.st_uid);
  } else {
    why = "its directory can be written by group or others (mode " +
          OctalMode(parent.st_mode) + ")";
  }
  return Status(ErrorCode::kPermissionDenied, "refusing to follow the symlink: " + why)
      .Where(where)
      .Hint("a symlink in this path is followed only when root (or the user certkeeper "
            "runs as) owns it and its directory and nobody else can write that directory; "
            "configure the real directory instead, or have root create the link");
}

std::string StartName(const std::string& path) {
  return !path.empty() && path.front() == '/' ? "/" : "";
}

Result<UniqueFd> OpenStart(const std::string& path) {
  const char* start = !path.empty() && path.front() == '/' ? "/" : ".";
  int fd = open(start, kWalkFlags);
  if (fd < 0) return DirErrno("cannot open directory", start, errno);
  return UniqueFd(fd);
}

// Creates `name` in parent (see MakeDirAt). Returns an invalid fd when the name
// appeared in between (created by someone else): the caller opens it again.
Result<UniqueFd> CreateDir(int parent, const std::string& name, mode_t mode,
                           const std::string& where) {
  if (fs::MkdirAt(parent, name.c_str(), 0700, where) != 0) {
    if (errno == EEXIST) return UniqueFd();
    return DirErrno("cannot create directory", where, errno);
  }
  int fd = openat(parent, name.c_str(), kOpenFlags);
  if (fd < 0) {
    return DirErrno("the directory just created cannot be opened (replaced?)", where, errno);
  }
  UniqueFd dir(fd);
  struct stat st;
  if (fstat(dir.get(), &st) != 0) return DirErrno("cannot stat", where, errno);
  if (st.st_uid != geteuid()) {
    return Status(ErrorCode::kPermissionDenied,
                  "the directory just created was replaced by one owned by uid " +
                      std::to_string(st.st_uid))
        .Where(where)
        .Hint("someone else who can write the parent directory is interfering; "
              "check who can write it");
  }
  if (fchmod(dir.get(), mode | (st.st_mode & S_ISGID)) != 0) {
    return DirErrno("cannot chmod", where, errno);
  }
  return dir;
}

// The walk behind OpenDirectory, OpenDirectoryAt and MakeDirectories.
// `walked` is where the walk starts, for messages ("" for the working directory).
Result<Dir> Walk(UniqueFd cur, const std::string& path, std::string walked,
                 const std::string& display, const mode_t* create_mode) {
  std::deque<std::string> parts;
  SplitInto(path, parts, false);
  int symlinks = 0;
  int retries = 0;
  while (!parts.empty()) {
    std::string part = std::move(parts.front());
    parts.pop_front();
    std::string here = walked.empty() ? part : JoinPath(walked, part);
    int fd = openat(cur.get(), part.c_str(), kWalkFlags);
    if (fd >= 0) {
      cur.Reset(fd);
      walked = here;
      continue;
    }
    int err = errno;
    if (err == ENOENT && create_mode != nullptr) {
      CK_ASSIGN_OR_RETURN(UniqueFd made, CreateDir(cur.get(), part, *create_mode, here));
      if (!made.valid()) {
        if (++retries > 8) return DirErrno("cannot create directory", here, EEXIST);
        parts.push_front(std::move(part));  // created concurrently: open it
        continue;
      }
      cur = std::move(made);
      walked = here;
      continue;
    }
    if (err != ELOOP && err != ENOTDIR) return DirErrno("cannot open directory", here, err);
    struct stat link, parent;
    if (fstatat(cur.get(), part.c_str(), &link, AT_SYMLINK_NOFOLLOW) != 0) {
      return DirErrno("cannot stat", here, errno);
    }
    if (!S_ISLNK(link.st_mode)) {
      return Status(ErrorCode::kFailedPrecondition, "exists and is not a directory")
          .Where(here)
          .Hint("remove or rename it, or fix the configured path");
    }
    if (fstat(cur.get(), &parent) != 0) return DirErrno("cannot stat", walked, errno);
    if (!TrustedSymlink(link, parent)) return UntrustedSymlink(here, link, parent);
    if (++symlinks > kMaxSymlinks) return DirErrno("cannot open directory", display, ELOOP);
    std::vector<char> target(PATH_MAX + 1);
    ssize_t n = readlinkat(cur.get(), part.c_str(), target.data(), target.size() - 1);
    if (n <= 0) return DirErrno("cannot read symlink", here, n < 0 ? errno : EINVAL);
    std::string to(target.data(), static_cast<size_t>(n));
    if (to.front() == '/') {
      CK_ASSIGN_OR_RETURN(cur, OpenStart(to));
      walked = "/";
    }
    // The target's components are walked next, from the link's directory (or "/").
    SplitInto(to, parts, true);
  }
  int fd = openat(cur.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    // Searchable but not readable: the O_PATH fd still serves the *at calls.
    if (errno == EACCES) return Dir(std::move(cur), display);
    return DirErrno("cannot open directory", display, errno);
  }
  return Dir(UniqueFd(fd), display);
}

}  // namespace

bool TrustedSymlink(const struct stat& link, const struct stat& parent) {
  if (!TrustedOwner(link.st_uid) || !TrustedOwner(parent.st_uid)) return false;
  if ((parent.st_mode & (S_IWGRP | S_IWOTH)) == 0) return true;
  // Sticky (like /tmp): only the link's owner, the directory's owner or root
  // may remove or rename the link, and all of them are trusted here.
  return (parent.st_mode & S_ISVTX) != 0;
}

Result<Dir> OpenDirectory(const std::string& path) {
  if (path.empty()) {
    return Status(ErrorCode::kInvalidArgument, "empty directory path");
  }
  CK_ASSIGN_OR_RETURN(UniqueFd start, OpenStart(path));
  return Walk(std::move(start), path, StartName(path), path, nullptr);
}

Result<Dir> OpenDirectoryAt(const Dir& base, const std::string& path) {
  if (path.empty()) return Status(ErrorCode::kInvalidArgument, "empty directory path");
  std::string display = base.PathOf(path);
  if (path.front() == '/') return OpenDirectory(path);
  int fd = openat(base.fd(), ".", kWalkFlags);
  if (fd < 0) return DirErrno("cannot open directory", base.path(), errno);
  return Walk(UniqueFd(fd), path, base.path(), display, nullptr);
}

Result<Dir> MakeDirsAt(const Dir& base, const std::string& path, mode_t mode) {
  if (path.empty()) return Status(ErrorCode::kInvalidArgument, "empty directory path");
  if (path.front() == '/') return MakeDirectories(path, mode);
  int fd = openat(base.fd(), ".", kWalkFlags);
  if (fd < 0) return DirErrno("cannot open directory", base.path(), errno);
  return Walk(UniqueFd(fd), path, base.path(), base.PathOf(path), &mode);
}

Result<Dir> MakeDirectories(const std::string& path, mode_t mode) {
  if (path.empty()) return Status(ErrorCode::kInvalidArgument, "empty directory path");
  CK_ASSIGN_OR_RETURN(UniqueFd start, OpenStart(path));
  return Walk(std::move(start), path, StartName(path), path, &mode);
}

Result<Dir> MakeDirAt(const Dir& parent, const std::string& name, mode_t mode,
                      bool* created) {
  if (created != nullptr) *created = false;
  CK_RETURN_IF_ERROR(internal::CheckName(name, parent.path()));
  std::string where = parent.PathOf(name);
  for (int attempt = 0; attempt < 8; ++attempt) {
    int fd = openat(parent.fd(), name.c_str(), kOpenFlags);
    if (fd >= 0) return Dir(UniqueFd(fd), where);
    int err = errno;
    if (err == ENOENT) {
      CK_ASSIGN_OR_RETURN(UniqueFd made, CreateDir(parent.fd(), name, mode, where));
      if (!made.valid()) continue;  // created concurrently: open it
      if (created != nullptr) *created = true;
      return Dir(std::move(made), where);
    }
    if (err != ELOOP && err != ENOTDIR) return DirErrno("cannot open directory", where, err);
    struct stat st;
    if (fstatat(parent.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return DirErrno("cannot stat", where, errno);
    }
    if (S_ISLNK(st.st_mode)) {
      return Status(ErrorCode::kPermissionDenied,
                    "is a symlink (owned by uid " + std::to_string(st.st_uid) +
                        "), not a directory: refusing to follow it")
          .Where(where)
          .Hint("remove the symlink; certkeeper creates the directory itself");
    }
    return Status(ErrorCode::kFailedPrecondition, "exists and is not a directory")
        .Where(where)
        .Hint("remove or rename it so that certkeeper can create its directory there");
  }
  return DirErrno("cannot create directory", where, EEXIST);
}

Status CheckOwnedDirectory(const Dir& dir, bool others_may_write) {
  struct stat st;
  if (fstat(dir.fd(), &st) != 0) return DirErrno("cannot stat", dir.path(), errno);
  if (!S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kFailedPrecondition, "is not a directory").Where(dir.path());
  }
  if (!TrustedOwner(st.st_uid)) {
    return Status(ErrorCode::kPermissionDenied,
                  "is owned by uid " + std::to_string(st.st_uid) +
                      ", not by root or the user certkeeper runs as")
        .Where(dir.path())
        .Hint("someone who can write its parent directory may have created it: check its "
              "content, then remove it; certkeeper creates its own");
  }
  if (!others_may_write && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status(ErrorCode::kPermissionDenied,
                  "can be written by group or others (mode " + OctalMode(st.st_mode) + ")")
        .Where(dir.path())
        .Hint("check its content, then `chmod 700 " + dir.path() + "`");
  }
  return Status::Ok();
}

Result<bool> IsBeneath(const Dir& dir, const Dir& root) {
  struct stat want;
  if (fstat(root.fd(), &want) != 0) return DirErrno("cannot stat", root.path(), errno);
  int fd = openat(dir.fd(), ".", kWalkFlags);
  if (fd < 0) return DirErrno("cannot open directory", dir.path(), errno);
  UniqueFd cur(fd);
  for (int depth = 0; depth < 4096; ++depth) {
    struct stat st;
    if (fstat(cur.get(), &st) != 0) return DirErrno("cannot stat", dir.path(), errno);
    if (st.st_dev == want.st_dev && st.st_ino == want.st_ino) return true;
    int up = openat(cur.get(), "..", kWalkFlags);
    if (up < 0) return DirErrno("cannot open parent directory", dir.path(), errno);
    UniqueFd parent(up);
    struct stat pst;
    if (fstat(parent.get(), &pst) != 0) return DirErrno("cannot stat", dir.path(), errno);
    if (pst.st_dev == st.st_dev && pst.st_ino == st.st_ino) return false;  // reached "/"
    cur = std::move(parent);
  }
  return false;
}

Status RemoveDirAt(const Dir& dir, const std::string& name) {
  CK_RETURN_IF_ERROR(internal::CheckName(name, dir.path()));
  if (unlinkat(dir.fd(), name.c_str(), AT_REMOVEDIR) != 0) {
    return DirErrno("cannot remove directory", dir.PathOf(name), errno);
  }
  return Status::Ok();
}

Status SyncDirAt(const Dir& dir) {
  if (fs::Fsync(dir.fd(), dir.path()) != 0) {
    return DirErrno("cannot sync directory", dir.path(), errno);
  }
  return Status::Ok();
}

std::string RandomName() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(10, 'x');
  for (char& c : s) c = kChars[rng() % (sizeof(kChars) - 1)];
  return s;
}

}  // namespace certkeeper::fs
