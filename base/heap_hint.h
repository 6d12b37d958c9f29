// Process-wide memory advice for a command that reads a whole inventory.
#ifndef CERTKEEPER_BASE_HEAP_HINT_H_
#define CERTKEEPER_BASE_HEAP_HINT_H_

#include <cstddef>

namespace certkeeper {

// What ReserveHugePageHeap did: the heap range it advised, empty when it
// advised none.
struct HeapHint {
  void* begin = nullptr;
  void* end = nullptr;
  size_t size() const {
    return static_cast<size_t>(static_cast<char*>(end) - static_cast<char*>(begin));
  }
};

// Grows the main heap by about `bytes` of address space now and advises
// transparent huge pages for it (madvise MADV_HUGEPAGE). Nothing is touched,
// so nothing is resident until used; used, the heap faults in 2 MB at a time
// instead of 4 KB (a run over 10,000 certificates touches about 40 MB:
// 10,000 page faults become about 20).
//
// For the owner of a process that is about to allocate tens of MB and then
// exit (a CLI command over the whole inventory): it keeps what it frees
// (M_TRIM_THRESHOLD) and the advice outlives the call. Below 8 MB, where the
// kernel has no huge pages for the heap (transparent_hugepage "never"), when
// the heap cannot grow, or called again, it does nothing. Never fails.
HeapHint ReserveHugePageHeap(size_t bytes);

// The whole 2 MB pages of [begin, end): what ReserveHugePageHeap advises of
// a heap that grew from `begin` to `end`. Empty when there is none.
HeapHint WholeHugePages(const void* begin, const void* end);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_HEAP_HINT_H_
