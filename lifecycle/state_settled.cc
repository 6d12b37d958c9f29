// The settled record's file (settled_record.h): taken at the start of a run,
// removed before the first change, written at the end of a run that changed
// nothing.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/fs.h"
#include "lifecycle/state_layout.h"

namespace certkeeper::lifecycle {

namespace {

constexpr const char* kSettled = "/.settled";
constexpr const char* kSettledTemp = "/.settled.tmp";

int64_t Nanos(const timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

}  // namespace

Status StateLayout::BeginChange() const {
  std::lock_guard<std::mutex> lock(mark_->mu);
  if (mark_->synced || (mark_->changed && !mark_->took_record)) return Status::Ok();
  mark_->changed = true;
  const bool removed = unlink((root_ + kSettled).c_str()) == 0;
  if (!removed && !mark_->took_record) return Status::Ok();
  // The record must not outlive, on disk, the change it would hide.
  CK_RETURN_IF_ERROR(fs::SyncDir(root_).Annotate("remove the settled record"));
  mark_->synced = true;
  return Status::Ok();
}

bool StateLayout::changed() const {
  std::lock_guard<std::mutex> lock(mark_->mu);
  return mark_->changed;
}

std::optional<SettledRecord> StateLayout::TakeSettled() const {
  const std::string path = root_ + kSettled;
  struct stat st;
  Result<std::string> text = fs::ReadFile(path, &st);
  if (!text.ok()) return std::nullopt;
  {
    std::lock_guard<std::mutex> lock(mark_->mu);
    if (unlink(path.c_str()) != 0) return std::nullopt;
    mark_->took_record = true;
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) return std::nullopt;
  return ParseSettledRecord(*text);
}

std::optional<DirStamp> StateLayout::StampLive() const {
  struct stat live;
  if (lstat((root_ + "/live").c_str(), &live) != 0 || !S_ISDIR(live.st_mode)) return std::nullopt;
  // The file system's clock now: the change time of a file created now, by
  // the same clock and at the same granularity as live/'s times.
  const std::string probe_path = root_ + kSettledTemp;
  unlink(probe_path.c_str());
  int fd = open(probe_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return std::nullopt;
  struct stat probe;
  const bool stamped = fstat(fd, &probe) == 0;
  close(fd);
  if (!stamped || Nanos(probe.st_ctim) <= Nanos(live.st_ctim) ||
      Nanos(probe.st_ctim) <= Nanos(live.st_mtim)) {
    return std::nullopt;
  }
  return DirStamp{static_cast<uint64_t>(live.st_dev), static_cast<uint64_t>(live.st_ino),
                  Nanos(live.st_mtim), Nanos(live.st_ctim)};
}

void StateLayout::RecordSettledBestEffort(const SettledRecord& record) const {
  const std::string temp = root_ + kSettledTemp;
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const std::string text = FormatSettledRecord(record);
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  std::lock_guard<std::mutex> lock(mark_->mu);
  // (A change since the run's start, in this process, voids the record.)
  if (!written || mark_->changed || rename(temp.c_str(), (root_ + kSettled).c_str()) != 0) {
    unlink(temp.c_str());
  }
}

}  // namespace certkeeper::lifecycle
