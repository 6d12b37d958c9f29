// An atomic private-file write without the syncs of WriteFileAtomic
// (base/fs.h), for a file whose loss the reader detects and recovers from.
#ifndef CERTKEEPER_BASE_FS_UNSYNCED_H_
#define CERTKEEPER_BASE_FS_UNSYNCED_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace certkeeper::fs {

// WritePrivateFile (mode 0600 before the first byte, a temporary name,
// O_EXCL|O_NOFOLLOW, rename over path) without fsync of the file or of its
// directory. Every reader, and a process killed at any point, sees the old
// content or the new, never a mix; after a power loss or an OS crash the path
// may hold the old content, nothing, or an empty or partial file. Only for
// files whose loss is detected and repaired: the key of a pending order,
// which is then replaced by a new key and a new order
// (docs/crash-leftovers.md, "What is synced, and when").
Status WritePrivateFileUnsynced(const std::string& path, std::string_view data);

}  // namespace certkeeper::fs

#endif  // CERTKEEPER_BASE_FS_UNSYNCED_H_
