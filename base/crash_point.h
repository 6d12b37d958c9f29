// Numbered crash points: named places in the issue and deploy steps where a test
// can make the process die as if killed (SIGKILL: no destructors, no flush, no
// atexit), to check that the state a crash leaves behind is consistent and that
// the next run finishes the job.
//
// Contract:
//  - CrashPoint(name) does nothing unless the process was armed for `name`; then
//    it kills the process the nth time it reaches that point. Unarmed, it costs
//    one relaxed atomic load.
//  - Armed from CERTKEEPER_CRASH_AT=<name>[:<n>] (n defaults to 1), read once by
//    ArmCrashPointFromEnvironment at program start, or by ArmCrashPoint. It is a
//    test facility: the end-to-end tests arm it in the real certkeeper binary.
//  - Before dying it writes one line to stderr naming the point, so a test log
//    tells an intended crash from a real one.
// The points and where they sit are listed in docs/faults.md.
#ifndef CERTKEEPER_BASE_CRASH_POINT_H_
#define CERTKEEPER_BASE_CRASH_POINT_H_

#include <string_view>

#include "base/status.h"

namespace certkeeper {

void CrashPoint(std::string_view name);

// Arms the point; nth >= 1. A later call replaces the earlier one.
void ArmCrashPoint(std::string_view name, int nth = 1);
void DisarmCrashPoint();
Status ArmCrashPointFromEnvironment();

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_CRASH_POINT_H_
