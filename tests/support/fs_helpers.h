// File-system helpers the unit tests share: listing and inspecting a directory,
// reading a file for comparison, and planting entries owned by another user (the
// hostile-directory tests).
#ifndef CERTKEEPER_TESTS_SUPPORT_FS_HELPERS_H_
#define CERTKEEPER_TESTS_SUPPORT_FS_HELPERS_H_

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"

namespace certkeeper::test_fs {

// "nobody": the other local user that owns what a hostile test plants. Only root
// can chown to it; those tests skip otherwise.
constexpr uid_t kNobody = 65534;

// The names in `dir` (without "." and "..").
inline std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// lstat() of `path`; a failure is recorded and a zeroed stat returned.
inline struct stat LstatOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st;
}

// The content of `path`, or "<error>" so that a comparison names the failure.
inline std::string ReadOrError(const std::string& path) {
  auto content = fs::ReadFile(path);
  return content.ok() ? *content : "<" + content.status().ToString() + ">";
}

// A symlink `link` -> `target`; with `foreign` and when running as root, owned
// by kNobody.
inline void PlantSymlink(const std::string& target, const std::string& link, bool foreign) {
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0) << link;
  if (foreign && geteuid() == 0) {
    ASSERT_EQ(lchown(link.c_str(), kNobody, kNobody), 0);
  }
}

}  // namespace certkeeper::test_fs

#endif  // CERTKEEPER_TESTS_SUPPORT_FS_HELPERS_H_
