// The certkeeper command line (ARCHITECTURE.md, "CLI contract"): parsing,
// config loading, dispatch to the engine, output and exit codes. No protocol or
// storage logic lives here.
#ifndef CERTKEEPER_CLI_APP_H_
#define CERTKEEPER_CLI_APP_H_

namespace certkeeper::cli {

// Exit codes promised to operators and scripts.
inline constexpr int kExitOk = 0;           // success, or nothing was due
inline constexpr int kExitUsage = 1;        // usage or configuration error
inline constexpr int kExitFailed = 2;       // at least one certificate failed
inline constexpr int kExitLocked = 3;       // another run holds the lock

int Main(int argc, char** argv);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_APP_H_
