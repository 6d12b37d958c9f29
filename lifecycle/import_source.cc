// SourceTree (import_source.h).
#include "lifecycle/import_source.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace certkeeper::lifecycle {

namespace {

bool Inside(const std::string& path, const std::string& root) {
  if (path == root) return true;
  const std::string prefix = root == "/" ? root : root + "/";
  return path.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

Result<SourceTree> SourceTree::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::canonical(dir, ec);
  if (ec) {
    return Status(ErrorCode::kNotFound, "cannot open the directory to import from: " +
                                            ec.message())
        .Where(dir)
        .Hint("give the client's directory, e.g. /etc/letsencrypt or ~/.lego");
  }
  if (!std::filesystem::is_directory(canonical, ec)) {
    return Status(ErrorCode::kInvalidArgument, "not a directory").Where(dir);
  }
  return SourceTree(canonical.string());
}

Result<std::string> SourceTree::Resolve(const std::string& relative) const {
  const std::string path = root_ + "/" + relative;
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::canonical(path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return Status(ErrorCode::kNotFound, "no such file").Where(path);
    }
    return Status(ErrorCode::kIo, "cannot resolve: " + ec.message()).Where(path);
  }
  if (!Inside(canonical.string(), root_)) {
    return Status(ErrorCode::kPermissionDenied,
                  "refusing a path that leads outside the imported directory (to " +
                      canonical.string() + ")")
        .Where(path)
        .Hint("symlinks are followed only when they stay inside " + root_);
  }
  return canonical.string();
}

Result<std::string> SourceTree::Read(const std::string& relative, size_t max) const {
  CK_ASSIGN_OR_RETURN(std::string path, Resolve(relative));
  // O_NONBLOCK: a FIFO planted in the tree must not hang the import.
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return Status(ErrorCode::kIo, std::string("cannot open: ") + strerror(errno)).Where(path);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status(ErrorCode::kInvalidArgument, "not a regular file").Where(path);
  }
  if (static_cast<size_t>(st.st_size) > max) {
    close(fd);
    return Status(ErrorCode::kInvalidArgument,
                  "file too large (" + std::to_string(st.st_size) + " bytes, at most " +
                      std::to_string(max) + ")")
        .Where(path);
  }
  std::string data;
  char buf[16384];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status(ErrorCode::kIo, std::string("read: ") + strerror(errno)).Where(path);
      close(fd);
      return s;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > max) {  // grew while being read
      close(fd);
      return Status(ErrorCode::kInvalidArgument, "file too large").Where(path);
    }
  }
  close(fd);
  return data;
}

bool SourceTree::IsDirectory(const std::string& relative) const {
  auto path = Resolve(relative);
  std::error_code ec;
  return path.ok() && std::filesystem::is_directory(*path, ec);
}

bool SourceTree::Exists(const std::string& relative) const { return Resolve(relative).ok(); }

Result<std::vector<std::string>> SourceTree::List(const std::string& relative) const {
  auto path = Resolve(relative);
  if (!path.ok() && path.status().code() == ErrorCode::kNotFound) {
    return std::vector<std::string>{};
  }
  if (!path.ok()) return path.status();
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(*path, ec);
  if (ec) return Status(ErrorCode::kIo, "cannot list: " + ec.message()).Where(*path);
  // A bound on entries: a directory of millions of files is not a client's.
  constexpr size_t kMaxEntries = 100000;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return Status(ErrorCode::kIo, "cannot list: " + ec.message()).Where(*path);
    names.push_back(it->path().filename().string());
    if (names.size() > kMaxEntries) {
      return Status(ErrorCode::kInvalidArgument, "too many entries").Where(*path);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace certkeeper::lifecycle
