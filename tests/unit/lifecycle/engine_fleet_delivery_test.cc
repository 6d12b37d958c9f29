// Delivery in a fleet: two hosts (two state directories, two engines) share
// one inventory; edge-1 renews, edge-2 fetches the version's files from the
// inventory and delivers them with its own deploy targets, and what each host
// delivered is recorded per host (store::HostDeployment). A delivery that
// fails on edge-2 keeps its previous version live and the fleet's version
// deployed; reconciliation never switches edge-2's live/ to a version it did
// not deliver.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fs.h"
#include "lifecycle/engine_deploy.h"
#include "lifecycle/fleet.h"
#include "lifecycle/state_layout.h"
#include "store/lease.h"
#include "tests/unit/lifecycle/engine_parts_fixture.h"

namespace certkeeper::lifecycle::testing {
namespace {

using std::chrono::minutes;

// What one host's deploy function saw.
struct Delivered {
  int version = 0;
  std::string cert_pem;
  std::string key_pem;
  std::string files_dir;
};

class FleetDeliveryTest : public EnginePartsTest {
 protected:
  void SetUp() override {
    EnginePartsTest::SetUp();
    ASSERT_TRUE(fs::MakeDirs(dir_.path() + "/db", 0700).ok());
    config_.certificates = {spec_};
  }

  std::string StateOf(const std::string& host) const { return dir_.path() + "/" + host; }

  // An engine of `host` over the shared inventory, its deploy function
  // recording into *seen and failing while *fail is set.
  std::unique_ptr<Engine> HostEngine(const std::string& host, std::vector<Delivered>* seen,
                                     const bool* fail, std::optional<CertificateSpec> spec = {}) {
    store::SqliteOptions options;
    options.clock = clock_.get();
    auto inventory = store::SqlInventory::Open(dir_.path() + "/db/inventory.db", options);
    EXPECT_TRUE(inventory.ok()) << inventory.status().ToString();
    if (!inventory.ok()) return nullptr;
    auto key = SealingKey::FromBytes(std::string(32, 'k'));
    EXPECT_TRUE(key.ok());
    auto fleet = Fleet::Join(host, *key, inventory->get());
    EXPECT_TRUE(fleet.ok()) << fleet.status().ToString();
    if (!fleet.ok()) return nullptr;
    EngineParts parts = Parts();  // the fixture's CA, solver and clock
    parts.leases = store::SharedLeases(StateOf(host), inventory->get(), host, clock_.get());
    parts.fleet = std::move(*fleet);
    parts.inventory = std::move(*inventory);
    parts.deploy = [seen, fail](const std::vector<hooks::TargetConfig>&,
                                const hooks::Material& material,
                                const hooks::DeployOptions& options) {
      seen->push_back({static_cast<int>(material.version), material.cert_pem, material.key_pem, material.files_dir});
      hooks::DeployReport report;
      if (*fail) {
        report.error = Status(ErrorCode::kIo, "reload refused").Where("fake target");
      } else {
        report.error = options.commit ? options.commit() : Status::Ok();
      }
      return report;
    };
    Config config = config_;
    config.host = host;
    config.state_dir = StateOf(host);
    if (spec) config.certificates = {*spec};
    auto engine = Engine::Assemble(config, std::move(parts));
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  // edge-1 issues (or renews) `web` and shares the new version's files, as
  // the renewing host does before recording it.
  int IssueOnEdge1() {
    auto engine = HostEngine("edge-1", &edge1_seen_, &edge1_fail_);
    auto outcome = engine->Issue(spec_);
    EXPECT_TRUE(outcome.ok() && outcome->error.ok())
        << (outcome.ok() ? outcome->error.ToString() : outcome.status().ToString());
    const int n = outcome.ok() && outcome->version ? outcome->version->n : 0;
    StateLayout edge1(StateOf("edge-1"));
    auto files = edge1.ReadVersion("web", n);
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    if (files.ok()) EXPECT_TRUE(Share(n, *files).ok());
    return n;
  }

  Status Share(int n, const VersionFiles& files) {
    auto inventory = store::SqlInventory::Open(dir_.path() + "/db/inventory.db");
    if (!inventory.ok()) return inventory.status();
    auto key = SealingKey::FromBytes(std::string(32, 'k'));
    auto fleet = Fleet::Join("edge-1", *key, inventory->get());
    if (!fleet.ok()) return fleet.status();
    return (*fleet)->ShareVersion("web", n, files);
  }

  RunReport RenewOn(const std::string& host, std::vector<Delivered>* seen, const bool* fail,
                    std::optional<CertificateSpec> spec = {}) {
    auto engine = HostEngine(host, seen, fail, spec);
    RenewOptions options;
    options.all = true;
    auto report = engine->Renew(options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : RunReport{};
  }

  std::vector<store::HostDeployment> HostRows() {
    auto inventory = store::SqlInventory::Open(dir_.path() + "/db/inventory.db");
    EXPECT_TRUE(inventory.ok());
    auto rows = (*inventory)->ListHostDeployments("web");
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<store::HostDeployment>{};
  }

  const store::HostDeployment* Row(const std::vector<store::HostDeployment>& rows,
                                   const std::string& host) {
    for (const auto& r : rows) {
      if (r.host == host) return &r;
    }
    return nullptr;
  }

  std::optional<store::Version> FleetLive() {
    auto inventory = store::SqlInventory::Open(dir_.path() + "/db/inventory.db");
    auto live = (*inventory)->LiveVersion("web");
    return live.ok() ? std::optional<store::Version>(*live) : std::nullopt;
  }

  const CertificateOutcome* Outcome(const RunReport& report) {
    for (const auto& o : report.certificates) {
      if (o.name == "web") return &o;
    }
    return nullptr;
  }

  std::vector<Delivered> edge1_seen_, edge2_seen_;
  bool edge1_fail_ = false, edge2_fail_ = false;
};

TEST_F(FleetDeliveryTest, AnotherHostDeliversTheVersionTheRenewingHostDeployed) {
  ASSERT_EQ(IssueOnEdge1(), 1);
  ASSERT_EQ(edge1_seen_.size(), 1u);
  auto edge1_files = StateLayout(StateOf("edge-1")).ReadVersion("web", 1);
  ASSERT_TRUE(edge1_files.ok());

  RunReport report = RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  ASSERT_EQ(edge2_seen_.size(), 1u);
  EXPECT_EQ(edge2_seen_[0].version, 1);
  EXPECT_EQ(edge2_seen_[0].cert_pem, edge1_files->cert_pem);
  EXPECT_EQ(edge2_seen_[0].key_pem, edge1_files->key_pem);
  EXPECT_EQ(edge2_seen_[0].files_dir, StateLayout(StateOf("edge-2")).VersionDir("web", 1));
  EXPECT_EQ(StateLayout(StateOf("edge-2")).LiveVersionNumber("web"), 1);
  const CertificateOutcome* outcome = Outcome(report);
  ASSERT_NE(outcome, nullptr);
  EXPECT_EQ(outcome->outcome, "deployed") << outcome->reason;
  EXPECT_TRUE(outcome->error.ok()) << outcome->error.ToString();

  auto rows = HostRows();
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_NE(Row(rows, "edge-1"), nullptr);
  ASSERT_NE(Row(rows, "edge-2"), nullptr);
  EXPECT_EQ(Row(rows, "edge-1")->version, 1);
  EXPECT_EQ(Row(rows, "edge-1")->state, "deployed");
  EXPECT_EQ(Row(rows, "edge-2")->version, 1);
  EXPECT_EQ(Row(rows, "edge-2")->state, "deployed");

  // Nothing left to deliver: the next run does not deploy again.
  RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  EXPECT_EQ(edge2_seen_.size(), 1u);
  EXPECT_EQ(edge1_seen_.size(), 1u);
}

TEST_F(FleetDeliveryTest, ShowAndHistoryNameTheRenewingHostAndEveryDelivery) {
  ASSERT_EQ(IssueOnEdge1(), 1);
  RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  auto engine = HostEngine("edge-2", &edge2_seen_, &edge2_fail_);
  auto view = engine->Show("web");
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_TRUE(view->fleet);
  EXPECT_EQ(view->renewed_by, "edge-1");
  ASSERT_EQ(view->hosts.size(), 2u);
  EXPECT_EQ(view->hosts[1].host, "edge-2");
  EXPECT_EQ(view->hosts[1].version, 1);
  auto listed = engine->List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].hosts.size(), 2u);
  auto history = engine->History("web");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].host, "edge-2");  // newest first
  EXPECT_EQ((*history)[1].host, "edge-1");
}

TEST_F(FleetDeliveryTest, AFailedDeliveryKeepsThisHostsVersionAndTheFleetsState) {
  ASSERT_EQ(IssueOnEdge1(), 1);
  RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  ASSERT_EQ(IssueOnEdge1(), 2);
  edge2_fail_ = true;
  RunReport report = RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  ASSERT_EQ(edge2_seen_.size(), 2u);
  EXPECT_EQ(edge2_seen_[1].version, 2);
  EXPECT_EQ(StateLayout(StateOf("edge-2")).LiveVersionNumber("web"), 1);
  const CertificateOutcome* outcome = Outcome(report);
  ASSERT_NE(outcome, nullptr);
  EXPECT_EQ(outcome->outcome, "failed");
  EXPECT_NE(outcome->error.ToString().find("reload refused"), std::string::npos);
  auto live = FleetLive();
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->n, 2);
  EXPECT_EQ(live->state, store::VersionState::kDeployed);
  auto rows = HostRows();
  ASSERT_NE(Row(rows, "edge-2"), nullptr);
  EXPECT_EQ(Row(rows, "edge-2")->version, 2);
  EXPECT_EQ(Row(rows, "edge-2")->state, "failed");
  EXPECT_NE(Row(rows, "edge-2")->error.find("reload refused"), std::string::npos);
  EXPECT_EQ(Row(rows, "edge-1")->version, 2);
  EXPECT_EQ(Row(rows, "edge-1")->state, "deployed");

  // Reconciling edge-2 (whose archive now holds version 2's files) leaves
  // its live/ on the version it delivered, and a failure this recent is not
  // retried yet.
  RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  EXPECT_EQ(edge2_seen_.size(), 2u);
  EXPECT_EQ(StateLayout(StateOf("edge-2")).LiveVersionNumber("web"), 1);

  // Later it is, and succeeds.
  edge2_fail_ = false;
  clock_->Advance(kFleetRetryDelay + minutes(1));
  RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  ASSERT_EQ(edge2_seen_.size(), 3u);
  EXPECT_EQ(StateLayout(StateOf("edge-2")).LiveVersionNumber("web"), 2);
  rows = HostRows();
  EXPECT_EQ(Row(rows, "edge-2")->state, "deployed");
  EXPECT_EQ(Row(rows, "edge-2")->version, 2);
}

TEST_F(FleetDeliveryTest, ACertificateAssignedToOtherHostsIsNotDeliveredHere) {
  CertificateSpec edge1_only = spec_;
  edge1_only.hosts = {"edge-1"};
  spec_ = edge1_only;
  config_.certificates = {edge1_only};
  ASSERT_EQ(IssueOnEdge1(), 1);
  RenewOn("edge-2", &edge2_seen_, &edge2_fail_, edge1_only);
  EXPECT_TRUE(edge2_seen_.empty());
  EXPECT_EQ(StateLayout(StateOf("edge-2")).LiveVersionNumber("web"), 0);
  EXPECT_EQ(Row(HostRows(), "edge-2"), nullptr);
}

TEST_F(FleetDeliveryTest, AVersionWhoseFilesWereNeverSharedFailsClearly) {
  ASSERT_EQ(IssueOnEdge1(), 1);
  RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  // Version 2 recorded and deployed by edge-1, then its shared files lost
  // (as for a version issued before the inventory was shared).
  {
    auto engine = HostEngine("edge-1", &edge1_seen_, &edge1_fail_);
    auto outcome = engine->Issue(spec_);
    ASSERT_TRUE(outcome.ok() && outcome->error.ok());
  }
  {
    auto inventory = store::SqlInventory::Open(dir_.path() + "/db/inventory.db");
    ASSERT_TRUE(inventory.ok());
    ASSERT_TRUE((*inventory)->DeleteMaterial(store::VersionMaterial("web", 2)).ok());
  }
  RunReport report = RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  EXPECT_EQ(edge2_seen_.size(), 1u) << "deployed without the files";
  EXPECT_EQ(StateLayout(StateOf("edge-2")).LiveVersionNumber("web"), 1);
  const CertificateOutcome* outcome = Outcome(report);
  ASSERT_NE(outcome, nullptr);
  EXPECT_EQ(outcome->outcome, "failed");
  EXPECT_NE(outcome->error.ToString().find("no files in the shared inventory"), std::string::npos)
      << outcome->error.ToString();
  EXPECT_EQ(Row(HostRows(), "edge-2")->state, "failed");
}

TEST_F(FleetDeliveryTest, ReconcileRecordsADeliveryThatFinishedBeforeItsRecord) {
  ASSERT_EQ(IssueOnEdge1(), 1);
  RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  ASSERT_EQ(IssueOnEdge1(), 2);
  // As if a run of edge-2 had fetched version 2, delivered it, switched
  // live/ and been killed before its record.
  auto files = StateLayout(StateOf("edge-1")).ReadVersion("web", 2);
  ASSERT_TRUE(files.ok());
  StateLayout edge2(StateOf("edge-2"));
  ASSERT_TRUE(edge2.WriteVersion("web", 2, *files).ok());
  ASSERT_TRUE(edge2.SwitchLive("web", 2).ok());
  ASSERT_EQ(Row(HostRows(), "edge-2")->version, 1);
  RenewOn("edge-2", &edge2_seen_, &edge2_fail_);
  EXPECT_EQ(edge2_seen_.size(), 1u) << "delivered again instead of recorded";
  EXPECT_EQ(StateLayout(StateOf("edge-2")).LiveVersionNumber("web"), 2);
  auto rows = HostRows();
  EXPECT_EQ(Row(rows, "edge-2")->state, "deployed");
  EXPECT_EQ(Row(rows, "edge-2")->version, 2);
}

TEST_F(FleetDeliveryTest, DeployOnAHostFetchesTheNewestVersion) {
  ASSERT_EQ(IssueOnEdge1(), 1);
  auto engine = HostEngine("edge-2", &edge2_seen_, &edge2_fail_);
  auto outcome = engine->Deploy("web");
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->outcome, "deployed") << outcome->error.ToString();
  ASSERT_EQ(edge2_seen_.size(), 1u);
  EXPECT_EQ(StateLayout(StateOf("edge-2")).LiveVersionNumber("web"), 1);
  EXPECT_EQ(Row(HostRows(), "edge-2")->state, "deployed");
}

}  // namespace
}  // namespace certkeeper::lifecycle::testing
