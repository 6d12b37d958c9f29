// Working inside directories that other users can write.
//
// A deploy directory owned by an application user, or a web server's document
// root, can be changed by that user at any moment: a name checked with lstat()
// may be a symlink by the time it is opened, and a path walked twice may lead
// somewhere else the second time. Code that runs as root MUST therefore open the
// directory once and do every later operation relative to that descriptor
// (openat, mkdirat, renameat, unlinkat, fchmod on an opened fd), and MUST NOT
// follow a symlink it did not decide to trust. This file is that toolkit.
//
// Symlinks in a configured path (OpenDirectory, OpenDirectoryAt, MakeDirectories):
// each component is opened with openat(O_DIRECTORY|O_NOFOLLOW). A component that
// is a symlink is followed only when it is a trusted symlink (TrustedSymlink):
// the link is owned by root or the effective user, and its directory is owned by
// root or the effective user and cannot be written by group or others (a sticky
// directory such as /tmp counts as not writable for a link owned by one of
// those two: nobody else may remove or rename it). So an administrator's
// /etc/nginx -> /opt/nginx/etc works, and a link planted by an application user
// in its own directory is refused with an error naming it. At most 40 symlinks
// are followed per walk (like the kernel's ELOOP limit).
//
// Single names (the `name` arguments below) MUST be one path component: no '/',
// not empty, not "." or "..". These functions never follow a symlink at `name`.
#ifndef CERTKEEPER_BASE_DIRFD_H_
#define CERTKEEPER_BASE_DIRFD_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/fs.h"
#include "base/status.h"
#include "base/unique_fd.h"

namespace certkeeper::fs {

// An open directory and the path it was opened by. The path is for messages
// only: every operation goes through fd().
class Dir {
 public:
  Dir() = default;
  Dir(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  int fd() const { return fd_.get(); }
  bool is_open() const { return fd_.valid(); }
  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view name) const { return JoinPath(path_, name); }
  void Close() { fd_.Reset(); }

 private:
  UniqueFd fd_;
  std::string path_;
};

// The trust rule for following a symlink (see the file comment). `link` is the
// lstat of the symlink, `parent` the fstat of the directory that holds it.
bool TrustedSymlink(const struct stat& link, const struct stat& parent);

// Opens the directory at path ("/"-anchored when absolute, else from the
// working directory) without following untrusted symlinks. kNotFound when a
// component is missing, kPermissionDenied for an untrusted symlink,
// kFailedPrecondition when a component is not a directory. A directory the
// process may search but not read is returned as an O_PATH descriptor: good
// for the *at functions, not for SyncDirAt or fchmod.
Result<Dir> OpenDirectory(const std::string& path);
// The same, for a path relative to base (or absolute).
Result<Dir> OpenDirectoryAt(const Dir& base, const std::string& path);
// mkdir -p: opens path like OpenDirectory and creates the missing components
// with MakeDirAt's rules (mode set with fchmod on the created directory's fd).
Result<Dir> MakeDirectories(const std::string& path, mode_t mode);
// The same, for a path relative to base (or absolute).
Result<Dir> MakeDirsAt(const Dir& base, const std::string& path, mode_t mode);

// Opens the directory `name` inside parent, creating it when missing. A
// directory created here is made with mkdirat (mode 0700), opened with
// O_NOFOLLOW, checked to be owned by the effective user (so a directory or
// symlink swapped in after mkdirat is refused), then fchmod'ed to mode (a
// set-group-ID bit inherited from parent is kept). An existing name is opened
// without following a symlink: a symlink is refused (kPermissionDenied),
// anything else that is not a directory is kFailedPrecondition. *created, when
// given, tells whether this call created it.
Result<Dir> MakeDirAt(const Dir& parent, const std::string& name, mode_t mode,
                      bool* created = nullptr);

// Fails (kPermissionDenied) unless dir is a directory owned by root or the
// effective user and, unless others_may_write, not writable by group or others.
// The message names the owner or the mode found, and the hint what to do.
Status CheckOwnedDirectory(const Dir& dir, bool others_may_write = false);

// True when dir is root or below it (walks ".." on descriptors up to "/").
Result<bool> IsBeneath(const Dir& dir, const Dir& root);

// Writes name inside dir atomically, with the contract of WriteFileAtomic: a
// temporary name created with O_CREAT|O_EXCL|O_NOFOLLOW, mode and owner set
// with fchmod/fchown before the first byte, fsync, renameat over name (which
// replaces a symlink at name instead of following it), fsync of dir.
Status WriteFileAt(const Dir& dir, const std::string& name, std::string_view data,
                   const WriteOptions& options = {});

// Atomically makes name inside dir a symlink to target (symlinkat to a
// temporary name, renameat over name, fsync of dir).
Status SymlinkAt(const Dir& dir, const std::string& target, const std::string& name);

// What is at name inside dir, looked at without following a symlink.
struct Entry {
  enum class Type { kAbsent, kFile, kSymlink, kOther };
  Type type = Type::kAbsent;
  std::string content;  // the file's bytes, or the symlink's target
  struct stat st {};    // fstat of the opened file, or lstat of the symlink
};
// A regular file is opened with O_NOFOLLOW|O_NONBLOCK and its content and
// stat come from that one descriptor, so nothing can be swapped in between
// (a FIFO does not block the read; it is kOther). Files over 64 MiB fail.
Result<Entry> ReadEntryAt(const Dir& dir, const std::string& name);
// The content of the regular file name inside dir; a symlink or anything else
// is refused (kFailedPrecondition). st, when given, receives the file's fstat.
Result<std::string> ReadFileAt(const Dir& dir, const std::string& name,
                               struct stat* st = nullptr);

// Removes name inside dir (a symlink itself, never its target); a missing name
// is not an error.
Status UnlinkAt(const Dir& dir, const std::string& name);
// Removes the empty directory name inside dir (a symlink there is not
// followed and not removed).
Status RemoveDirAt(const Dir& dir, const std::string& name);
// fsync of the directory, so that creations and renames in it are durable.
Status SyncDirAt(const Dir& dir);

// The temporary names of the atomic writes: "<name>.tmp-XXXXXXXXXX"
// (WriteFileAtomic, ReplaceSymlink) and ".<name>.tmp-XXXXXXXXXX" (WriteFileAt,
// SymlinkAt), X being one of RandomName()'s ten [a-z0-9]. Returns the <name>
// that entry is a temporary name of, or "" when it is not one.
std::string TempNameTarget(std::string_view entry);

// Which leftovers RemoveStaleTempsAt may remove.
struct StaleTempFilter {
  // Only temporary names of these names; empty: of any name (for certkeeper's
  // own state directory, whose names vary).
  std::vector<std::string> names;
  // Owners whose entries count as ours besides root and the effective user
  // (a deploy target's `owner`: its files are fchown'ed before the rename).
  std::optional<uid_t> also_owner;
};

// The names in dir except "." and "..", in no particular order.
Result<std::vector<std::string>> ListNamesAt(const Dir& dir);

// Removes what a process killed between creating a temporary name and the
// rename left in dir: entries whose name is a temporary name (TempNameTarget)
// of a name the filter allows, that are regular files or symlinks (looked at
// with fstatat(AT_SYMLINK_NOFOLLOW)) and owned by root, the effective user or
// filter.also_owner. Removal is unlinkat(dir, entry, 0): it never follows a
// symlink and never removes a directory, so an entry someone else planted
// cannot make this touch anything outside dir. Entries of other owners are
// left alone: they are not ours, whatever their name. A concurrent writer's
// temporary file removed here only makes that writer's rename fail (an error,
// never a mixed file); callers run this where no other certkeeper process
// writes the same names (under the run lock, or before their own writes).
// Returns the number of entries removed; a directory that cannot be listed
// (search but not read permission) is reported as an error.
Result<int> RemoveStaleTempsAt(const Dir& dir, const StaleTempFilter& filter);

// Ten random characters [a-z0-9] for temporary names: unpredictable enough that
// another user cannot create the name first.
std::string RandomName();

}  // namespace certkeeper::fs

#endif  // CERTKEEPER_BASE_DIRFD_H_
