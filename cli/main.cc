#include <malloc.h>
#include <stdio.h>

#include "base/crash_point.h"
#include "base/fault_injection.h"
#include "cli/app.h"

int main(int argc, char** argv) {
  // A run over 10,000 certificates allocates vectors of several MB (the
  // rows, the plan's facts and decisions). Above glibc's starting threshold
  // each one is a fresh mmap whose every page faults in and is unmapped when
  // freed; from the heap, the next one reuses pages already faulted in
  // (bench/README.md, "Page faults": about a sixth fewer faults). What is
  // freed at the top of the heap stays with the process too: a run frees
  // its rows as it takes them over, and the next allocations would fault
  // the returned pages in again. A process lives for one command.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
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
