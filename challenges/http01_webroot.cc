#include "challenges/http01_webroot.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "base/dirfd.h"
#include "base/fs.h"
#include "base/log.h"
#include "challenges/self_check.h"

namespace certkeeper::challenges {

namespace {

constexpr mode_t kDirMode = 0755;
constexpr mode_t kFileMode = 0644;
// A token file older than this cannot belong to a validation still running:
// the engine gives up on an authorization long before (and a CA's validation
// takes seconds). Younger files are left, they may be another run's.
constexpr time_t kStaleTokenAge = 60 * 60;
// RFC 8555 §8.1: a token has at least 128 bits of entropy, so at least 22
// base64url characters; no CA sends more than a few dozen.
constexpr size_t kMinTokenLength = 22;
constexpr size_t kMaxTokenLength = 256;

bool LooksLikeToken(std::string_view name) {
  if (name.size() < kMinTokenLength || name.size() > kMaxTokenLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
  });
}

// A token file a killed run left: ours (owned by the effective user, a regular
// file, not followed), old, and either a temporary name of a token (a write
// cut short) or a token whose content is that token's key authorization
// ("<token>.<thumbprint>", RFC 8555 §8.3), which no other file in
// acme-challenge/ has.
bool IsStaleTokenFile(const fs::Dir& dir, const std::string& name, time_t now) {
  std::string target = fs::TempNameTarget(name);
  bool temp = !target.empty() && target.front() == '.' && LooksLikeToken(target.substr(1));
  if (!temp && !LooksLikeToken(name)) return false;
  // A cheap look first, so a large file of someone else's is never read.
  struct stat st;
  if (fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_size > 4096) return false;
  Result<fs::Entry> entry = fs::ReadEntryAt(dir, name);
  if (!entry.ok() || entry->type != fs::Entry::Type::kFile) return false;
  if (entry->st.st_uid != geteuid()) return false;
  if (entry->st.st_mtime > now - kStaleTokenAge) return false;
  return temp || entry->content.rfind(name + ".", 0) == 0;
}


Status Errno(std::string what, const std::string& path, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == EACCES || err == EPERM || err == EROFS) code = ErrorCode::kPermissionDenied;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  return Status(code, "http-01 webroot: " + std::move(what) + ": " + strerror(err))
      .Where(path);
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

Result<fs::Dir> Http01WebrootSolver::OpenWebroot() const {
  Result<fs::Dir> root = fs::OpenDirectory(webroot_);
  if (!root.ok()) {
    Status s = std::move(root).status().Annotate("http-01 webroot");
    if (s.code() == ErrorCode::kNotFound) {
      s.Hint("create the web server's document root or fix the webroot setting in "
             "[solvers.http-01]");
    } else if (s.code() == ErrorCode::kFailedPrecondition) {
      s.Hint("webroot must be the web server's document root directory");
    }
    return s;
  }
  return root;
}

Status Http01WebrootSolver::SelfCheck(const std::vector<ChallengeTask>& tasks) {
  for (const ChallengeTask& task : tasks) CK_RETURN_IF_ERROR(ValidateTask(task, kHttp01));
  CK_ASSIGN_OR_RETURN(fs::Dir root, OpenWebroot());
  if (faccessat(root.fd(), ".", W_OK | X_OK, 0) != 0) {
    return Errno("the webroot is not writable", webroot_, errno)
        .Hint("run as a user that may write to the document root");
  }
  notes_.push_back({"", "http-01 webroot " + webroot_ + " is a writable directory"});
  return Status::Ok();
}

Result<fs::Dir> Http01WebrootSolver::EnsureDirectory(const fs::Dir& parent,
                                                     const std::string& name,
                                                     bool* created) {
  *created = false;
  // An existing name: a directory, or a trusted symlink (fs::TrustedSymlink).
  Result<fs::Dir> dir = fs::OpenDirectoryAt(parent, name);
  if (!dir.ok() && dir.status().code() == ErrorCode::kNotFound) {
    // mkdirat + O_NOFOLLOW open + owner check + fchmod on the new fd; a
    // symlink planted right after the open above is refused there.
    dir = fs::MakeDirAt(parent, name, kDirMode, created);
  }
  if (!dir.ok()) {
    Status s = std::move(dir).status().Annotate("http-01 webroot");
    if (s.hint().empty() || s.code() == ErrorCode::kFailedPrecondition) {
      s.Hint("token files are written only into real directories below the webroot: "
             "remove or rename " + parent.PathOf(name) +
             " (or let root create it as a directory)");
    }
    return s;
  }
  if (*created) return dir;
  CK_ASSIGN_OR_RETURN(bool inside, fs::IsBeneath(*dir, root_));
  if (!inside) {
    return Status(ErrorCode::kPermissionDenied,
                  "http-01 webroot: " + name + " leads outside the webroot " + webroot_)
        .Where(parent.PathOf(name))
        .Hint("token files are only written inside the webroot: replace the symlink "
              "by a directory, or set webroot to the directory the web server serves");
  }
  return dir;
}

Status Http01WebrootSolver::OpenChallengeDirectory() {
  if (challenge_.is_open()) return Status::Ok();
  CK_ASSIGN_OR_RETURN(root_, OpenWebroot());
  CK_ASSIGN_OR_RETURN(well_known_, EnsureDirectory(root_, ".well-known", &created_well_known_));
  CK_ASSIGN_OR_RETURN(challenge_,
                      EnsureDirectory(well_known_, "acme-challenge", &created_challenge_));
  if (!created_challenge_) RemoveStaleTokenFiles();
  return Status::Ok();
}

void Http01WebrootSolver::RemoveStaleTokenFiles() {
  Result<std::vector<std::string>> names = fs::ListNamesAt(challenge_);
  if (!names.ok()) {
    log::Debug("http-01 webroot: old token files not looked for",
               {{"path", challenge_.path()}, {"reason", names.status().message()}});
    return;
  }
  const time_t now = time(nullptr);
  for (const std::string& name : *names) {
    if (!IsStaleTokenFile(challenge_, name, now)) continue;
    // unlinkat: a name swapped for a symlink or directory since the check is
    // not followed (and a directory is not removed).
    Status s = fs::UnlinkAt(challenge_, name);
    if (s.ok()) {
      log::Info("http-01 webroot: removed a token file left by an interrupted run",
                {{"path", challenge_.PathOf(name)}});
    } else {
      log::Debug("http-01 webroot: old token file left in place",
                 {{"path", challenge_.PathOf(name)}, {"reason", s.message()}});
    }
  }
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

  Status opened = OpenChallengeDirectory();
  if (!opened.ok()) return undo(std::move(opened));

  for (const ChallengeTask& task : tasks) {
    std::string path = challenge_.PathOf(task.token);
    fs::WriteOptions options;
    options.mode = kFileMode;
    Status s = fs::WriteFileAt(challenge_, task.token, task.key_authorization, options);
    if (!s.ok()) return undo(std::move(s).Annotate("http-01 webroot"));
    auto same = [&](const WrittenFile& f) { return f.token == task.token; };
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
    // Through the descriptor Present wrote with: whatever the path leads to now.
    Status s = fs::UnlinkAt(challenge_, file.token);
    if (!s.ok()) {
      if (first_error.ok()) first_error = std::move(s).Annotate("http-01 webroot");
      kept.push_back(std::move(file));
    }
  }
  written_ = std::move(kept);
  return first_error;
}

void Http01WebrootSolver::RemoveCreatedDirectories() {
  // Innermost first; a directory someone else put files into stays. rmdir by
  // name inside the parent's fd: a symlink swapped in is not followed.
  auto remove = [](const fs::Dir& parent, const char* name, bool& created) {
    if (!created || !parent.is_open()) return;
    Status s = fs::RemoveDirAt(parent, name);
    if (!s.ok() && s.code() != ErrorCode::kNotFound) {
      log::Debug("http-01 webroot: directory left in place",
                 {{"path", parent.PathOf(name)}, {"reason", s.message()}});
    }
    created = false;
  };
  challenge_.Close();
  remove(well_known_, "acme-challenge", created_challenge_);
  well_known_.Close();
  remove(root_, ".well-known", created_well_known_);
  root_.Close();
}

Status Http01WebrootSolver::CleanUp(const std::vector<ChallengeTask>& tasks) {
  std::vector<std::string> tokens;
  for (const ChallengeTask& task : tasks) tokens.push_back(task.token);
  Status s = RemoveFiles(tokens);
  if (written_.empty()) RemoveCreatedDirectories();
  return s;
}

}  // namespace certkeeper::challenges
