#include "base/heap_hint.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdlib>

namespace certkeeper {

namespace {

constexpr uintptr_t kHugePage = 2u << 20;  // x86-64 and arm64 with 4 KB pages
constexpr size_t kMinimum = 8u << 20;
// Large blocks come from the heap too (the advised part of it), not from
// mmaps of their own: the probe below among them.
constexpr int kMmapThreshold = 64 << 20;
constexpr size_t kProbe = 16u << 20;
constexpr size_t kMaxProbe = 60u << 20;  // below kMmapThreshold
constexpr size_t kDefaultTopPad = 128u << 10;  // glibc's M_TOP_PAD default

std::atomic<bool> g_done{false};

char* CurrentBreak() { return static_cast<char*>(sbrk(0)); }

}  // namespace

HeapHint ReserveHugePageHeap(size_t bytes) {
  HeapHint hint;
  if (bytes < kMinimum || g_done.exchange(true)) return hint;
  bytes = std::min<size_t>(bytes, size_t{1} << 30);
  char* before = CurrentBreak();
  if (before == reinterpret_cast<char*>(-1)) return hint;
  // glibc grows the main heap by the request plus M_TOP_PAD: one probe
  // larger than the free top of the heap makes it reserve `bytes` ahead.
  // What is freed is kept (M_TRIM_THRESHOLD), or the free below would give
  // the reserve straight back.
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TOP_PAD, static_cast<int>(bytes));
  // (keepcost: the free top of the main heap.)
  const size_t top = mallinfo2().keepcost;
  // Through a volatile pointer: the compiler may not elide the pair.
  void* volatile probe = malloc(std::min(std::max(kProbe, top + kHugePage), kMaxProbe));
  char* after = CurrentBreak();
  free(probe);
  mallopt(M_TOP_PAD, static_cast<int>(kDefaultTopPad));
  if (after == reinterpret_cast<char*>(-1) || after <= before) return hint;
  // Whole huge pages of what the heap grew by (the probe's own header sits
  // at its start, already touched: that page stays as it is).
  const HeapHint span = WholeHugePages(before, after);
  if (span.size() == 0 || madvise(span.begin, span.size(), MADV_HUGEPAGE) != 0) return hint;
  return span;
}

HeapHint WholeHugePages(const void* begin, const void* end) {
  const auto from = (reinterpret_cast<uintptr_t>(begin) + kHugePage - 1) & ~(kHugePage - 1);
  const auto to = reinterpret_cast<uintptr_t>(end) & ~(kHugePage - 1);
  HeapHint span;
  if (to <= from) return span;
  span.begin = reinterpret_cast<void*>(from);
  span.end = reinterpret_cast<void*>(to);
  return span;
}

}  // namespace certkeeper
