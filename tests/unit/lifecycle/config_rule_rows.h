// The table shape of the CheckConfig tests (config_check_test,
// config_check_store_test): a config with every rule satisfied, and rows that
// each break one rule and say what the refusal must read.
#ifndef CERTKEEPER_TESTS_UNIT_LIFECYCLE_CONFIG_RULE_ROWS_H_
#define CERTKEEPER_TESTS_UNIT_LIFECYCLE_CONFIG_RULE_ROWS_H_

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "lifecycle/config_check.h"

namespace certkeeper::lifecycle {

struct BrokenRule {
  const char* meaning;
  std::function<void(Config&)> breaks;
  const char* expected;  // substring of the message
  const char* hint;      // substring of the hint; "" when not checked
};

// For each row: CheckConfig of valid() with the row's rule broken fails with
// kInvalidArgument, its message holding row.expected and its hint row.hint.
inline void ExpectEachRowRefused(const std::function<Config()>& valid,
                                 const std::vector<BrokenRule>& rows) {
  for (const BrokenRule& row : rows) {
    Config config = valid();
    row.breaks(config);
    Status s = CheckConfig(config);
    ASSERT_FALSE(s.ok()) << row.meaning;
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << row.meaning;
    EXPECT_NE(s.ToString().find(row.expected), std::string::npos)
        << row.meaning << ": " << s.ToString();
    EXPECT_NE(s.hint().find(row.hint), std::string::npos) << row.meaning << ": " << s.hint();
  }
}

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_TESTS_UNIT_LIFECYCLE_CONFIG_RULE_ROWS_H_
