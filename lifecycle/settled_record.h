// STATE/.settled: what the last run that changed nothing under live/ and
// archive/ found there, so that the next run can skip the checks whose answer
// cannot have changed since (docs/crash-leftovers.md, "Runs that change
// nothing").
//
// A run that holds the run lock and finds, for every certificate, live/<name>
// pointing at the inventory's live version, no deploy intent, and no leftover
// of an interrupted write, records at its end, if it changed nothing itself:
//  - live/'s identity and times (dev, inode, modification and change time),
//    taken before it read a single link;
//  - a digest of every (certificate, recorded live version) pair.
// The next run takes (reads and removes) the record before anything else. If
// live/ still has the same identity and times and the inventory the same live
// versions, nothing has been linked, unlinked or renamed in live/ since (every
// such change updates the directory's times) and the inventory's side is the
// same, so live/ and the inventory still agree: the per-certificate readlink,
// deploy intent and leftover checks are skipped.
// Every change under live/ and archive/ goes through StateLayout::BeginChange,
// which removes the record (durably) first; a run that is killed has already
// taken it. Times are trusted only once the file system's clock has moved past
// them (StateLayout::StampLive), so a change made in the same clock tick as the
// stamp cannot keep them.
#ifndef CERTKEEPER_LIFECYCLE_SETTLED_RECORD_H_
#define CERTKEEPER_LIFECYCLE_SETTLED_RECORD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "store/version_store.h"

namespace certkeeper::lifecycle {

// A directory's identity and times, nanoseconds since the epoch.
struct DirStamp {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const DirStamp&) const = default;
};

struct SettledRecord {
  DirStamp live;
  std::string digest;  // LiveVersionsDigest, 64 hex digits
  bool operator==(const SettledRecord&) const = default;
};

// SHA-256 over every (name, live version number or 0) pair, in name order.
std::string LiveVersionsDigest(const std::map<std::string, store::CurrentVersions>& all);

// One line: "certkeeper-settled 1 <dev> <ino> <mtime_ns> <ctime_ns> <digest>\n".
std::string FormatSettledRecord(const SettledRecord& record);
// nullopt for anything but exactly that line (a torn or foreign file).
std::optional<SettledRecord> ParseSettledRecord(std::string_view text);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_SETTLED_RECORD_H_
