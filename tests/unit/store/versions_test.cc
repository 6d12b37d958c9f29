// Issued versions: numbering, the live version, state changes, revocation.
#include <string>
#include <vector>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

class VersionsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    AddCertificate("web");
  }
  // Records version n (which must be next) in the given state.
  void Add(int n, VersionState state) {
    Version v = SampleVersion("web", n);
    v.state = state == VersionState::kDeployed ? state : VersionState::kIssued;
    Status s = inv_->AddVersion(v);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (state == VersionState::kDeployFailed) {
      ASSERT_TRUE(inv_->SetVersionState("web", n, state).ok());
    } else if (state == VersionState::kRevoked) {
      ASSERT_TRUE(inv_->RevokeVersion("web", n, T0(), "superseded").ok());
    }
  }
};

TEST_F(VersionsTest, NumbersStartAtOneAndHaveNoGaps) {
  EXPECT_EQ(*inv_->NextVersionNumber("web"), 1);
  Add(1, VersionState::kDeployed);
  EXPECT_EQ(*inv_->NextVersionNumber("web"), 2);

  Status duplicate = inv_->AddVersion(SampleVersion("web", 1));
  EXPECT_EQ(duplicate.code(), ErrorCode::kAlreadyExists) << duplicate.ToString();
  Status gap = inv_->AddVersion(SampleVersion("web", 3));
  EXPECT_EQ(gap.code(), ErrorCode::kFailedPrecondition) << gap.ToString();
  Status zero = inv_->AddVersion(SampleVersion("web", 0));
  EXPECT_EQ(zero.code(), ErrorCode::kInvalidArgument);

  Add(2, VersionState::kIssued);
  EXPECT_EQ(*inv_->NextVersionNumber("web"), 3);
  auto all = inv_->ListVersions("web");
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].n, 2);  // newest first
  EXPECT_EQ((*all)[1].n, 1);
}

TEST_F(VersionsTest, NumbersArePerCertificate) {
  AddCertificate("api");
  Add(1, VersionState::kDeployed);
  Add(2, VersionState::kDeployed);
  EXPECT_EQ(*inv_->NextVersionNumber("api"), 1);
  ASSERT_TRUE(inv_->AddVersion(SampleVersion("api", 1)).ok());
  EXPECT_EQ(inv_->ListVersions("api")->size(), 1u);
}

TEST_F(VersionsTest, RoundTripsEveryField) {
  Version v = SampleVersion("web", 1);
  v.domains = {"b.example.com", "a.example.com"};
  v.state = VersionState::kDeployed;
  v.ca = "backup";
  v.server = "https://ca2.example/dir";
  v.profile = "shortlived";
  clock_.Advance(std::chrono::seconds(42));
  ASSERT_TRUE(inv_->AddVersion(v).ok());
  auto got = inv_->GetVersion("web", 1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->certificate, "web");
  EXPECT_EQ(got->serial, v.serial);
  EXPECT_EQ(got->not_before, v.not_before);
  EXPECT_EQ(got->not_after, v.not_after);
  EXPECT_EQ(got->issuer, v.issuer);
  EXPECT_EQ(got->fingerprint_sha256, v.fingerprint_sha256);
  EXPECT_EQ(got->domains, v.domains);
  EXPECT_EQ(got->key_type, v.key_type);
  EXPECT_EQ(got->directory, v.directory);
  EXPECT_EQ(got->order_url, v.order_url);
  EXPECT_EQ(got->state, VersionState::kDeployed);
  EXPECT_FALSE(got->revoked_at.has_value());
  EXPECT_EQ(got->created_at, T0() + std::chrono::seconds(42));
  EXPECT_EQ(got->ca, "backup");
  EXPECT_EQ(got->server, "https://ca2.example/dir");
  EXPECT_EQ(got->profile, "shortlived");
}

TEST_F(VersionsTest, RejectsVersionsThatCannotBeComplete) {
  Version bad = SampleVersion("web", 1);
  bad.directory.clear();
  EXPECT_EQ(inv_->AddVersion(bad).code(), ErrorCode::kInvalidArgument);
  bad = SampleVersion("web", 1);
  bad.not_after = bad.not_before;
  EXPECT_EQ(inv_->AddVersion(bad).code(), ErrorCode::kInvalidArgument);
  bad = SampleVersion("web", 1);
  bad.state = VersionState::kRevoked;
  EXPECT_EQ(inv_->AddVersion(bad).code(), ErrorCode::kInvalidArgument);
  bad = SampleVersion("unknown", 1);
  EXPECT_EQ(inv_->AddVersion(bad).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(inv_->ListVersions("web")->empty());
}

// Live version selection: each row lists the states of versions 1..n in order
// and the n expected to be live (0: none).
struct LiveCase {
  const char* name;
  std::vector<VersionState> states;
  int live;
  int latest;
};

// Names the row in test output instead of dumping its bytes.
void PrintTo(const LiveCase& c, std::ostream* os) { *os << c.name; }

class LiveVersionTest : public VersionsTest,
                        public ::testing::WithParamInterface<LiveCase> {};

TEST_P(LiveVersionTest, PicksNewestDeployed) {
  const LiveCase& c = GetParam();
  for (size_t i = 0; i < c.states.size(); ++i) Add(static_cast<int>(i) + 1, c.states[i]);
  auto live = inv_->LiveVersion("web");
  if (c.live == 0) {
    ASSERT_FALSE(live.ok());
    EXPECT_EQ(live.status().code(), ErrorCode::kNotFound);
  } else {
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    EXPECT_EQ(live->n, c.live);
  }
  auto latest = inv_->LatestVersion("web");
  if (c.latest == 0) {
    EXPECT_EQ(latest.status().code(), ErrorCode::kNotFound);
  } else {
    ASSERT_TRUE(latest.ok());
    EXPECT_EQ(latest->n, c.latest);
  }
}

using VS = VersionState;
INSTANTIATE_TEST_SUITE_P(
    Cases, LiveVersionTest,
    ::testing::Values(
        LiveCase{"NoVersions", {}, 0, 0},
        LiveCase{"OnlyIssuedIsNotLiveYet", {VS::kIssued}, 0, 1},
        LiveCase{"SingleDeployed", {VS::kDeployed}, 1, 1},
        LiveCase{"NewestDeployedWins", {VS::kDeployed, VS::kDeployed}, 2, 2},
        LiveCase{"IssuedSuccessorKeepsPreviousLive", {VS::kDeployed, VS::kIssued}, 1, 2},
        LiveCase{"FailedDeployKeepsPreviousLive", {VS::kDeployed, VS::kDeployFailed}, 1, 2},
        LiveCase{"RevokedIsNeverLive", {VS::kDeployed, VS::kRevoked}, 1, 2},
        LiveCase{"AllRevoked", {VS::kRevoked, VS::kRevoked}, 0, 2},
        LiveCase{"DeployedAfterFailures",
                 {VS::kDeployed, VS::kDeployFailed, VS::kIssued, VS::kDeployed}, 4, 4}),
    [](const ::testing::TestParamInfo<LiveCase>& info) { return info.param.name; });

// State moves: from, to, allowed.
struct MoveCase {
  const char* name;
  VersionState from;
  VersionState to;
  bool allowed;
};

void PrintTo(const MoveCase& c, std::ostream* os) { *os << c.name; }

class VersionMoveTest : public VersionsTest,
                        public ::testing::WithParamInterface<MoveCase> {};

TEST_P(VersionMoveTest, FollowsTheLifecycle) {
  const MoveCase& c = GetParam();
  Add(1, c.from);
  Status s = inv_->SetVersionState("web", 1, c.to);
  if (c.allowed) {
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(inv_->GetVersion("web", 1)->state, c.to);
  } else {
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(inv_->GetVersion("web", 1)->state, c.from);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Moves, VersionMoveTest,
    ::testing::Values(
        MoveCase{"IssuedToDeployed", VS::kIssued, VS::kDeployed, true},
        MoveCase{"IssuedToDeployFailed", VS::kIssued, VS::kDeployFailed, true},
        MoveCase{"DeployFailedToDeployed", VS::kDeployFailed, VS::kDeployed, true},
        MoveCase{"DeployedToDeployFailed", VS::kDeployed, VS::kDeployFailed, true},
        MoveCase{"DeployedBackToIssued", VS::kDeployed, VS::kIssued, false},
        MoveCase{"RevokedToDeployed", VS::kRevoked, VS::kDeployed, false},
        MoveCase{"RevokeThroughSetState", VS::kDeployed, VS::kRevoked, false}),
    [](const ::testing::TestParamInfo<MoveCase>& info) { return info.param.name; });

TEST_F(VersionsTest, RevokeRecordsTimeAndReasonOnce) {
  Add(1, VersionState::kDeployed);
  TimePoint at = T0() + std::chrono::hours(5);
  ASSERT_TRUE(inv_->RevokeVersion("web", 1, at, "keyCompromise").ok());
  auto v = inv_->GetVersion("web", 1);
  EXPECT_EQ(v->state, VersionState::kRevoked);
  EXPECT_EQ(v->revoked_at, at);
  EXPECT_EQ(v->revocation_reason, "keyCompromise");

  Status again = inv_->RevokeVersion("web", 1, at, "superseded");
  EXPECT_EQ(again.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(inv_->GetVersion("web", 1)->revocation_reason, "keyCompromise");
  EXPECT_EQ(inv_->RevokeVersion("web", 9, at, "").code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace certkeeper::store::testing
