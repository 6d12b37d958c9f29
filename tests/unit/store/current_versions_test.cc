// AllCurrentVersions: the bulk read behind `renew --all` agrees with
// LatestVersion and LiveVersion for every certificate.
#include <string>
#include <utility>
#include <vector>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

class CurrentVersionsTest : public StoreTest {
 protected:
  void AddVersion(const std::string& name, int n, VersionState state) {
    Version v = SampleVersion(name, n);
    v.state = state;
    Status s = inv_->AddVersion(v);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
};

TEST_F(CurrentVersionsTest, AgreesWithLatestAndLivePerCertificate) {
  AddCertificate("never-issued");
  AddCertificate("deployed");
  AddVersion("deployed", 1, VersionState::kDeployed);
  AddCertificate("undeployed-successor");
  AddVersion("undeployed-successor", 1, VersionState::kDeployed);
  AddVersion("undeployed-successor", 2, VersionState::kIssued);
  AddCertificate("only-failed");
  AddVersion("only-failed", 1, VersionState::kIssued);
  Status failed = inv_->SetVersionState("only-failed", 1, VersionState::kDeployFailed);
  ASSERT_TRUE(failed.ok()) << failed.ToString();

  auto current = inv_->AllCurrentVersions();
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  EXPECT_EQ(current->count("never-issued"), 0u);
  ASSERT_EQ(current->size(), 3u);

  for (const char* name : {"deployed", "undeployed-successor", "only-failed"}) {
    const CurrentVersions& c = current->at(name);
    auto latest = inv_->LatestVersion(name);
    ASSERT_TRUE(latest.ok());
    ASSERT_TRUE(c.latest.has_value()) << name;
    EXPECT_EQ(c.latest->n, latest->n) << name;
    auto live = inv_->LiveVersion(name);
    EXPECT_EQ(c.live.has_value(), live.ok()) << name;
    if (c.live && live.ok()) {
      EXPECT_EQ(c.live->n, live->n) << name;
      EXPECT_EQ(c.live->serial, live->serial) << name;
    }
  }
  EXPECT_EQ(current->at("undeployed-successor").latest->n, 2);
  EXPECT_EQ(current->at("undeployed-successor").live->n, 1);
  EXPECT_EQ(current->at("undeployed-successor").latest->state, VersionState::kIssued);
  EXPECT_FALSE(current->at("only-failed").live.has_value());
}

// Long histories, numbers past 9, names that are prefixes of one another, and
// versions recorded out of name order: the newest of each is found, and only
// certificates with versions appear.
TEST_F(CurrentVersionsTest, TheNewestOfEachHistoryWhateverTheOrder) {
  const std::vector<std::pair<std::string, int>> histories = {
      {"b", 12}, {"a", 3}, {"ab", 1}, {"a1", 10}, {"c-d", 2}};
  for (const auto& [name, count] : histories) AddCertificate(name);
  for (int n = 1; n <= 12; ++n) {
    for (const auto& [name, count] : histories) {
      if (n <= count) AddVersion(name, n, VersionState::kDeployed);
      if (HasFatalFailure()) return;
    }
  }
  AddCertificate("zz-none");
  auto current = inv_->AllCurrentVersions();
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  ASSERT_EQ(current->size(), histories.size());
  for (const auto& [name, count] : histories) {
    const CurrentVersions& c = current->at(name);
    ASSERT_TRUE(c.latest && c.live) << name;
    EXPECT_EQ(c.latest->n, count) << name;
    EXPECT_EQ(c.latest->certificate, name);
    EXPECT_EQ(c.live->n, count) << name;
  }
}

TEST_F(CurrentVersionsTest, EmptyInventoryHasNone) {
  auto current = inv_->AllCurrentVersions();
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(current->empty());
}

}  // namespace
}  // namespace certkeeper::store::testing
