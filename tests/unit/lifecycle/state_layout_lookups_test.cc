// live/<name> and the deploy intent looked up through directories opened once
// answer as the lookups by path do, in every state a certificate can be in.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "base/fs.h"
#include "lifecycle/state_layout.h"

namespace certkeeper::lifecycle {
namespace {

class StateLayoutLookupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(layout_.Prepare().ok());
    auto live = layout_.OpenLiveDir();
    auto archive = layout_.OpenArchiveDir();
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    ASSERT_TRUE(archive.ok()) << archive.status().ToString();
    live_ = std::move(*live);
    archive_ = std::move(*archive);
  }

  // The intent of name both ways: equal results, returned as one.
  Result<int> Intent(const std::string& name) {
    Result<int> by_path = layout_.DeployIntent(name);
    Result<int> by_dir = layout_.DeployIntent(archive_, name);
    EXPECT_EQ(by_path.ok(), by_dir.ok()) << name;
    if (by_path.ok() && by_dir.ok()) EXPECT_EQ(*by_path, *by_dir) << name;
    return by_dir;
  }

  int Live(const std::string& name) {
    EXPECT_EQ(layout_.LiveVersionNumber(name), layout_.LiveVersionNumber(live_, name)) << name;
    return layout_.LiveVersionNumber(live_, name);
  }

  fs::TempDir tmp_;
  StateLayout layout_{tmp_.path() + "/state"};
  fs::Dir live_, archive_;
};

TEST_F(StateLayoutLookupsTest, DeployIntentInEachState) {
  Result<int> none = Intent("never-seen");  // no archive/<name> at all
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);

  ASSERT_TRUE(layout_.WriteVersion("web", 1, {"KEY", "CERT", "CHAIN"}).ok());
  Result<int> idle = Intent("web");
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(*idle, 0);

  ASSERT_TRUE(layout_.RecordDeployIntent("web", 3).ok());
  Result<int> deploying = Intent("web");
  ASSERT_TRUE(deploying.ok());
  EXPECT_EQ(*deploying, 3);

  ASSERT_TRUE(fs::WritePrivateFile(layout_.ArchiveDir("web") + "/deploying", "garbage").ok());
  EXPECT_FALSE(Intent("web").ok());  // there but unreadable: an error, not "none"

  ASSERT_TRUE(layout_.ClearDeployIntent("web").ok());
  Result<int> cleared = Intent("web");
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(*cleared, 0);
}

TEST_F(StateLayoutLookupsTest, LiveVersionInEachState) {
  EXPECT_EQ(Live("web"), 0);  // no link
  ASSERT_TRUE(layout_.WriteVersion("web", 1, {"KEY", "CERT", "CHAIN"}).ok());
  ASSERT_TRUE(layout_.WriteVersion("web", 12, {"KEY", "CERT", "CHAIN"}).ok());
  ASSERT_TRUE(layout_.SwitchLive("web", 1).ok());
  EXPECT_EQ(Live("web"), 1);
  ASSERT_TRUE(layout_.SwitchLive("web", 12).ok());
  EXPECT_EQ(Live("web"), 12);  // the fd stays valid across the switch (a rename)
  ASSERT_EQ(unlink(layout_.LiveDir("web").c_str()), 0);
  EXPECT_EQ(Live("web"), 0);
}

}  // namespace
}  // namespace certkeeper::lifecycle
