// A lookup from a name to the position of the item that has it, for the
// indexes a run builds over thousands of certificates: one sorted vector of
// views, not a tree node (and an allocation) per name.
#ifndef CERTKEEPER_LIFECYCLE_NAME_INDEX_H_
#define CERTKEEPER_LIFECYCLE_NAME_INDEX_H_

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace certkeeper::lifecycle {

class NameIndex {
 public:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  NameIndex() = default;
  // Indexes items[i] under name_of(items[i]). The names are views into the
  // items: they MUST outlive the index and stay where they are. Input already
  // in name order (the inventory's rows) is not sorted again.
  template <typename Items, typename NameOf>
  NameIndex(const Items& items, NameOf name_of) {
    entries_.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      entries_.emplace_back(std::string_view(name_of(items[i])), i);
    }
    auto by_name = [](const Entry& a, const Entry& b) { return a.first < b.first; };
    // Stable: of several items with one name, the first stays first.
    if (!std::is_sorted(entries_.begin(), entries_.end(), by_name)) {
      std::stable_sort(entries_.begin(), entries_.end(), by_name);
    }
  }

  // The position of the first item named `name`, or kNone.
  size_t Find(std::string_view name) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                               [](const Entry& e, std::string_view n) { return e.first < n; });
    return it != entries_.end() && it->first == name ? it->second : kNone;
  }

 private:
  using Entry = std::pair<std::string_view, size_t>;
  std::vector<Entry> entries_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_NAME_INDEX_H_
