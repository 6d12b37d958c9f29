// The huge-page advice for a bulk run's heap (base/heap_hint.h): which part
// of a grown heap is advised, and that the advice is given once.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "base/heap_hint.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif

namespace certkeeper {
namespace {

constexpr uintptr_t kMb = 1u << 20;

const void* At(uintptr_t address) { return reinterpret_cast<const void*>(address); }
uintptr_t Address(const void* p) { return reinterpret_cast<uintptr_t>(p); }

TEST(WholeHugePages, KeepsOnlyTheAlignedTwoMegabytePagesInside) {
  struct Case {
    uintptr_t begin, end;
    uintptr_t want_begin, want_end;  // 0, 0: none
  };
  const Case cases[] = {
      {0x40000000, 0x40000000 + 8 * kMb, 0x40000000, 0x40000000 + 8 * kMb},  // aligned
      {0x40000000 + 4096, 0x40000000 + 8 * kMb, 0x40000000 + 2 * kMb, 0x40000000 + 8 * kMb},
      {0x40000000, 0x40000000 + 5 * kMb, 0x40000000, 0x40000000 + 4 * kMb},
      {0x40000000 + 1, 0x40000000 + 4 * kMb - 1, 0x40000000 + 2 * kMb, 0x40000000 + 2 * kMb},
      {0x40000000 + 1, 0x40000000 + 3 * kMb, 0, 0},  // no whole page inside
      {0x40000000 + 4 * kMb, 0x40000000, 0, 0},      // shrunk, not grown
  };
  for (const Case& c : cases) {
    const HeapHint span = WholeHugePages(At(c.begin), At(c.end));
    if (c.want_begin == c.want_end) {
      EXPECT_EQ(span.size(), 0u) << std::hex << c.begin << "-" << c.end;
      continue;
    }
    EXPECT_EQ(Address(span.begin), c.want_begin) << std::hex << c.begin << "-" << c.end;
    EXPECT_EQ(Address(span.end), c.want_end) << std::hex << c.begin << "-" << c.end;
  }
}

// The flags of the mapping that holds `p`, from /proc/self/smaps ("hg":
// MADV_HUGEPAGE).
[[maybe_unused]] std::string VmFlagsOf(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t from = 0, to = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> from >> dash >> to && dash == '-') {
      inside = Address(p) >= from && Address(p) < to;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

#if __has_feature(address_sanitizer) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerAllocator = true;
#else
constexpr bool kSanitizerAllocator = false;
#endif

TEST(ReserveHugePageHeap, AdvisesTheGrownHeapOnceAndSmallRequestsNever) {
  EXPECT_EQ(ReserveHugePageHeap(1 * kMb).size(), 0u);  // below the minimum: not spent
  const HeapHint hint = ReserveHugePageHeap(64 * kMb);
  if constexpr (kSanitizerAllocator) {
    // The sanitizer's allocator does not grow the heap by brk: nothing to advise.
    EXPECT_EQ(hint.size(), 0u);
  } else {
    ASSERT_GE(hint.size(), 32 * kMb);
    EXPECT_EQ(Address(hint.begin) % (2 * kMb), 0u);
    EXPECT_NE(VmFlagsOf(hint.begin).find(" hg"), std::string::npos) << VmFlagsOf(hint.begin);
  }
  EXPECT_EQ(ReserveHugePageHeap(64 * kMb).size(), 0u);  // once per process
}

}  // namespace
}  // namespace certkeeper
