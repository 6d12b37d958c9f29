// Running other programs: always execve with an argv vector, never a shell. Data
// (domains, tokens, paths) travel as separate argv entries or environment
// variables, so no untrusted string is ever parsed by a shell.
#ifndef CERTKEEPER_BASE_PROCESS_H_
#define CERTKEEPER_BASE_PROCESS_H_

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace certkeeper {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is a path, or a name looked up in PATH
  // Added to (or replacing) the inherited environment.
  std::vector<std::pair<std::string, std::string>> env;
  bool inherit_env = true;
  std::string stdin_data;
  std::string working_dir;  // empty: inherit
  std::chrono::milliseconds timeout{60000};
  // Per stream; the rest is dropped and noted. The cut falls on a character
  // boundary at or below the limit.
  size_t max_output = 64 * 1024;
};

struct ProcessResult {
  int exit_code = -1;   // valid when the process exited
  int signal = 0;       // non-zero when killed by a signal
  bool timed_out = false;
  // What the program printed, as valid UTF-8: every invalid sequence is
  // replaced by U+FFFD, because it ends up in the inventory and in JSON.
  std::string stdout_data;
  std::string stderr_data;
  bool success() const { return !timed_out && signal == 0 && exit_code == 0; }
  // "exit status 3", "killed by signal 9", "timed out after 30s".
  std::string Describe() const;
};

// Runs the program to completion (or until the timeout, when its whole process
// group is killed with SIGKILL). The Result is an error when the program could
// not be started, or when waiting for it failed (the process group is then
// killed and the child reaped); a non-zero exit is reported in ProcessResult.
Result<ProcessResult> RunProcess(const ProcessSpec& spec);

// Like RunProcess, but a non-zero exit, a signal or a timeout is an error whose
// message names the program and includes the tail of its stderr.
Result<ProcessResult> RunProcessChecked(const ProcessSpec& spec);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_PROCESS_H_
