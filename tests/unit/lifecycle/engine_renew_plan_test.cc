// `renew --dry-run` reports exactly the plan: an inventory with certificates in
// every state the planner tells apart, the engine's dry run over it, and
// Plan() over the same facts give the same decision, reason, time and limit
// for every certificate, without a request to the CA.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/fs.h"
#include "lifecycle/engine.h"
#include "lifecycle/planner.h"
#include "lifecycle/request_keys.h"
#include "store/sql_inventory.h"
#include "tests/unit/acme/fake_ca.h"
#include "tests/unit/hooks/test_pki.h"
#include "tests/unit/lifecycle/engine_parts_fixture.h"
#include "tests/unit/lifecycle/engine_test_fixture.h"

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;

using testing::kDay;

class EngineRenewPlanTest : public testing::EngineTest<> {
 protected:
  void SetUp() override {
    SetUpEngineTest();
    config_.renewal.budgets = BudgetSettings{2, 1, 1, 1};
    ASSERT_TRUE(fs::MakeDirs(config_.state_dir, 0700).ok());
    auto inventory = store::SqlInventory::Open(config_.state_dir + "/certkeeper.db");
    ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
    inventory_ = std::move(*inventory);
  }

  // A managed certificate NAME for NAME.example.com, in the config and (with
  // `record`) the inventory, with version 1 live and `left` of 90 days left.
  CertificateFacts& Add(const std::string& name, Duration left, bool record = true) {
    CertificateFacts f;
    f.spec.name = name;
    f.spec.domains = {name + ".example.com"};
    config_.certificates.push_back(f.spec);
    if (record) {
      store::CertificateSpec spec;
      spec.name = name;
      spec.domains = f.spec.domains;
      spec.key_type = "ec256";
      spec.challenges = {"http-01"};
      spec.server = config_.acme.server;
      Status s = inventory_->PutCertificate(spec);
      EXPECT_TRUE(s.ok()) << s.ToString();
      f.live = AddVersion(name, 1, store::VersionState::kDeployed, left);
      f.latest = f.live;
    }
    facts_.push_back(f);
    return facts_.back();
  }

  store::Version AddVersion(const std::string& name, int n, store::VersionState state,
                            Duration left) {
    store::Version v;
    v.certificate = name;
    v.n = n;
    v.serial = std::to_string(n);
    v.issuer = "CN=test issuer";
    v.fingerprint_sha256 = std::string(64, 'a');
    v.not_after = now_ + left;
    v.not_before = v.not_after - 90 * kDay;
    v.domains = {name + ".example.com"};
    v.key_type = "ec256";
    v.directory = config_.state_dir + "/archive/" + name + "/" + std::to_string(n);
    v.state = state;
    Status s = inventory_->AddVersion(v);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return v;
  }

  void SetSchedule(CertificateFacts& f, const store::Schedule& schedule) {
    f.schedule = schedule;
    EXPECT_TRUE(inventory_->SetSchedule(f.spec.name, schedule).ok());
  }

  std::unique_ptr<store::Inventory> inventory_;
  std::vector<CertificateFacts> facts_;  // in the order `renew --all` reports them
};

TEST_F(EngineRenewPlanTest, DryRunReportsExactlyThePlan) {
  Add("a-calm", 60 * kDay);
  Add("b-soon", 20 * kDay);
  CertificateFacts& pending = Add("c-pending", 60 * kDay);
  pending.latest = AddVersion("c-pending", 2, store::VersionState::kIssued, 90 * kDay);
  store::Schedule waiting;
  waiting.ca_retry_after = now_ + hours(2);
  SetSchedule(Add("d-waiting", 20 * kDay), waiting);
  store::CaLimit limit{config_.acme.server, store::CertificateScope("e-limited"), now_ + hours(3),
                       "too many orders for this certificate"};
  ASSERT_TRUE(inventory_->SetCaLimit(limit).ok());
  Add("e-limited", 20 * kDay);
  store::RequestRecord duplicate{config_.acme.server, "https://ca.test/acct/1",
                                 store::RequestKind::kCertificate,
                                 NamesKey({"f-budget.example.com"}), now_ - kDay};
  ASSERT_TRUE(inventory_->RecordRequest(duplicate).ok());
  Add("f-budget", 20 * kDay);
  store::Schedule backoff;
  backoff.next_attempt_at = now_ + hours(5);
  backoff.consecutive_failures = 2;
  backoff.deferred_reason = "backoff after 2 failures";
  SetSchedule(Add("g-backoff", 20 * kDay), backoff);
  SetSchedule(Add("h-tight", 5 * kDay), waiting);
  Add("i-new", Duration::zero(), /*record=*/false);

  PlanInput input;
  input.now = now_;
  input.certificates = facts_;
  input.cas[0].server = config_.acme.server;
  input.cas[0].limits = {limit};
  input.cas[0].requests = {duplicate};
  input.cas[0].budgets = EffectiveBudgets(config_.acme, config_.renewal);
  input.renewal = config_.renewal;
  input.dry_run = true;
  std::vector<Decision> plan = Plan(input);

  inventory_.reset();
  auto engine = Engine::Open(config_, clock_.get(), ca_);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  RenewOptions options;
  options.all = true;
  options.dry_run = true;
  auto report = (*engine)->Renew(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(ca_->requests.empty()) << ca_->requests.size() << " requests";

  ASSERT_EQ(report->certificates.size(), plan.size());
  const std::vector<std::string> kinds = {"not-due",  "due",      "deploy-pending",
                                          "deferred", "deferred", "deferred",
                                          "deferred", "blocked",  "due"};
  ASSERT_EQ(plan.size(), kinds.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    const CertificateOutcome want = PlannedOutcome(plan[i], /*dry_run=*/true);
    const CertificateOutcome& got = report->certificates[i];
    EXPECT_EQ(want.decision, kinds[i]) << want.name << ": " << want.reason;
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.outcome, want.outcome) << got.name;
    EXPECT_EQ(got.decision, want.decision) << got.name;
    EXPECT_EQ(got.reason, want.reason) << got.name;
    EXPECT_EQ(got.until, want.until) << got.name;
    EXPECT_EQ(got.limit, want.limit) << got.name;
    EXPECT_EQ(got.error.code(), want.error.code()) << got.name << ": " << got.error.ToString();
  }
  EXPECT_EQ(report->certificates[5].limit, "budget: duplicate certificates");
  EXPECT_EQ(report->certificates[4].limit, "ca-limit:certificate");
  EXPECT_TRUE(report->any_failed());
}

// The config file is declarative, but a run writes only what changed: over a
// large config that changed nothing, a timer run writes no certificate.
TEST_F(EngineRenewPlanTest, ARunWritesOnlyTheConfiguredCertificatesThatChanged) {
  Add("a-calm", 60 * kDay);
  Add("b-back", 60 * kDay);
  auto renew = [&]() {
    inventory_.reset();
    auto engine = Engine::Open(config_, clock_.get(), ca_);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    RenewOptions options;
    options.all = true;
    auto report = (*engine)->Renew(options);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    for (const CertificateOutcome& o : report->certificates) EXPECT_EQ(o.outcome, "not-due");
    engine->reset();
    auto inventory = store::SqlInventory::Open(config_.state_dir + "/certkeeper.db");
    ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
    inventory_ = std::move(*inventory);
  };
  renew();
  auto calm = inventory_->GetCertificate("a-calm");
  ASSERT_TRUE(calm.ok());
  // Removed from the inventory (as `remove` does): the config brings it back.
  ASSERT_TRUE(inventory_->MarkRemoved("b-back").ok());
  clock_->Advance(hours(1));
  renew();
  auto calm_after = inventory_->GetCertificate("a-calm");
  auto back = inventory_->GetCertificate("b-back");
  ASSERT_TRUE(calm_after.ok());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(calm_after->updated_at, calm->updated_at);
  EXPECT_FALSE(back->removed);
  EXPECT_GT(back->updated_at, calm->updated_at);
}

}  // namespace
}  // namespace certkeeper::lifecycle
