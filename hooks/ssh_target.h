// The ssh target: pushes the files to a remote directory with the system OpenSSH
// client and runs a remote reload.
//
// Every connection runs `ssh` through base/process.h with
//   -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=<known_hosts>
//   -o IdentitiesOnly=yes -o ConnectTimeout=<s> -i <identity_file> -p <port> [-l user]
// so an unknown or changed host key, or a key that needs a passphrase, fails the
// deploy instead of prompting. The remote user's login shell must be a POSIX shell.
//
// Remote command lines are fixed text plus paths and reload arguments quoted with
// ShellQuote (remote_shell.h); control characters are refused by Validate(), and
// domains or other certificate data never appear in them (file contents travel on
// stdin).
//
// The remote directory may be writable by other users of the remote host, so
// the scripts never write, chmod or remove through a name someone else could
// have planted (POSIX sh only; no tools beyond ls, find, cp, mv, rm, mkdir):
// - each deploy stages its files in a private directory
//   "<dir>/.certkeeper-stage-<random>" (mkdir under umask 077);
// - a directory is only written after entering it with `cd -P` and proving,
//   from inside, that it is the entry we meant (same inode as the name, looked
//   at without following symlinks, `..` the directory we came from), owned by
//   the remote user and not writable by group or others; the working
//   directory then acts as a directory fd (see Prelude in ssh_target.cc);
// - `set -C`: a `>` redirection never overwrites an existing file;
// - a symlink or another user's directory at .certkeeper-prev or at the
//   staging name fails the step with a message naming it;
// - at a live file's name, a symlink is removed and replaced by the new file
//   (never followed), a real directory fails the install.
// Deploy:
//  1. upload: each file is streamed on stdin into the staging directory
//     (created by the first upload, then chmod to its mode inside it), one
//     connection per file;
//  2. install: one connection enters "<dir>/.certkeeper-prev" (created when
//     missing), removes its marker ".complete", copies every file about to be
//     replaced into it (cp -P -p, symlinks as symlinks), writes the marker, then
//     from the staging directory moves each file over its final name in the
//     directory (rename(2) in one file system: atomic on the remote side) and
//     removes the empty staging directory;
//  3. remote_reload, when configured.
// Rollback: when the marker exists, every file is copied back from
// .certkeeper-prev (to a temporary name inside it, then moved over the live
// name), files that did not exist before are removed, and the staging
// directory is deleted; then remote_reload runs again.
//
// The window that remains: between removing a symlink at a live file's name
// and the `mv` (microseconds), another user who can write the directory may
// plant a new symlink to a directory; `mv` then moves the new file into that
// directory under the same name (POSIX mv has no -T), replacing a file of that
// name there if the remote user may write it. The install notices (the name is
// not a regular file afterwards) and fails, so the deploy is rolled back; the
// file moved elsewhere is the new certificate or key (mode as configured), not
// an overwrite chosen by content. The same applies, briefly, to the restore of
// each file during rollback. Reading the live files for the backup copies them
// with `cp -P` (a symlink is copied as a symlink, never read through).
#ifndef CERTKEEPER_HOOKS_SSH_TARGET_H_
#define CERTKEEPER_HOOKS_SSH_TARGET_H_

#include <string>
#include <vector>

#include "hooks/deploy_target.h"

namespace certkeeper::hooks {

class SshTarget : public DeployTarget {
 public:
  explicit SshTarget(TargetConfig config) : config_(std::move(config)) {}

  const std::string& name() const override { return config_.name; }
  Status Deploy(const Material& material, DeployContext& context) override;
  Status Rollback(DeployContext& context) override;

 private:
  Status RunRemote(DeployContext& context, std::string kind, std::string description,
                   const std::string& remote_command, std::string stdin_data = {});
  Status RemoteReload(DeployContext& context, std::string kind);

  TargetConfig config_;
  std::vector<std::string> names_;  // the file names of the last Deploy()
  std::string stage_;               // its staging directory's name
  bool uploaded_ = false;
  bool install_started_ = false;
};

// The ssh argv that runs remote_command on the target's host (exposed for tests).
std::vector<std::string> SshArgv(const SshConfig& ssh, const std::string& remote_command);

// A fresh staging directory name, ".certkeeper-stage-<random>".
std::string SshStageName();

// The remote shell scripts (exposed for tests). `names` are validated plain
// names, `stage` a name from SshStageName().
std::string SshUploadScript(const std::string& remote_directory, const std::string& stage,
                            const std::string& name, mode_t mode);
std::string SshInstallScript(const std::string& remote_directory, const std::string& stage,
                             const std::vector<std::string>& names);
std::string SshRollbackScript(const std::string& remote_directory, const std::string& stage,
                              const std::vector<std::string>& names);
// Removes the staging directory of a deploy whose install step never started.
std::string SshCleanupScript(const std::string& remote_directory, const std::string& stage);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_SSH_TARGET_H_
