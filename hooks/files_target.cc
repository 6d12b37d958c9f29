#include "hooks/files_target.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/crash_point.h"
#include "base/dirfd.h"
#include "base/fs.h"
#include "base/log.h"
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

fs::WriteOptions PrivateMode() {
  fs::WriteOptions options;
  options.mode = 0600;
  return options;
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

namespace {

// Opens (or creates) "<directory>/.certkeeper-prev" through the deploy
// directory's fd. Whoever can write the deploy directory could have planted a
// symlink or a directory of their own there; both are refused, because writing
// into either would let them choose where root creates, chmods and deletes.
Result<fs::Dir> OpenBackupDir(const fs::Dir& dir) {
  std::string path = dir.PathOf(kPreviousDirName);
  Result<fs::Dir> backup = fs::MakeDirAt(dir, kPreviousDirName, 0700);
  if (!backup.ok()) {
    Status s = backup.status();
    if (s.code() == ErrorCode::kPermissionDenied || s.code() == ErrorCode::kFailedPrecondition) {
      s.Hint("certkeeper keeps the previous files in its own directory " + path +
             "; this one was not made by certkeeper (someone who can write " + dir.path() +
             " may have planted it): check it, remove it, and deploy again");
    }
    return s;
  }
  CK_RETURN_IF_ERROR(fs::CheckOwnedDirectory(*backup, /*others_may_write=*/true));
  // Ours (root's or the running user's): make sure nobody else can read the
  // copies of the keys, through the fd we hold, never by path.
  if (fchmod(backup->fd(), 0700) != 0) return ErrnoError("cannot chmod", path, errno);
  return backup;
}

// Best-effort cleanup: removes the temporary files of `names` that a process
// killed in the middle of an atomic write left in dir (a temporary private key
// is a key copy nobody would ever remove). A failure only leaves them there, so
// it is logged and the deploy goes on.
void RemoveLeftoverTemps(const fs::Dir& dir, const std::vector<std::string>& names,
                         std::optional<uid_t> owner) {
  Result<int> removed = fs::RemoveStaleTempsAt(dir, {.names = names, .also_owner = owner});
  if (!removed.ok()) {
    log::Warn("leftover temporary files not removed",
              {{"directory", dir.path()}, {"reason", removed.status().ToString()}});
  } else if (*removed > 0) {
    log::Info("removed temporary files left by an interrupted deploy",
              {{"directory", dir.path()}, {"count", std::to_string(*removed)}});
  }
}

}  // namespace

Status FilesTarget::SavePrevious(const std::vector<std::string>& names,
                                 DeployContext& context) {
  std::string backup_path = dir_.PathOf(kPreviousDirName);
  Result<fs::Dir> backup = OpenBackupDir(dir_);
  if (!backup.ok()) {
    return RecordStep(context, config_.name, "install",
                      "keep the previous files in " + backup_path, backup.status());
  }
  RemoveLeftoverTemps(*backup, names, std::nullopt);
  for (const std::string& file : names) {
    Previous prev;
    prev.name = file;
    prev.path = dir_.PathOf(file);
    // One open with O_NOFOLLOW; type, content, mode and owner all come from it.
    Result<fs::Entry> entry = fs::ReadEntryAt(dir_, file);
    Status status = entry.status();
    if (entry.ok()) {
      switch (entry->type) {
        case fs::Entry::Type::kAbsent:
          status = fs::UnlinkAt(*backup, file);
          break;
        case fs::Entry::Type::kSymlink:
          prev.kind = Previous::Kind::kSymlink;
          prev.content = std::move(entry->content);
          status = fs::SymlinkAt(*backup, prev.content, file);
          break;
        case fs::Entry::Type::kFile:
          prev.kind = Previous::Kind::kFile;
          prev.mode = entry->st.st_mode & 07777;
          prev.uid = entry->st.st_uid;
          prev.gid = entry->st.st_gid;
          prev.content = std::move(entry->content);
          status = fs::WriteFileAt(*backup, file, prev.content, PrivateMode());
          break;
        case fs::Entry::Type::kOther:
          status = Status(ErrorCode::kFailedPrecondition,
                          "exists and is neither a file nor a symlink")
                       .Where(prev.path)
                       .Hint("move it away or choose another file name");
          break;
      }
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
  dir_ = fs::Dir();
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
  // Opened once; install and rollback work through this fd only, so a
  // directory (or a parent) swapped for a symlink later is not followed.
  Result<fs::Dir> dir = fs::OpenDirectory(config_.directory);
  if (!dir.ok()) {
    Status s = dir.status();
    if (s.code() == ErrorCode::kNotFound) {
      s = Status(ErrorCode::kNotFound, "the target directory does not exist: " + s.message())
              .Where(config_.directory)
              .Hint("create it, or fix `directory` in the deploy target");
    }
    return RecordStep(context, config_.name, "install", "find " + config_.directory, s);
  }
  dir_ = std::move(*dir);

  std::vector<std::string> names;
  for (const RenderedFile& file : *files) names.push_back(file.name);
  RemoveLeftoverTemps(dir_, names, base_options.owner);
  CK_RETURN_IF_ERROR(SavePrevious(names, context));

  for (const RenderedFile& file : *files) {
    fs::WriteOptions options = base_options;
    options.mode = file.mode;
    // Counted before the write: a failed write may still have replaced the file.
    ++written_;
    CK_RETURN_IF_ERROR(RecordStep(
        context, config_.name, "install",
        "write " + dir_.PathOf(file.name) + " (" + std::string(MaterialKindName(file.kind)) +
            ", " + OctalMode(file.mode) + ")",
        fs::WriteFileAt(dir_, file.name, file.content, options)));
    CrashPoint("deploy.file-installed");
  }
  CrashPoint("deploy.installed");
  return Reload(context, "reload");
}

Status FilesTarget::Restore(const Previous& previous) {
  switch (previous.kind) {
    case Previous::Kind::kFile:
      return fs::WriteFileAt(dir_, previous.name, previous.content,
                             fs::WriteOptions{.mode = previous.mode,
                                              .owner = previous.uid,
                                              .group = previous.gid});
    case Previous::Kind::kSymlink:
      return fs::SymlinkAt(dir_, previous.content, previous.name);
    case Previous::Kind::kAbsent:
      CK_RETURN_IF_ERROR(fs::UnlinkAt(dir_, previous.name));
      return fs::SyncDirAt(dir_);
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
