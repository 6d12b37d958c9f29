#include "base/fs.h"
#include "base/fs_unsynced.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "base/dirfd.h"
#include "base/fault_injection.h"
#include "base/internal/dirfd_util.h"

namespace certkeeper::fs {

namespace {

Status ErrnoStatus(std::string what, const std::string& path, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == EACCES || err == EPERM) code = ErrorCode::kPermissionDenied;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  Status s(code, std::move(what) + ": " + strerror(err));
  s.Where(path);
  if (err == ENOSPC || err == EDQUOT) s.Hint("the file system is full: free space and run again");
  return s;
}

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(10, 'x');
  for (char& c : s) c = kChars[rng() % (sizeof(kChars) - 1)];
  return s;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = Write(fd, data.data(), data.size(), path);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (!b.empty() && b.front() == '/') return std::string(b);
  std::string out(a);
  if (out.back() != '/') out += '/';
  out += b;
  return out;
}

std::string DirName(std::string_view path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Status SyncDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open directory", path, errno);
  int rc = Fsync(fd, path);
  int err = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus("cannot sync directory", path, err);
  return Status::Ok();
}

namespace {

// WriteFileAtomic, and with durable = false WritePrivateFileUnsynced.
Status WriteAtomic(const std::string& path, std::string_view data,
                   const WriteOptions& options, bool durable) {
  std::string dir = DirName(path);
  std::string tmp = path + ".tmp-" + RandomSuffix();
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", tmp, errno);
  auto fail = [&](Status s) {
    close(fd);
    unlink(tmp.c_str());
    return s;
  };
  // The mode is set before any byte is written, so a key is never readable by
  // others, not even for an instant.
  if (fchmod(fd, options.mode) != 0) return fail(ErrnoStatus("cannot chmod", tmp, errno));
  if (options.owner || options.group) {
    if (fchown(fd, options.owner.value_or(static_cast<uid_t>(-1)),
               options.group.value_or(static_cast<gid_t>(-1))) != 0) {
      return fail(ErrnoStatus("cannot chown", tmp, errno));
    }
    // chown may clear set-id bits; apply the mode again.
    if (fchmod(fd, options.mode) != 0) return fail(ErrnoStatus("cannot chmod", tmp, errno));
  }
  Status s = WriteAll(fd, data, tmp);
  if (!s.ok()) return fail(s);
  if (durable && Fsync(fd, tmp) != 0) {
    return fail(ErrnoStatus("cannot sync", tmp, errno));
  }
  if (close(fd) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoStatus("cannot close", tmp, err);
  }
  if (Rename(tmp, path) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoStatus("cannot rename into place", path, err);
  }
  return durable ? SyncDir(dir) : Status::Ok();
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::string_view data,
                       const WriteOptions& options) {
  return WriteAtomic(path, data, options, /*durable=*/true);
}

Status WritePrivateFileUnsynced(const std::string& path, std::string_view data) {
  WriteOptions options;
  options.mode = 0600;
  return WriteAtomic(path, data, options, /*durable=*/false);
}

Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", path, errno);
  auto fail = [&](Status s) {
    close(fd);
    unlink(path.c_str());
    return s;
  };
  if (fchmod(fd, mode) != 0) return fail(ErrnoStatus("cannot chmod", path, errno));
  Status s = WriteAll(fd, data, path);
  if (!s.ok()) return fail(s);
  if (Fsync(fd, path) != 0) return fail(ErrnoStatus("cannot sync", path, errno));
  if (close(fd) != 0) {
    int err = errno;
    unlink(path.c_str());
    return ErrnoStatus("cannot close", path, err);
  }
  return Status::Ok();
}

Status WriteNewFiles(const std::string& dir, const std::vector<NewFile>& files) {
  std::vector<std::pair<int, std::string>> created;  // fd, path
  auto fail = [&](Status s) {
    for (const auto& [fd, path] : created) {
      close(fd);
      unlink(path.c_str());
    }
    return s;
  };
  for (const NewFile& f : files) {
    std::string path = JoinPath(dir, f.name);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail(ErrnoStatus("cannot create", path, errno));
    created.emplace_back(fd, path);
    if (fchmod(fd, f.mode) != 0) return fail(ErrnoStatus("cannot chmod", path, errno));
    Status s = WriteAll(fd, f.data, path);
    if (!s.ok()) return fail(s);
    // Starts the writeback now, so that it runs while the next files are
    // written. Only a hint: where it fails (a file system without it), the
    // fsync below does all the work.
    sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  }
  for (const auto& [fd, path] : created) {
    if (Fsync(fd, path) != 0) return fail(ErrnoStatus("cannot sync", path, errno));
  }
  Status closed = Status::Ok();
  for (const auto& [fd, path] : created) {
    if (close(fd) != 0 && closed.ok()) closed = ErrnoStatus("cannot close", path, errno);
  }
  if (!closed.ok()) {
    for (const auto& entry : created) unlink(entry.second.c_str());
  }
  return closed;
}

Result<std::string> ReadFile(const std::string& path, struct stat* st) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot read", path, errno);
  if (st != nullptr && fstat(fd, st) != 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus("cannot stat", path, err);
  }
  Result<std::string> out = internal::ReadAllFd(fd, path);
  close(fd);
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::Ok();
  // Through directory descriptors (base/dirfd.h): a created directory gets its
  // mode with fchmod on its own fd, and no untrusted symlink is followed.
  return MakeDirectories(path, mode).status();
}

Status CheckPrivateFileMode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoStatus("cannot stat", path, errno);
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status(ErrorCode::kPermissionDenied,
                  std::string("private key file is accessible by group or others (mode ") +
                      mode + ")")
        .Where(path)
        .Hint("restrict it with `chmod 600 " + path + "` and check who may have read it");
  }
  return Status::Ok();
}

Status ReplaceSymlink(const std::string& target, const std::string& link) {
  std::string tmp = link + ".tmp-" + RandomSuffix();
  if (symlink(target.c_str(), tmp.c_str()) != 0) {
    return ErrnoStatus("cannot create symlink", tmp, errno);
  }
  if (Rename(tmp, link) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoStatus("cannot rename symlink into place", link, err);
  }
  return SyncDir(DirName(link));
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status(ErrorCode::kIo, "cannot remove: " + ec.message()).Where(path);
  return Status::Ok();
}

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/certkeeper-XXXXXX";
  if (mkdtemp(templ.data()) != nullptr) path_ = templ;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)RemoveAll(path_);
}

}  // namespace certkeeper::fs
