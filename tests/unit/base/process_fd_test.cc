// RunProcess runs hooks for the life of the daemon: an error while it sets up
// the child's pipes must not leak the descriptors it already made, or a host
// that is short of descriptors runs out of them for good.
#include <dirent.h>
#include <sys/resource.h>

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "base/process.h"

namespace certkeeper {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

std::set<int> OpenFds() {
  std::set<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::stoi(e->d_name);
    if (fd != dirfd(d)) fds.insert(fd);
  }
  closedir(d);
  return fds;
}

TEST(RunProcessFds, FailedPipeSetupClosesThePipesAlreadyMade) {
  if (kSanitized) {
    // The sanitizer runtime itself opens pipes (to probe memory, to start its
    // symbolizer) and reports false errors when the descriptor table is full.
    GTEST_SKIP() << "needs a build without sanitizers";
  }
  const std::set<int> before = OpenFds();
  ASSERT_FALSE(before.empty());
  // RLIMIT_NOFILE bounds descriptor numbers: leave exactly two free numbers
  // below it, so that the first pipe2 succeeds and the second fails (EMFILE).
  int limit = 0;
  for (int free_numbers = 0; free_numbers < 2; ++limit) {
    if (before.count(limit) == 0) ++free_numbers;
  }
  rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  rlimit low = old_limit;
  low.rlim_cur = static_cast<rlim_t>(limit);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  ProcessSpec spec;
  spec.argv = {"/bin/true"};
  auto r = RunProcess(spec);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old_limit), 0);

  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("pipe: "), std::string::npos) << r.status().ToString();
  EXPECT_EQ(OpenFds(), before);
}

}  // namespace
}  // namespace certkeeper
