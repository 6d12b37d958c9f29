// Runs a certkeeper command line in-process through cli::Main and captures
// what it prints, for the CLI unit tests.
#ifndef CERTKEEPER_TESTS_UNIT_CLI_RUN_MAIN_H_
#define CERTKEEPER_TESTS_UNIT_CLI_RUN_MAIN_H_

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/app.h"

namespace certkeeper::cli::testing {

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

// argv[0] is "certkeeper"; `args` follow it.
inline Ran RunMain(std::vector<std::string> args) {
  args.insert(args.begin(), "certkeeper");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Ran r;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  try {
    r.code = Main(static_cast<int>(args.size()), argv.data());
  } catch (...) {
    // Restore the streams so that the failure is reported, then fail.
    r.out = ::testing::internal::GetCapturedStdout();
    r.err = ::testing::internal::GetCapturedStderr();
    throw;
  }
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  return r;
}

}  // namespace certkeeper::cli::testing

#endif  // CERTKEEPER_TESTS_UNIT_CLI_RUN_MAIN_H_
