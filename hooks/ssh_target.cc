#include "hooks/ssh_target.h"

#include <cstdio>

#include "base/dirfd.h"
#include "base/log.h"
#include "hooks/remote_shell.h"
#include "hooks/rendered_files.h"

namespace certkeeper::hooks {

namespace {

constexpr char kPrev[] = ".certkeeper-prev";

// "./name": a leading '-' in a name cannot be taken for an option.
std::string Here(const std::string& name) { return ShellQuote("./" + name); }
std::string Up(const std::string& name) { return ShellQuote("../" + name); }

// Every script starts like this: `set -e` (stop at the first failure), `set -C`
// (a `>` redirection never overwrites an existing file), umask 077, and three
// helpers. ck_enter NAME enters the directory NAME of the working directory
// and proves that it is ours: not a symlink, and after the cd (-P: physical)
// the working directory is the entry NAME of the directory we came from (same
// inode, compared without following symlinks; `..` is that directory), owned by
// the remote user and not writable by group or others. From then on the
// working directory is held like a directory fd: renaming or replacing NAME
// does not move us, and the directory we came from is `..`, which another user
// cannot change (moving our directory to another parent needs write
// permission on it, which only its owner has).
std::string Prelude(const std::string& remote_directory) {
  return "set -eC; umask 077; "
         "ck_fail() { printf 'certkeeper: %s\n' \"$1\" >&2; exit 1; }; "
         "ck_ino() { set -- $(ls -di -- \"$1\"); printf '%s\n' \"$1\"; }; "
         "ck_enter() { "
         "if [ -L \"./$1\" ]; then ck_fail \"$PWD/$1 is a symlink; refusing to follow it: "
         "remove it, certkeeper creates its own\"; fi; "
         "if [ ! -d \"./$1\" ]; then ck_fail \"$PWD/$1 is not a directory\"; fi; "
         "ck_up=$(ck_ino .); cd -P -- \"./$1\"; "
         "if [ \"$(ck_ino .)\" != \"$(ck_ino \"../$1\")\" ] || "
         "[ \"$(ck_ino ..)\" != \"$ck_up\" ]; then ck_fail \"$PWD changed while entering it\"; fi; "
         "if [ -z \"$(find . -prune -user \"$(id -u)\" ! -perm -020 ! -perm -002 -print)\" ]; "
         "then ck_fail \"$PWD is not owned by $(id -un) or can be written by group or others: "
         "check it and remove it, certkeeper creates its own\"; fi; }; "
         "cd -P -- " + ShellQuote(remote_directory) + "; ";
}

// Moves ./src (in our own directory) over ../dst. rename(2) replaces a symlink
// at dst, but `mv` treats a symlink to a directory as the directory to move
// into, so a symlink there is removed first and a real directory is refused.
// Afterwards dst must be what src was (a symlink only if src was one): a
// symlink planted in between (see the header) fails the step.
std::string ReplaceUp(const std::string& src, const std::string& dst) {
  std::string up = Up(dst);
  return "if [ -d " + up + " ] && [ ! -L " + up + " ]; then ck_fail " +
         ShellQuote(dst + " in the remote directory is a directory; move it away") +
         "; fi; if [ -L " + Here(src) + " ]; then ck_link=1; else ck_link=; fi; if [ -L " + up +
         " ]; then rm -f " + up + "; fi; mv -f " + Here(src) + " " + up +
         "; if [ -n \"$ck_link\" ] && [ -L " + up + " ]; then :; elif [ -z \"$ck_link\" ] && [ -f " +
         up + " ] && [ ! -L " + up + " ]; then :; else ck_fail " +
         ShellQuote(dst + " in the remote directory was replaced while being installed; "
                    "check who else can write there") +
         "; fi; ";
}

std::string RemoveStage(const std::string& stage) {
  return "if [ -d " + Here(stage) + " ] && [ ! -L " + Here(stage) + " ]; then rm -rf " +
         Here(stage) + "; fi";
}

}  // namespace

std::string SshStageName() { return ".certkeeper-stage-" + fs::RandomName(); }

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

std::string SshUploadScript(const std::string& remote_directory, const std::string& stage,
                            const std::string& name, mode_t mode) {
  char octal[8];
  snprintf(octal, sizeof(octal), "%04o", static_cast<unsigned>(mode & 0777));
  // mkdir does not follow a symlink at the name; ck_enter refuses one, and a
  // directory that another user made there (not owned by us).
  return Prelude(remote_directory) + "if [ ! -e " + Here(stage) + " ] && [ ! -L " +
         Here(stage) + " ]; then mkdir " + Here(stage) + "; fi; ck_enter " +
         ShellQuote(stage) + "; rm -f " + Here(name) + "; cat > " + Here(name) + "; chmod " +
         octal + " " + Here(name);
}

// The scripts below run under `set -e` and separate commands with ';' only: a
// failure inside an && list does not stop a `set -e` shell (POSIX.1-2017 XCU
// §2.14 set -e), so every command stands alone.
std::string SshInstallScript(const std::string& remote_directory, const std::string& stage,
                             const std::vector<std::string>& names) {
  std::string script = Prelude(remote_directory) + "if [ -L " + Here(kPrev) +
                       " ]; then ck_fail " +
                       ShellQuote(std::string(kPrev) + " in the remote directory is a symlink; "
                                  "remove it, certkeeper creates its own") +
                       "; fi; if [ ! -e " + Here(kPrev) + " ]; then mkdir " + Here(kPrev) +
                       "; fi; ck_enter " + ShellQuote(kPrev) + "; rm -f ./.complete; ";
  for (const std::string& name : names) {
    script += "rm -f " + Here(name) + "; if [ -e " + Up(name) + " ] || [ -L " + Up(name) +
              " ]; then cp -P -p " + Up(name) + " " + Here(name) + "; fi; ";
  }
  script += ": > ./.complete; cd -P ..; ck_enter " + ShellQuote(stage) + "; ";
  for (const std::string& name : names) script += ReplaceUp(name, name);
  return script + "cd -P ..; rmdir " + Here(stage);
}

std::string SshRollbackScript(const std::string& remote_directory, const std::string& stage,
                              const std::vector<std::string>& names) {
  std::string script = Prelude(remote_directory) + "if [ -L " + Here(kPrev) +
                       " ]; then ck_fail " +
                       ShellQuote(std::string(kPrev) + " in the remote directory is a symlink") +
                       "; fi; if [ -e " + ShellQuote("./" + std::string(kPrev) + "/.complete") +
                       " ]; then ck_enter " + ShellQuote(kPrev) + "; ";
  for (const std::string& name : names) {
    std::string tmp = "." + name + ".certkeeper-rollback";
    script += "if [ -e " + Here(name) + " ] || [ -L " + Here(name) + " ]; then rm -f " +
              Here(tmp) + "; cp -P -p " + Here(name) + " " + Here(tmp) + "; " +
              ReplaceUp(tmp, name) + "else rm -f " + Up(name) + "; fi; ";
  }
  return script + "cd -P ..; fi; " + RemoveStage(stage);
}

std::string SshCleanupScript(const std::string& remote_directory, const std::string& stage) {
  return Prelude(remote_directory) + RemoveStage(stage);
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
  stage_ = SshStageName();
  uploaded_ = true;
  for (const RenderedFile& file : *files) {
    CK_RETURN_IF_ERROR(RunRemote(context, "upload",
                                 "upload " + file.name + " to " + config_.ssh.host + ":" + dir,
                                 SshUploadScript(dir, stage_, file.name, file.mode),
                                 file.content));
  }
  install_started_ = true;
  CK_RETURN_IF_ERROR(RunRemote(context, "install",
                               "install the files in " + config_.ssh.host + ":" + dir +
                                   " (previous ones kept in .certkeeper-prev)",
                               SshInstallScript(dir, stage_, names_)));
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
                               SshCleanupScript(dir, stage_));
    if (!cleaned.ok()) {
      log::Warn("temporary uploads may remain on the remote host",
                {{"target", config_.name}, {"directory", dir}});
    }
    return Status::Ok();
  }
  Status s = RunRemote(context, "rollback",
                       "restore the previous files in " + config_.ssh.host + ":" + dir,
                       SshRollbackScript(dir, stage_, names_));
  Status reloaded = RemoteReload(context, "rollback");
  return s.ok() ? reloaded : s;
}

}  // namespace certkeeper::hooks
