// The files target: writes the chosen files into a local directory and reloads.
//
// The directory is opened once (fs::OpenDirectory: no untrusted symlink in its
// path is followed) and every later step works relative to that descriptor, up
// to and including Rollback(): the deploy directory is often writable by the
// application user named in `owner`, and certkeeper runs as root, so nothing in
// it is ever chmod'ed, chown'ed, created or removed by path.
//
// Install: every file is written with fs::WriteFileAt (temporary name created
// O_EXCL|O_NOFOLLOW in the directory, mode and owner set with fchmod/fchown
// before the first byte, fsync, renameat, directory fsync), so a reader sees the
// old or the new file, never a mix, and a symlink at a file's name is replaced,
// not followed. Files with the key get config.mode, the others 0644;
// owner/group are resolved with getpwnam/getgrnam.
//
// Previous state: before the first file is replaced, every file about to be
// replaced is read with one O_NOFOLLOW open (type, content, mode and owner from
// that descriptor) and copied into "<directory>/.certkeeper-prev/<name>" (files
// 0600, a symlink as a symlink), and also kept in memory with its mode, owner
// and group (or its symlink target, or the fact that it did not exist).
// .certkeeper-prev MUST be a real directory owned by root or the user certkeeper
// runs as: it is created with mkdirat and fchmod'ed to 0700 through its own fd;
// a symlink or a directory owned by anyone else at that name fails the deploy
// before any file is touched, with an error naming it (it was not made by
// certkeeper: the operator checks and removes it). Rollback() restores from
// memory, byte for byte, then reloads again. The on-disk copy is for crashes: if
// the process dies between install and verification, an operator (or a later
// run) finds the previous files there. The copies are replaced at the next
// deploy, so they always hold the version before the current one.
#ifndef CERTKEEPER_HOOKS_FILES_TARGET_H_
#define CERTKEEPER_HOOKS_FILES_TARGET_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/dirfd.h"
#include "hooks/deploy_target.h"

namespace certkeeper::hooks {

// The hidden directory beside the deployed files that keeps the previous ones.
inline constexpr char kPreviousDirName[] = ".certkeeper-prev";

class FilesTarget : public DeployTarget {
 public:
  explicit FilesTarget(TargetConfig config) : config_(std::move(config)) {}

  const std::string& name() const override { return config_.name; }
  Status Deploy(const Material& material, DeployContext& context) override;
  Status Rollback(DeployContext& context) override;

 private:
  struct Previous {
    std::string name;  // inside the deploy directory
    std::string path;  // for messages
    enum class Kind { kAbsent, kFile, kSymlink } kind = Kind::kAbsent;
    std::string content;  // file content, or the symlink's target
    mode_t mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
  };

  Status SavePrevious(const std::vector<std::string>& names, DeployContext& context);
  Status Restore(const Previous& previous);
  Status Reload(DeployContext& context, std::string kind);

  TargetConfig config_;
  fs::Dir dir_;                     // the deploy directory, open from Deploy() on
  std::vector<Previous> previous_;  // one per file Deploy() may have replaced
  size_t written_ = 0;              // how many of previous_ were replaced
};

// User and group names to ids; kNotFound names the user or group.
Result<uid_t> ResolveUser(const std::string& name);
Result<gid_t> ResolveGroup(const std::string& name);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_FILES_TARGET_H_
