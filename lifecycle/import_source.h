// Reading another ACME client's directory for `import --from` without trusting
// it: every file is read through SourceTree, which follows a symlink only when
// its target stays inside the tree (certbot's live/NAME/*.pem are symlinks into
// ../../archive/NAME/), reads regular files only, bounds every read, and never
// writes, so the source directory is left exactly as it was.
#ifndef CERTKEEPER_LIFECYCLE_IMPORT_SOURCE_H_
#define CERTKEEPER_LIFECYCLE_IMPORT_SOURCE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"

namespace certkeeper::lifecycle {

// The most bytes read from one source file: far above any PEM, JSON or
// renewal conf a client writes, far below what would hurt.
inline constexpr size_t kMaxSourceFile = 1 << 20;
// The most bytes of a client's account JSON (key, registration, metadata).
inline constexpr size_t kMaxSourceJson = 64 * 1024;

class SourceTree {
 public:
  // `dir` must be an existing directory; its canonical path becomes the root.
  static Result<SourceTree> Open(const std::string& dir);

  const std::string& root() const { return root_; }

  // The content of root/relative. kNotFound when it does not exist; an error
  // naming the path when it (or a symlink on the way) leads outside the root,
  // is not a regular file, or is larger than `max` bytes.
  Result<std::string> Read(const std::string& relative, size_t max = kMaxSourceFile) const;
  // The canonical path of root/relative (symlinks resolved) when it stays
  // inside the root; the same errors as Read otherwise.
  Result<std::string> Locate(const std::string& relative) const { return Resolve(relative); }
  bool IsDirectory(const std::string& relative) const;
  bool Exists(const std::string& relative) const;
  // The entry names of root/relative (a directory inside the root), sorted;
  // empty when it does not exist. Names are returned as stored: callers
  // validate them.
  Result<std::vector<std::string>> List(const std::string& relative) const;

 private:
  explicit SourceTree(std::string root) : root_(std::move(root)) {}
  // The canonical path of root/relative when it resolves inside the root.
  Result<std::string> Resolve(const std::string& relative) const;

  std::string root_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_IMPORT_SOURCE_H_
