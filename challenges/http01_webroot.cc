#include "challenges/http01_webroot.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "base/fs.h"
#include "base/log.h"
#include "challenges/self_check.h"

namespace certkeeper::challenges {

namespace {

constexpr mode_t kDirMode = 0755;
constexpr mode_t kFileMode = 0644;

Status Errno(std::string what, const std::string& path, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == EACCES || err == EPERM || err == EROFS) code = ErrorCode::kPermissionDenied;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  return Status(code, "http-01 webroot: " + std::move(what) + ": " + strerror(err))
      .Where(path);
}

Result<std::string> RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    return Errno("cannot resolve path", path, errno);
  }
  return std::string(buf);
}

bool IsInside(const std::string& root, const std::string& path) {
  if (path == root) return true;
  std::string prefix = root == "/" ? root : root + "/";
  return path.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

Result<std::unique_ptr<Http01WebrootSolver>> Http01WebrootSolver::Create(std::string webroot) {
  if (webroot.empty()) {
    return Status(ErrorCode::kInvalidArgument, "http-01 webroot: the webroot path is empty")
        .Hint("set webroot in [solvers.http-01] to the web server's document root");
  }
  return std::unique_ptr<Http01WebrootSolver>(new Http01WebrootSolver(std::move(webroot)));
}

std::vector<SolverNote> Http01WebrootSolver::TakeNotes() { return std::exchange(notes_, {}); }

Result<std::string> Http01WebrootSolver::CanonicalWebroot() const {
  Result<std::string> root = RealPath(webroot_);
  if (!root.ok()) {
    return root.status().Hint("create the web server's document root or fix the webroot "
                              "setting in [solvers.http-01]");
  }
  struct stat st;
  if (stat(root->c_str(), &st) != 0) return Errno("cannot stat", *root, errno);
  if (!S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kInvalidArgument, "http-01 webroot: not a directory")
        .Where(*root)
        .Hint("webroot must be the web server's document root directory");
  }
  return root;
}

Status Http01WebrootSolver::SelfCheck(const std::vector<ChallengeTask>& tasks) {
  for (const ChallengeTask& task : tasks) CK_RETURN_IF_ERROR(ValidateTask(task, kHttp01));
  CK_ASSIGN_OR_RETURN(std::string root, CanonicalWebroot());
  if (access(root.c_str(), W_OK | X_OK) != 0) {
    return Errno("the webroot is not writable", root, errno)
        .Hint("run as a user that may write to the document root");
  }
  notes_.push_back({"", "http-01 webroot " + root + " is a writable directory"});
  return Status::Ok();
}

Result<std::string> Http01WebrootSolver::EnsureDirectory(const std::string& root,
                                                         const std::string& parent,
                                                         const std::string& name) {
  std::string path = fs::JoinPath(parent, name);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Errno("cannot stat", path, errno);
    if (mkdir(path.c_str(), kDirMode) != 0) return Errno("cannot create directory", path, errno);
    created_dirs_.push_back(path);
    // mkdir honours the umask; the web server must be able to enter the directory.
    if (chmod(path.c_str(), kDirMode) != 0) return Errno("cannot chmod", path, errno);
    return path;
  }
  if (S_ISLNK(st.st_mode)) {
    CK_ASSIGN_OR_RETURN(std::string target, RealPath(path));
    if (!IsInside(root, target)) {
      return Status(ErrorCode::kPermissionDenied,
                    "http-01 webroot: " + name + " is a symlink to " + target +
                        ", outside the webroot " + root)
          .Where(path)
          .Hint("token files are only written inside the webroot: replace the symlink "
                "by a directory, or set webroot to the directory the web server serves");
    }
    if (stat(target.c_str(), &st) != 0) return Errno("cannot stat", target, errno);
    path = target;
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kFailedPrecondition,
                  "http-01 webroot: exists and is not a directory")
        .Where(path)
        .Hint("remove or rename it so that token files can be written below it");
  }
  return path;
}

Status Http01WebrootSolver::Present(const std::vector<ChallengeTask>& tasks) {
  for (const ChallengeTask& task : tasks) CK_RETURN_IF_ERROR(ValidateTask(task, kHttp01));
  const size_t written_before = written_.size();
  auto undo = [&](Status s) {
    std::vector<std::string> tokens;
    for (size_t i = written_before; i < written_.size(); ++i) tokens.push_back(written_[i].token);
    (void)RemoveFiles(tokens);
    if (written_.empty()) RemoveCreatedDirectories();
    return s;
  };

  Result<std::string> root = CanonicalWebroot();
  if (!root.ok()) return root.status();
  Result<std::string> well_known = EnsureDirectory(*root, *root, ".well-known");
  if (!well_known.ok()) return undo(well_known.status());
  Result<std::string> dir = EnsureDirectory(*root, *well_known, "acme-challenge");
  if (!dir.ok()) return undo(dir.status());

  for (const ChallengeTask& task : tasks) {
    std::string path = fs::JoinPath(*dir, task.token);
    fs::WriteOptions options;
    options.mode = kFileMode;
    Status s = fs::WriteFileAtomic(path, task.key_authorization, options);
    if (!s.ok()) return undo(std::move(s).Annotate("http-01 webroot"));
    auto same = [&](const WrittenFile& f) { return f.path == path; };
    if (std::find_if(written_.begin(), written_.end(), same) == written_.end()) {
      written_.push_back({task.token, path});
    }
    notes_.push_back({task.identifier, "http-01 token written to " + path});
    log::Info("http-01 token written", {{"identifier", task.identifier}, {"path", path}});
  }
  return Status::Ok();
}

Status Http01WebrootSolver::RemoveFiles(const std::vector<std::string>& tokens) {
  Status first_error;
  std::vector<WrittenFile> kept;
  for (WrittenFile& file : written_) {
    bool selected = std::find(tokens.begin(), tokens.end(), file.token) != tokens.end();
    if (!selected) {
      kept.push_back(std::move(file));
      continue;
    }
    if (unlink(file.path.c_str()) != 0 && errno != ENOENT) {
      if (first_error.ok()) first_error = Errno("cannot remove token file", file.path, errno);
      kept.push_back(std::move(file));
    }
  }
  written_ = std::move(kept);
  return first_error;
}

void Http01WebrootSolver::RemoveCreatedDirectories() {
  // Innermost first; a directory someone else put files into stays.
  while (!created_dirs_.empty()) {
    const std::string& dir = created_dirs_.back();
    if (rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      log::Debug("http-01 webroot: directory left in place",
                 {{"path", dir}, {"reason", strerror(errno)}});
    }
    created_dirs_.pop_back();
  }
}

Status Http01WebrootSolver::CleanUp(const std::vector<ChallengeTask>& tasks) {
  std::vector<std::string> tokens;
  for (const ChallengeTask& task : tasks) tokens.push_back(task.token);
  Status s = RemoveFiles(tokens);
  if (written_.empty()) RemoveCreatedDirectories();
  return s;
}

}  // namespace certkeeper::challenges
