// A deploy step's error and output are stored in the inventory and printed as
// JSON: they are valid UTF-8 whatever the target's programs printed.
#include <gtest/gtest.h>

#include <string>

#include "base/text.h"
#include "hooks/deploy_target.h"

namespace certkeeper::hooks {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(DeployStep, HookPrintingInvalidUtf8IsRecordedAsValidUtf8) {
  DeployContext context;
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "printf 'reloaded \\377\\n'; printf 'broken \\376 pipe' >&2; exit 1"};
  Status s = RunRecorded(context, "nginx", "reload", "reload nginx", spec);
  ASSERT_FALSE(s.ok());
  ASSERT_EQ(context.steps.size(), 1u);
  const StepRecord& step = context.steps[0];
  EXPECT_TRUE(IsValidUtf8(step.output)) << step.output;
  EXPECT_TRUE(IsValidUtf8(step.error)) << step.error;
  EXPECT_NE(step.output.find("reloaded " + kFffd), std::string::npos) << step.output;
  EXPECT_NE(step.error.find("broken " + kFffd + " pipe"), std::string::npos) << step.error;
}

TEST(DeployStep, StepsRecordedByAnyTargetAreMadeValidUtf8) {
  DeployContext context;
  Status s = RecordStep(context, "web", "upload", "upload to host",
                        Status(ErrorCode::kIo, "scp: \xC3 cut"), "remote said \xFF");
  ASSERT_FALSE(s.ok());
  ASSERT_EQ(context.steps.size(), 1u);
  EXPECT_EQ(context.steps[0].output, "remote said " + kFffd);
  EXPECT_NE(context.steps[0].error.find("scp: " + kFffd + " cut"), std::string::npos)
      << context.steps[0].error;
}

}  // namespace
}  // namespace certkeeper::hooks
