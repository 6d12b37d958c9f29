#include "lifecycle/state_layout.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "base/dirfd.h"
#include "base/encoding.h"
#include "base/fault_injection.h"
#include "base/fs.h"

namespace certkeeper::lifecycle {

namespace {
constexpr const char* kFiles[] = {"privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"};

// ".<n>.tmp": the directory WriteVersion fills before renaming it to <n>.
bool IsVersionTempDir(const std::string& name) {
  constexpr std::string_view kSuffix = ".tmp";
  if (name.size() < 1 + 1 + kSuffix.size() || name.front() != '.') return false;
  if (name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) return false;
  std::string_view digits(name.data() + 1, name.size() - 1 - kSuffix.size());
  return std::all_of(digits.begin(), digits.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// Removes a half-written version directory: its files (WriteNewFile names,
// nothing below them), then the directory. Entries are unlinked through the
// directory's fd; a symlink is removed, never followed.
Status RemoveVersionTempDir(const fs::Dir& archive, const std::string& name) {
  CK_ASSIGN_OR_RETURN(fs::Dir tmp, fs::OpenDirectoryAt(archive, name));
  CK_ASSIGN_OR_RETURN(std::vector<std::string> entries, fs::ListNamesAt(tmp));
  for (const std::string& entry : entries) CK_RETURN_IF_ERROR(fs::UnlinkAt(tmp, entry));
  tmp.Close();
  return fs::RemoveDirAt(archive, name);
}

// The temporary files in each subdirectory of parent (accounts/<ca-id>,
// archive/<name>), and in archive/<name> the half-written version directories.
// Subdirectories whose entries did not change since `unchanged_before` (their
// mtime is older) hold no leftover a scan did not see: they are not opened.
Result<int> RemoveLeftoversBelow(const fs::Dir& parent, bool versions,
                                 const std::optional<timespec>& unchanged_before) {
  CK_ASSIGN_OR_RETURN(std::vector<std::string> subdirs, fs::ListNamesAt(parent));
  int removed = 0;
  for (const std::string& sub : subdirs) {
    struct stat st;
    if (fstatat(parent.fd(), sub.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode)) {
      continue;
    }
    if (unchanged_before && st.st_mtim.tv_sec < unchanged_before->tv_sec) continue;
    CK_ASSIGN_OR_RETURN(fs::Dir dir, fs::OpenDirectoryAt(parent, sub));
    CK_ASSIGN_OR_RETURN(int n, fs::RemoveStaleTempsAt(dir, {}));
    removed += n;
    if (!versions) continue;
    CK_ASSIGN_OR_RETURN(std::vector<std::string> entries, fs::ListNamesAt(dir));
    for (const std::string& entry : entries) {
      if (!IsVersionTempDir(entry)) continue;
      if (fstatat(dir.fd(), entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISDIR(st.st_mode)) {
        continue;
      }
      CK_RETURN_IF_ERROR(RemoveVersionTempDir(dir, entry));
      ++removed;
    }
  }
  return removed;
}

// Where a complete scan records when it started (its mtime), so that the next
// one opens only the directories changed since (docs/crash-leftovers.md).
constexpr const char* kLeftoversScanned = ".leftovers-scanned";

// Directories changed before this were seen by the previous complete scan:
// its start time, less a margin for coarse file times; none when there was no
// complete scan or the clock now reads earlier than it (the clock was set
// back: every directory is looked at).
std::optional<timespec> UnchangedBefore(const fs::Dir& root) {
  struct stat st;
  if (fstatat(root.fd(), kLeftoversScanned, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  if (st.st_mtim.tv_sec > now.tv_sec) return std::nullopt;
  timespec before = st.st_mtim;
  before.tv_sec -= 2;
  return before;
}

// Records that a complete scan started at `started`. Best effort: without the
// record the next scan looks at every directory again, so a record whose time
// could not be set is removed rather than left saying "now".
void RecordScanBestEffort(const fs::Dir& root, const timespec& started) {
  int fd = openat(root.fd(), kLeftoversScanned, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                  0600);
  if (fd < 0) return;
  const timespec times[2] = {started, started};
  const bool recorded = futimens(fd, times) == 0;
  close(fd);
  if (!recorded) unlinkat(root.fd(), kLeftoversScanned, 0);
}

}  // namespace

Result<int> StateLayout::RemoveLeftovers(bool scan_archive) const {
  CK_ASSIGN_OR_RETURN(fs::Dir root, fs::OpenDirectory(root_));
  timespec started{};
  clock_gettime(CLOCK_REALTIME, &started);
  const std::optional<timespec> unchanged_before = UnchangedBefore(root);
  int removed = 0;
  CK_ASSIGN_OR_RETURN(fs::Dir live, fs::OpenDirectoryAt(root, "live"));
  CK_ASSIGN_OR_RETURN(int n, fs::RemoveStaleTempsAt(live, {}));
  removed += n;
  CK_ASSIGN_OR_RETURN(fs::Dir accounts, fs::OpenDirectoryAt(root, "accounts"));
  CK_ASSIGN_OR_RETURN(n, RemoveLeftoversBelow(accounts, /*versions=*/false, unchanged_before));
  removed += n;
  if (scan_archive) {
    CK_ASSIGN_OR_RETURN(fs::Dir archive, fs::OpenDirectoryAt(root, "archive"));
    CK_ASSIGN_OR_RETURN(n, RemoveLeftoversBelow(archive, /*versions=*/true, unchanged_before));
    removed += n;
  }
  // keys/ is created by Prepare; a state directory prepared by an older
  // version has none until a key is staged.
  auto keys = fs::OpenDirectoryAt(root, "keys");
  if (!keys.ok() && keys.status().code() != ErrorCode::kNotFound) return keys.status();
  if (keys.ok()) {
    CK_ASSIGN_OR_RETURN(n, RemoveLeftoversBelow(*keys, /*versions=*/false, unchanged_before));
    removed += n;
  }
  // (Without archive/ the scan was not complete: the next complete one looks
  // at what changed since the last complete one.)
  if (scan_archive) RecordScanBestEffort(root, started);
  return removed;
}

Status StateLayout::Prepare() const {
  CK_RETURN_IF_ERROR(fs::MakeDirs(root_, 0700));
  CK_RETURN_IF_ERROR(fs::MakeDirs(root_ + "/accounts", 0700));
  CK_RETURN_IF_ERROR(fs::MakeDirs(root_ + "/archive", 0700));
  CK_RETURN_IF_ERROR(fs::MakeDirs(root_ + "/keys", 0700));
  CK_RETURN_IF_ERROR(fs::MakeDirs(root_ + "/live", 0755));
  if (access(root_.c_str(), W_OK) != 0) {
    return Status(ErrorCode::kPermissionDenied, "state directory is not writable")
        .Where(root_)
        .Hint("run as the user that owns it, or choose another with --state-dir");
  }
  return Status::Ok();
}

std::string StateLayout::CaId(std::string_view directory_url) {
  std::string_view rest = directory_url;
  size_t scheme = rest.find("://");
  if (scheme != std::string_view::npos) rest.remove_prefix(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  std::string host;
  for (char c : rest) {
    host += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  }
  if (host.empty()) host = "ca";
  return host + "-" + HexEncode(Sha256(directory_url)).substr(0, 8);
}

std::string StateLayout::AccountKeyPath(std::string_view directory_url) const {
  return root_ + "/accounts/" + CaId(directory_url) + "/account.key";
}

std::string StateLayout::ArchiveDir(std::string_view name) const {
  return root_ + "/archive/" + std::string(name);
}

std::string StateLayout::VersionDir(std::string_view name, int n) const {
  return ArchiveDir(name) + "/" + std::to_string(n);
}

std::string StateLayout::LiveDir(std::string_view name) const {
  return root_ + "/live/" + std::string(name);
}

std::string StateLayout::PendingKeyPath(std::string_view name) const {
  return ArchiveDir(name) + "/pending.key";
}

std::string StateLayout::KeysDir(std::string_view name) const {
  return root_ + "/keys/" + std::string(name);
}

std::string StateLayout::NextKeyPath(std::string_view name) const {
  return KeysDir(name) + "/next.pem";
}

Status StateLayout::WriteVersion(std::string_view name, int n, const VersionFiles& files) const {
  CK_RETURN_IF_ERROR(BeginChange());
  std::string archive = ArchiveDir(name);
  CK_RETURN_IF_ERROR(fs::MakeDirs(archive, 0700));
  std::string final_dir = VersionDir(name, n);
  std::string tmp_dir = archive + "/." + std::to_string(n) + ".tmp";
  CK_RETURN_IF_ERROR(fs::RemoveAll(tmp_dir));
  CK_RETURN_IF_ERROR(fs::MakeDirs(tmp_dir, 0700));
  const std::string contents[] = {files.key_pem, files.cert_pem, files.chain_pem,
                                  files.fullchain_pem()};
  // The directory is fresh and private until the rename below, so each file is
  // written in place (no per-file rename), all four synced together; one
  // directory fsync then makes all four entries durable before the directory
  // is published.
  std::vector<fs::NewFile> new_files;
  for (int i = 0; i < 4; ++i) new_files.push_back({kFiles[i], contents[i], i == 0 ? 0600u : 0644u});
  CK_RETURN_IF_ERROR(fs::WriteNewFiles(tmp_dir, new_files));
  CK_RETURN_IF_ERROR(fs::SyncDir(tmp_dir));
  // A directory left by a run that died before recording this version is not
  // known to the inventory: replace it.
  if (fs::Exists(final_dir)) CK_RETURN_IF_ERROR(fs::RemoveAll(final_dir));
  if (fs::Rename(tmp_dir, final_dir) != 0) {
    return Status(ErrorCode::kIo, std::string("cannot rename version directory: ") +
                                      strerror(errno))
        .Where(final_dir);
  }
  return fs::SyncDir(archive);
}

Result<VersionFiles> StateLayout::ReadVersion(std::string_view name, int n) const {
  std::string dir = VersionDir(name, n);
  VersionFiles files;
  CK_ASSIGN_OR_RETURN(files.key_pem, fs::ReadFile(dir + "/privkey.pem"));
  CK_ASSIGN_OR_RETURN(files.cert_pem, fs::ReadFile(dir + "/cert.pem"));
  CK_ASSIGN_OR_RETURN(files.chain_pem, fs::ReadFile(dir + "/chain.pem"));
  return files;
}

Status StateLayout::SwitchLive(std::string_view name, int n) const {
  CK_RETURN_IF_ERROR(BeginChange());
  CK_RETURN_IF_ERROR(fs::MakeDirs(root_ + "/live", 0755));
  std::string target = "../archive/" + std::string(name) + "/" + std::to_string(n);
  return fs::ReplaceSymlink(target, LiveDir(name));
}

namespace {

// The version number a live/<name> symlink's target ends in; 0 for none.
int VersionOfLink(int dirfd, const char* path) {
  char buf[PATH_MAX];
  ssize_t len = readlinkat(dirfd, path, buf, sizeof(buf) - 1);
  if (len <= 0) return 0;
  std::string target(buf, static_cast<size_t>(len));
  size_t slash = target.find_last_of('/');
  return std::atoi(target.c_str() + (slash == std::string::npos ? 0 : slash + 1));
}

}  // namespace

int StateLayout::LiveVersionNumber(std::string_view name) const {
  return VersionOfLink(AT_FDCWD, LiveDir(name).c_str());
}

int StateLayout::LiveVersionNumber(const fs::Dir& live, std::string_view name) const {
  return VersionOfLink(live.fd(), std::string(name).c_str());
}

Result<fs::Dir> StateLayout::OpenLiveDir() const { return fs::OpenDirectory(root_ + "/live"); }

Result<fs::Dir> StateLayout::OpenArchiveDir() const {
  return fs::OpenDirectory(root_ + "/archive");
}

Status StateLayout::RecordDeployIntent(std::string_view name, int n) const {
  CK_RETURN_IF_ERROR(BeginChange());
  CK_RETURN_IF_ERROR(fs::MakeDirs(ArchiveDir(name), 0700));
  return fs::WritePrivateFile(ArchiveDir(name) + "/deploying", std::to_string(n) + "\n");
}

Result<int> StateLayout::DeployIntent(std::string_view name) const {
  std::string path = ArchiveDir(name) + "/deploying";
  // Nearly always absent: a run over 10,000 certificates asks 10,000 times,
  // and the error Status of a failed read would cost more than the open.
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 && errno == ENOENT) return 0;
  Result<std::string> text = fs::ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == ErrorCode::kNotFound) return 0;
    return text.status();
  }
  char* end = nullptr;
  long n = std::strtol(text->c_str(), &end, 10);
  if (n <= 0 || n > INT_MAX || end == text->c_str() || (*end != '\n' && *end != '\0')) {
    return Status(ErrorCode::kIo, "the deploy intent does not hold a version number")
        .Where(path)
        .Hint("remove it; the next deploy then keeps what the targets hold for a rollback");
  }
  return static_cast<int>(n);
}

Result<int> StateLayout::DeployIntent(const fs::Dir& archive, std::string_view name) const {
  struct stat st;
  const std::string relative = std::string(name) + "/deploying";
  if (fstatat(archive.fd(), relative.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
    return 0;
  }
  return DeployIntent(name);  // there (or unknown): read as always
}

Status StateLayout::ClearDeployIntent(std::string_view name) const {
  CK_RETURN_IF_ERROR(BeginChange());
  std::string path = ArchiveDir(name) + "/deploying";
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status(ErrorCode::kIo, std::string("cannot remove the deploy intent: ") +
                                      strerror(errno))
        .Where(path);
  }
  return fs::SyncDir(ArchiveDir(name));
}

}  // namespace certkeeper::lifecycle
