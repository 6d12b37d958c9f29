// Crash points: unarmed they do nothing; armed they kill the process with
// SIGKILL at the nth pass, after one stderr line naming the point.
#include "base/crash_point.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

namespace certkeeper {
namespace {

class CrashPointDeathTest : public ::testing::Test {
 protected:
  void TearDown() override {
    DisarmCrashPoint();
    unsetenv("CERTKEEPER_CRASH_AT");
  }
};

TEST_F(CrashPointDeathTest, UnarmedAndOtherPointsDoNothing) {
  CrashPoint("deploy.installed");
  ArmCrashPoint("deploy.recorded");
  CrashPoint("deploy.installed");
  SUCCEED();
}

TEST_F(CrashPointDeathTest, KillsAtTheNthPass) {
  EXPECT_EXIT(
      {
        ArmCrashPoint("issue.recorded", 2);
        CrashPoint("issue.recorded");
        CrashPoint("issue.recorded");
        exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "crash point issue.recorded reached");
}

TEST_F(CrashPointDeathTest, SurvivesFewerPassesThanArmed) {
  EXPECT_EXIT(
      {
        ArmCrashPoint("issue.recorded", 2);
        CrashPoint("issue.recorded");
        exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(CrashPointDeathTest, EnvironmentFormWithAndWithoutCount) {
  ASSERT_EQ(setenv("CERTKEEPER_CRASH_AT", "deploy.file-installed:2", 1), 0);
  EXPECT_EXIT(
      {
        if (!ArmCrashPointFromEnvironment().ok()) exit(3);
        CrashPoint("deploy.file-installed");
        CrashPoint("deploy.file-installed");
        exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "deploy.file-installed");
  ASSERT_EQ(setenv("CERTKEEPER_CRASH_AT", "deploy.installed", 1), 0);
  EXPECT_EXIT(
      {
        if (!ArmCrashPointFromEnvironment().ok()) exit(3);
        CrashPoint("deploy.installed");
        exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "deploy.installed");
  ASSERT_EQ(setenv("CERTKEEPER_CRASH_AT", "deploy.installed:zero", 1), 0);
  EXPECT_FALSE(ArmCrashPointFromEnvironment().ok());
}

}  // namespace
}  // namespace certkeeper
