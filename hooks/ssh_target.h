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
// Deploy:
//  1. upload: each file is streamed on stdin into "<dir>/.<name>.certkeeper-new"
//     (umask 077, then chmod to its mode), one connection per file;
//  2. install: one connection removes the marker
//     "<dir>/.certkeeper-prev/.complete", copies every file about to be replaced
//     into "<dir>/.certkeeper-prev/" (cp -p, symlinks as symlinks), writes the
//     marker, then renames each uploaded file over its final name (rename(2) in
//     one directory: atomic on the remote side);
//  3. remote_reload, when configured.
// Rollback: when the marker exists, every file is copied back from
// .certkeeper-prev (via a temporary name and a rename), files that did not exist
// before are removed, uploads left over are deleted; then remote_reload runs again.
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
  bool uploaded_ = false;
  bool install_started_ = false;
};

// The ssh argv that runs remote_command on the target's host (exposed for tests).
std::vector<std::string> SshArgv(const SshConfig& ssh, const std::string& remote_command);

// The remote shell scripts (exposed for tests). `names` are validated plain names.
std::string SshUploadScript(const std::string& remote_directory, const std::string& name,
                            mode_t mode);
std::string SshInstallScript(const std::string& remote_directory,
                             const std::vector<std::string>& names);
std::string SshRollbackScript(const std::string& remote_directory,
                              const std::vector<std::string>& names);
// Removes the uploads of a deploy whose install step never started.
std::string SshCleanupScript(const std::string& remote_directory,
                             const std::vector<std::string>& names);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_SSH_TARGET_H_
