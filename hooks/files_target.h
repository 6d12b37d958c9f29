// The files target: writes the chosen files into a local directory and reloads.
//
// Install: every file is written with fs::WriteFileAtomic (temporary file in the
// same directory, mode and owner set before the first byte, fsync, rename,
// directory fsync), so a reader sees the old or the new file, never a mix. Files
// with the key get config.mode, the others 0644; owner/group are resolved with
// getpwnam/getgrnam.
//
// Previous state: before the first file is replaced, every file about to be
// replaced is copied into "<directory>/.certkeeper-prev/<name>" (directory 0700,
// files 0600), and also kept in memory with its mode, owner and group (or its
// symlink target, or the fact that it did not exist). Rollback() restores from
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
    std::string path;
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
  std::vector<Previous> previous_;  // one per file Deploy() may have replaced
  size_t written_ = 0;              // how many of previous_ were replaced
};

// User and group names to ids; kNotFound names the user or group.
Result<uid_t> ResolveUser(const std::string& name);
Result<gid_t> ResolveGroup(const std::string& name);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_FILES_TARGET_H_
