#include "hooks/files_target.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>

#include "base/crash_point.h"
#include "base/fs.h"
#include "hooks/remote_shell.h"
#include "hooks/rendered_files.h"

namespace certkeeper::hooks {

namespace {

std::string OctalMode(mode_t mode) {
  char buf[8];
  snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status ErrnoError(std::string what, const std::string& path, int err) {
  return Status(ErrorCode::kIo, std::move(what) + ": " + strerror(err)).Where(path);
}

}  // namespace

Result<uid_t> ResolveUser(const std::string& name) {
  std::vector<char> buf(16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return Status(ErrorCode::kNotFound, "no user named \"" + name + "\"")
        .Hint("check `owner` in the deploy target, or create the user");
  }
  return found->pw_uid;
}

Result<gid_t> ResolveGroup(const std::string& name) {
  std::vector<char> buf(16384);
  struct group gr;
  struct group* found = nullptr;
  int rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return Status(ErrorCode::kNotFound, "no group named \"" + name + "\"")
        .Hint("check `group` in the deploy target, or create the group");
  }
  return found->gr_gid;
}

Status FilesTarget::SavePrevious(const std::vector<std::string>& names,
                                 DeployContext& context) {
  std::string backup_dir = fs::JoinPath(config_.directory, kPreviousDirName);
  Status made = fs::MakeDirs(backup_dir, 0700);
  if (made.ok() && chmod(backup_dir.c_str(), 0700) != 0) {
    made = ErrnoError("cannot chmod", backup_dir, errno);
  }
  if (!made.ok()) {
    return RecordStep(context, config_.name, "install",
                      "keep the previous files in " + backup_dir, made);
  }
  for (const std::string& file : names) {
    Previous prev;
    prev.path = fs::JoinPath(config_.directory, file);
    std::string backup = fs::JoinPath(backup_dir, file);
    struct stat st;
    Status status;
    if (lstat(prev.path.c_str(), &st) != 0) {
      if (errno != ENOENT) status = ErrnoError("cannot stat", prev.path, errno);
      if (status.ok() && unlink(backup.c_str()) != 0 && errno != ENOENT) {
        status = ErrnoError("cannot remove stale copy", backup, errno);
      }
    } else if (S_ISLNK(st.st_mode)) {
      prev.kind = Previous::Kind::kSymlink;
      std::vector<char> target(PATH_MAX + 1);
      ssize_t n = readlink(prev.path.c_str(), target.data(), target.size() - 1);
      if (n < 0) {
        status = ErrnoError("cannot read symlink", prev.path, errno);
      } else {
        prev.content.assign(target.data(), static_cast<size_t>(n));
        status = fs::ReplaceSymlink(prev.content, backup);
      }
    } else if (S_ISREG(st.st_mode)) {
      prev.kind = Previous::Kind::kFile;
      prev.mode = st.st_mode & 07777;
      prev.uid = st.st_uid;
      prev.gid = st.st_gid;
      Result<std::string> content = fs::ReadFile(prev.path);
      if (content.ok()) {
        prev.content = std::move(*content);
        status = fs::WritePrivateFile(backup, prev.content);
      } else {
        status = content.status();
      }
    } else {
      status = Status(ErrorCode::kFailedPrecondition,
                      "exists and is neither a file nor a symlink")
                   .Where(prev.path)
                   .Hint("move it away or choose another file name");
    }
    if (!status.ok()) {
      return RecordStep(context, config_.name, "install",
                        "keep the previous " + prev.path, status);
    }
    previous_.push_back(std::move(prev));
  }
  return Status::Ok();
}

Status FilesTarget::Deploy(const Material& material, DeployContext& context) {
  previous_.clear();
  written_ = 0;
  fs::WriteOptions base_options;
  if (!config_.owner.empty()) {
    Result<uid_t> uid = ResolveUser(config_.owner);
    if (!uid.ok()) return RecordStep(context, config_.name, "install", "resolve owner",
                                     uid.status());
    base_options.owner = *uid;
  }
  if (!config_.group.empty()) {
    Result<gid_t> gid = ResolveGroup(config_.group);
    if (!gid.ok()) return RecordStep(context, config_.name, "install", "resolve group",
                                     gid.status());
    base_options.group = *gid;
  }
  Result<std::vector<RenderedFile>> files = RenderFiles(config_, material);
  if (!files.ok()) {
    return RecordStep(context, config_.name, "install", "prepare the files",
                      files.status());
  }
  struct stat st;
  if (stat(config_.directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return RecordStep(context, config_.name, "install", "find " + config_.directory,
                      Status(ErrorCode::kNotFound, "the target directory does not exist")
                          .Where(config_.directory)
                          .Hint("create it, or fix `directory` in the deploy target"));
  }

  std::vector<std::string> names;
  for (const RenderedFile& file : *files) names.push_back(file.name);
  CK_RETURN_IF_ERROR(SavePrevious(names, context));

  for (const RenderedFile& file : *files) {
    fs::WriteOptions options = base_options;
    options.mode = file.mode;
    std::string path = fs::JoinPath(config_.directory, file.name);
    // Counted before the write: a failed write may still have replaced the file.
    ++written_;
    CK_RETURN_IF_ERROR(RecordStep(
        context, config_.name, "install",
        "write " + path + " (" + std::string(MaterialKindName(file.kind)) + ", " +
            OctalMode(file.mode) + ")",
        fs::WriteFileAtomic(path, file.content, options)));
    CrashPoint("deploy.file-installed");
  }
  CrashPoint("deploy.installed");
  return Reload(context, "reload");
}

Status FilesTarget::Restore(const Previous& previous) {
  switch (previous.kind) {
    case Previous::Kind::kFile:
      return fs::WriteFileAtomic(previous.path, previous.content,
                                 fs::WriteOptions{.mode = previous.mode,
                                                  .owner = previous.uid,
                                                  .group = previous.gid});
    case Previous::Kind::kSymlink:
      return fs::ReplaceSymlink(previous.content, previous.path);
    case Previous::Kind::kAbsent:
      if (unlink(previous.path.c_str()) != 0 && errno != ENOENT) {
        return ErrnoError("cannot remove", previous.path, errno);
      }
      return fs::SyncDir(config_.directory);
  }
  return Status::Ok();
}

Status FilesTarget::Rollback(DeployContext& context) {
  Status first_error;
  size_t count = std::min(written_, previous_.size());
  for (size_t i = count; i-- > 0;) {
    const Previous& prev = previous_[i];
    std::string what = prev.kind == Previous::Kind::kAbsent ? "remove " : "restore ";
    Status s = RecordStep(context, config_.name, "rollback", what + prev.path, Restore(prev));
    if (first_error.ok() && !s.ok()) first_error = s;
  }
  if (count == 0) return Status::Ok();
  written_ = 0;
  Status reloaded = Reload(context, "rollback");
  return first_error.ok() ? reloaded : first_error;
}

Status FilesTarget::Reload(DeployContext& context, std::string kind) {
  if (config_.reload.empty()) return Status::Ok();
  ProcessSpec spec;
  spec.argv = config_.reload;
  spec.timeout = config_.timeout;
  return RunRecorded(context, config_.name, std::move(kind),
                     "run " + ShellJoin(config_.reload), spec);
}

}  // namespace certkeeper::hooks
