#include <stdio.h>

#include "base/crash_point.h"
#include "base/fault_injection.h"
#include "cli/app.h"

int main(int argc, char** argv) {
  // Test facilities (docs/faults.md): a crash point or an injected file-system
  // fault armed from the environment. A malformed value refuses to run rather
  // than run without the fault the caller asked for.
  for (certkeeper::Status s : {certkeeper::ArmCrashPointFromEnvironment(),
                               certkeeper::fs::ArmFaultFromEnvironment()}) {
    if (!s.ok()) {
      fprintf(stderr, "certkeeper: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return certkeeper::cli::Main(argc, argv);
}
