#include "hooks/ssh_target.h"

#include <cstdio>

#include "base/log.h"
#include "hooks/remote_shell.h"
#include "hooks/rendered_files.h"

namespace certkeeper::hooks {

namespace {

constexpr char kPrev[] = "./.certkeeper-prev";
constexpr char kMarker[] = "./.certkeeper-prev/.complete";

// "./name": a leading '-' in a name cannot be taken for an option.
std::string Local(const std::string& name) { return ShellQuote("./" + name); }
std::string Upload(const std::string& name) {
  return ShellQuote("./." + name + ".certkeeper-new");
}
std::string Saved(const std::string& name) {
  return ShellQuote(std::string(kPrev) + "/" + name);
}

std::string RemoveUploads(const std::vector<std::string>& names) {
  std::string out = "rm -f";
  for (const std::string& name : names) out += " " + Upload(name);
  return out;
}

}  // namespace

std::vector<std::string> SshArgv(const SshConfig& ssh, const std::string& remote_command) {
  std::vector<std::string> argv = {
      "ssh",
      "-o", "BatchMode=yes",
      "-o", "StrictHostKeyChecking=yes",
      "-o", "UserKnownHostsFile=" + ssh.known_hosts,
      "-o", "IdentitiesOnly=yes",
      "-o", "ConnectTimeout=" + std::to_string(ssh.connect_timeout.count()),
      "-i", ssh.identity_file,
      "-p", std::to_string(ssh.port),
  };
  if (!ssh.user.empty()) {
    argv.push_back("-l");
    argv.push_back(ssh.user);
  }
  argv.push_back("--");
  argv.push_back(ssh.host);
  argv.push_back(remote_command);
  return argv;
}

std::string SshUploadScript(const std::string& remote_directory, const std::string& name,
                            mode_t mode) {
  char octal[8];
  snprintf(octal, sizeof(octal), "%04o", static_cast<unsigned>(mode & 0777));
  return "cd -- " + ShellQuote(remote_directory) + " && umask 077 && cat > " + Upload(name) +
         " && chmod " + octal + " " + Upload(name);
}

// The scripts below run under `set -e` and separate commands with ';' only: a
// failure inside an && list does not stop a `set -e` shell (POSIX.1-2017 XCU
// §2.14 set -e), so every command stands alone.
std::string SshInstallScript(const std::string& remote_directory,
                             const std::vector<std::string>& names) {
  std::string script = "set -e; cd -- " + ShellQuote(remote_directory) + "; mkdir -p " +
                       kPrev + "; chmod 700 " + kPrev + "; rm -f " + kMarker + "; ";
  for (const std::string& name : names) {
    script += "rm -f " + Saved(name) + "; if [ -e " + Local(name) + " ] || [ -L " +
              Local(name) + " ]; then cp -P -p " + Local(name) + " " + Saved(name) +
              "; fi; ";
  }
  script += std::string(": > ") + kMarker + "; ";
  for (const std::string& name : names) {
    script += "mv -f " + Upload(name) + " " + Local(name) + "; ";
  }
  return script;
}

std::string SshRollbackScript(const std::string& remote_directory,
                              const std::vector<std::string>& names) {
  std::string script =
      "set -e; cd -- " + ShellQuote(remote_directory) + "; if [ -e " + kMarker + " ]; then ";
  for (const std::string& name : names) {
    std::string tmp = ShellQuote("./." + name + ".certkeeper-rollback");
    script += "if [ -e " + Saved(name) + " ] || [ -L " + Saved(name) + " ]; then cp -P -p " +
              Saved(name) + " " + tmp + "; mv -f " + tmp + " " + Local(name) +
              "; else rm -f " + Local(name) + "; fi; ";
  }
  return script + "fi; " + RemoveUploads(names);
}

std::string SshCleanupScript(const std::string& remote_directory,
                             const std::vector<std::string>& names) {
  return "cd -- " + ShellQuote(remote_directory) + " && " + RemoveUploads(names);
}

Status SshTarget::RunRemote(DeployContext& context, std::string kind,
                            std::string description, const std::string& remote_command,
                            std::string stdin_data) {
  ProcessSpec spec;
  spec.argv = SshArgv(config_.ssh, remote_command);
  spec.stdin_data = std::move(stdin_data);
  spec.timeout = config_.timeout;
  Status s = RunRecorded(context, config_.name, std::move(kind), std::move(description), spec);
  if (!s.ok() && s.hint().empty()) {
    s.Hint("check that `ssh -i " + config_.ssh.identity_file + " -p " +
           std::to_string(config_.ssh.port) + " " + config_.ssh.host +
           "` works without a prompt and that the host key is in " +
           config_.ssh.known_hosts);
  }
  return s;
}

Status SshTarget::RemoteReload(DeployContext& context, std::string kind) {
  if (config_.ssh.remote_reload.empty()) return Status::Ok();
  std::string command = ShellJoin(config_.ssh.remote_reload);
  return RunRemote(context, std::move(kind), "run on " + config_.ssh.host + ": " + command,
                   command);
}

Status SshTarget::Deploy(const Material& material, DeployContext& context) {
  names_.clear();
  uploaded_ = false;
  install_started_ = false;
  Result<std::vector<RenderedFile>> files = RenderFiles(config_, material);
  if (!files.ok()) {
    return RecordStep(context, config_.name, "upload", "prepare the files", files.status());
  }
  const std::string& dir = config_.ssh.remote_directory;
  for (const RenderedFile& file : *files) names_.push_back(file.name);
  uploaded_ = true;
  for (const RenderedFile& file : *files) {
    CK_RETURN_IF_ERROR(RunRemote(context, "upload",
                                 "upload " + file.name + " to " + config_.ssh.host + ":" + dir,
                                 SshUploadScript(dir, file.name, file.mode), file.content));
  }
  install_started_ = true;
  CK_RETURN_IF_ERROR(RunRemote(context, "install",
                               "install the files in " + config_.ssh.host + ":" + dir +
                                   " (previous ones kept in .certkeeper-prev)",
                               SshInstallScript(dir, names_)));
  return RemoteReload(context, "reload");
}

Status SshTarget::Rollback(DeployContext& context) {
  if (!uploaded_) return Status::Ok();
  const std::string& dir = config_.ssh.remote_directory;
  bool restore = install_started_;
  uploaded_ = false;
  install_started_ = false;
  if (!restore) {
    // The live files were never touched: a failed cleanup leaves only hidden
    // temporary files behind, which the next deploy overwrites.
    Status cleaned = RunRemote(context, "rollback",
                               "remove uploads from " + config_.ssh.host + ":" + dir,
                               SshCleanupScript(dir, names_));
    if (!cleaned.ok()) {
      log::Warn("temporary uploads may remain on the remote host",
                {{"target", config_.name}, {"directory", dir}});
    }
    return Status::Ok();
  }
  Status s = RunRemote(context, "rollback",
                       "restore the previous files in " + config_.ssh.host + ":" + dir,
                       SshRollbackScript(dir, names_));
  Status reloaded = RemoteReload(context, "rollback");
  return s.ok() ? reloaded : s;
}

}  // namespace certkeeper::hooks
