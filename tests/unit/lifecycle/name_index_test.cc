// The per-run name index answers as the maps it replaced did: every name is
// found at its item, a missing name is not, and of two items with one name the
// first wins, whatever order the items came in.
#include "lifecycle/name_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace certkeeper::lifecycle {
namespace {

struct Row {
  const char* name;
  std::vector<std::string> items;
  std::vector<std::pair<const char*, size_t>> finds;  // name, expected position
};

TEST(NameIndexTest, FindsWhatAMapWould) {
  const size_t none = NameIndex::kNone;
  const Row rows[] = {
      {"empty", {}, {{"a", none}, {"", none}}},
      {"one", {"a"}, {{"a", 0}, {"b", none}, {"", none}}},
      {"in name order", {"a", "b", "c"}, {{"a", 0}, {"b", 1}, {"c", 2}, {"bb", none}}},
      {"unsorted", {"c", "a", "b"}, {{"a", 1}, {"b", 2}, {"c", 0}, {"d", none}}},
      {"duplicate: first wins", {"b", "a", "b", "a"}, {{"a", 1}, {"b", 0}}},
      {"prefixes", {"ab", "a", "abc"}, {{"a", 1}, {"ab", 0}, {"abc", 2}, {"abcd", none}}},
      {"byte order, not case", {"b", "B", "a"}, {{"B", 1}, {"b", 0}, {"A", none}}},
  };
  for (const Row& row : rows) {
    NameIndex index(row.items, [](const std::string& s) -> const std::string& { return s; });
    for (const auto& [name, want] : row.finds) {
      EXPECT_EQ(index.Find(name), want) << row.name << ": " << name;
    }
  }
}

TEST(NameIndexTest, ManyNamesAllFound) {
  std::vector<std::string> names;
  for (int i = 9999; i >= 0; --i) names.push_back("c" + std::to_string(i * 7919 % 10000));
  NameIndex index(names, [](const std::string& s) -> const std::string& { return s; });
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(index.Find(names[i]), i) << names[i];
  EXPECT_EQ(index.Find("c10000"), NameIndex::kNone);
}

}  // namespace
}  // namespace certkeeper::lifecycle
