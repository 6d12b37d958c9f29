// The file system, reached through a few functions with crash-safe contracts.
#ifndef CERTKEEPER_BASE_FS_H_
#define CERTKEEPER_BASE_FS_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace certkeeper::fs {

struct WriteOptions {
  mode_t mode = 0644;
  std::optional<uid_t> owner;  // chown when set (needs privilege)
  std::optional<gid_t> group;
};

// Writes data to path atomically: a temporary file in the same directory, written,
// fchmod'ed to mode before any byte is written, fsync'ed, renamed over path, then the
// directory fsync'ed. After a crash the path holds either the old or the new
// content, never a mix. The parent directory must exist.
Status WriteFileAtomic(const std::string& path, std::string_view data,
                       const WriteOptions& options = {});
inline Status WritePrivateFile(const std::string& path, std::string_view data) {
  WriteOptions options;
  options.mode = 0600;
  return WriteFileAtomic(path, data, options);
}

// Creates path, which must not exist yet (O_EXCL, no symlink followed), with
// mode set before any byte is written, writes data and fsyncs the file. Unlike
// WriteFileAtomic there is no rename and no directory fsync: meant for files
// inside a fresh private directory that the caller fsyncs once and renames into
// place as a whole, so a set of files costs one rename instead of one each.
// On failure the partial file is removed.
Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode);

// WriteNewFile for several files in one directory, with the same guarantees
// for each (none exists yet; mode before the first byte; written and fsynced
// when this returns OK). All are written first and their writeback started
// together, then each is fsynced: the first fsync's journal commit carries
// them all, so n files cost about one commit instead of n. On failure every
// file this call created is removed.
struct NewFile {
  std::string name;  // inside dir
  std::string_view data;
  mode_t mode = 0600;
};
Status WriteNewFiles(const std::string& dir, const std::vector<NewFile>& files);

// The file's content; a missing file is kNotFound. st, when given, receives
// the fstat of the descriptor the content was read from, so a check of its
// mode or owner is about exactly these bytes.
Result<std::string> ReadFile(const std::string& path, struct stat* st = nullptr);
bool Exists(const std::string& path);

// mkdir -p. The directories it creates get exactly `mode` (fchmod on the new
// directory's fd, so the umask does not apply), and the walk follows only
// trusted symlinks (see base/dirfd.h): a symlink planted by another user in the
// path is refused, a directory replaced right after mkdir is never chmod'ed.
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// Fails with kPermissionDenied when a private key file can be read or written by
// group or others (like ssh refusing a world-readable identity file).
Status CheckPrivateFileMode(const std::string& path);

// fsync a directory so that renames and creations inside it are durable.
Status SyncDir(const std::string& path);

// Atomically points `link` at `target` (symlink to a temp name, then rename).
Status ReplaceSymlink(const std::string& target, const std::string& link);

Status RemoveAll(const std::string& path);
std::string JoinPath(std::string_view a, std::string_view b);
std::string DirName(std::string_view path);

// A fresh private directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace certkeeper::fs

#endif  // CERTKEEPER_BASE_FS_H_
