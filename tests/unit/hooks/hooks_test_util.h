// Helpers the hooks unit tests share: running a generated remote script with
// the local POSIX shell, and the files target most tests deploy with.
#ifndef CERTKEEPER_TESTS_UNIT_HOOKS_HOOKS_TEST_UTIL_H_
#define CERTKEEPER_TESTS_UNIT_HOOKS_HOOKS_TEST_UTIL_H_

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "base/process.h"
#include "hooks/target_config.h"

namespace certkeeper::hooks::testing {

// Runs script with the system's POSIX shell, standing in for the remote side;
// a failure to run it at all is recorded and yields an empty result.
inline ProcessResult RunSh(const std::string& script, const std::string& stdin_data = {}) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.stdin_data = stdin_data;
  spec.timeout = std::chrono::milliseconds(10000);
  auto result = RunProcess(spec);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : ProcessResult{};
}

// The files target "local" into `directory`: fullchain.pem and privkey.pem,
// mode 0640.
inline TargetConfig LocalFilesTarget(const std::string& directory) {
  TargetConfig config;
  config.name = "local";
  config.type = TargetType::kFiles;
  config.directory = directory;
  config.mode = 0640;
  config.files = {{MaterialKind::kFullchain, "fullchain.pem"}, {MaterialKind::kKey, "privkey.pem"}};
  return config;
}

}  // namespace certkeeper::hooks::testing

#endif  // CERTKEEPER_TESTS_UNIT_HOOKS_HOOKS_TEST_UTIL_H_
