// Renewal in a fleet: two engines ("edge-1", "edge-2"), each with its own
// state directory, share one inventory (one SQLite file, a connection each)
// with row leases (SharedLeases) and one sealing key, against one scripted
// CA. A certificate is renewed once; the other host reports who did.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "base/fs.h"
#include "lifecycle/fleet.h"
#include "lifecycle/state_layout.h"
#include "store/internal/sql.h"
#include "store/lease.h"
#include "tests/unit/lifecycle/engine_parts_fixture.h"

namespace certkeeper::lifecycle {
namespace {

using acme::HttpRequest;
using acme::HttpResponse;
using testing::EnginePartsTest;
using testing::kDay;

SealingKey FleetKey(char fill = 'k') {
  auto key = SealingKey::FromBytes(std::string(32, fill));
  EXPECT_TRUE(key.ok());
  return *key;
}

// Leases that run `before_claim` (once) right before a claim is taken: what
// another host does between this host's plan and its claim.
class HookedLeases : public store::Leases {
 public:
  HookedLeases(std::unique_ptr<store::Leases> inner, std::function<void()> before_claim)
      : inner_(std::move(inner)), before_claim_(std::move(before_claim)) {}
  Status AcquireRun() override { return inner_->AcquireRun(); }
  bool HoldsRun() const override { return inner_->HoldsRun(); }
  Result<std::unique_ptr<store::CertificateClaim>> Claim(std::string_view certificate,
                                                         Duration ttl) override {
    if (before_claim_) std::exchange(before_claim_, nullptr)();
    return inner_->Claim(certificate, ttl);
  }

 private:
  std::unique_ptr<store::Leases> inner_;
  std::function<void()> before_claim_;
};

class EngineFleetTest : public EnginePartsTest {
 protected:
  void SetUp() override {
    EnginePartsTest::SetUp();
    ASSERT_TRUE(fs::MakeDirs(dir_.path() + "/db", 0700).ok());
    db_ = dir_.path() + "/db/fleet.db";
    api_.name = "api";
    api_.domains = {"api.example.com"};
    api_.challenges = {"http-01"};
    api_.deploy = {"fake"};
    certificates_ = {spec_, api_};
    // The leaf covers the names of the order being finalized (the fixture's
    // CA signs for spec_ only).
    ca_->intercept = [this](const HttpRequest &r) -> std::optional<HttpResponse> {
      if (answer_) {
        if (auto a = answer_(r)) return a;
      }
      if (r.method != "POST" || r.url.rfind(ca_->Url("/cert/"), 0) != 0) return std::nullopt;
      std::vector<std::string> domains = spec_.domains;
      for (const auto &payload : ca_->payloads) {
        if (!payload.is_object() || !payload.contains("identifiers")) continue;
        domains.clear();
        for (const auto &id : payload["identifiers"]) domains.push_back(id["value"]);
      }
      return testing::ChainResponse(
          testing::SignCsr(pki_, ca_->last_csr_der, domains, clock_->Now()) +
          pki_.intermediate.cert_pem);
    };
  }

  Config HostConfig(const std::string &host) {
    Config c = config_;
    c.host = host;
    c.state_dir = dir_.path() + "/" + host;
    c.certificates = certificates_;
    return c;
  }

  // One host's engine over the shared inventory; before_claim: see
  // HookedLeases.
  std::unique_ptr<Engine> Host(const std::string &host,
                               std::function<void()> before_claim = nullptr) {
    EngineParts parts = Parts();
    auto opened = store::SqlInventory::Open(db_, store::SqliteOptions{clock_.get()});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return nullptr;
    store::Inventory *inventory = opened->get();
    Config c = HostConfig(host);
    EXPECT_TRUE(fs::MakeDirs(c.state_dir, 0700).ok());
    auto leases = store::SharedLeases(c.state_dir, inventory, host, clock_.get());
    parts.leases = before_claim
                       ? std::make_unique<HookedLeases>(std::move(leases), std::move(before_claim))
                       : std::move(leases);
    auto fleet = Fleet::Join(host, FleetKey(), inventory);
    EXPECT_TRUE(fleet.ok()) << fleet.status().ToString();
    if (!fleet.ok()) return nullptr;
    parts.fleet = std::move(*fleet);
    parts.inventory = std::move(*opened);
    auto engine = Engine::Assemble(c, std::move(parts));
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  // A second connection to the shared inventory, for the test's own reads.
  std::unique_ptr<store::SqlInventory> Inventory() {
    auto opened = store::SqlInventory::Open(db_, store::SqliteOptions{clock_.get()});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  RunReport RenewAll(Engine &engine) {
    RenewOptions options;
    options.all = true;
    auto report = engine.Renew(options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : RunReport{};
  }

  static const CertificateOutcome *Find(const RunReport &r, const std::string &name) {
    for (const CertificateOutcome &o : r.certificates) {
      if (o.name == name) return &o;
    }
    return nullptr;
  }

  std::string db_;
  CertificateSpec api_;
  std::vector<CertificateSpec> certificates_;  // every host's config
};

TEST_F(EngineFleetTest, ACertificateDueOnBothHostsIsRenewedOnce) {
  {
    auto edge1 = Host("edge-1");
    ASSERT_TRUE(edge1);
    ASSERT_EQ(IssueNow(*edge1).outcome, "issued");
  }
  ASSERT_EQ(ca_->CountPath("/new-order"), 1);
  clock_->Advance(80 * kDay);  // due on every host
  // edge-2 plans (web due), then edge-1 renews it before edge-2 claims it.
  std::unique_ptr<Engine> edge1 = Host("edge-1");
  ASSERT_TRUE(edge1);
  RunReport first;
  auto edge2 = Host("edge-2", [&]() {
    RenewOptions web;
    web.names = {"web"};
    auto r = edge1->Renew(web);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    first = *r;
  });
  ASSERT_TRUE(edge2);
  RenewOptions web;
  web.names = {"web"};
  auto second = edge2->Renew(web);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(first.certificates.size(), 1u);
  EXPECT_EQ(first.certificates[0].outcome, "renewed") << first.certificates[0].error.ToString();
  ASSERT_EQ(second->certificates.size(), 1u);
  const CertificateOutcome &o = second->certificates[0];
  // edge-2 orders nothing: it delivers the version edge-1 renewed.
  EXPECT_EQ(o.outcome, "deployed") << o.reason << " " << o.error.ToString();
  EXPECT_NE(o.reason.find("delivered on edge-2"), std::string::npos) << o.reason;
  EXPECT_FALSE(second->any_failed());
  EXPECT_EQ(ca_->CountPath("/new-order"), 2) << "renewed once, not once per host";
  auto inventory = Inventory();
  auto versions = inventory->ListVersions("web");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 2u);
  // Every attempt names the host that ran it.
  auto attempts = inventory->ListAttempts("web", 0);
  ASSERT_TRUE(attempts.ok());
  ASSERT_FALSE(attempts->empty());
  // Every attempt names the host that ran it: edge-1 ordered, edge-2 only
  // delivered.
  for (const store::Attempt &a : *attempts) {
    if (a.reason.rfind("deliver", 0) == 0) {
      EXPECT_EQ(a.host, "edge-2") << a.reason;
    } else {
      EXPECT_EQ(a.host, "edge-1") << a.reason;
    }
  }
}

TEST_F(EngineFleetTest, AClaimHeldByAnotherHostIsSkippedAndCounted) {
  certificates_ = {spec_};
  {
    auto edge1 = Host("edge-1");
    ASSERT_TRUE(edge1);
    ASSERT_EQ(IssueNow(*edge1).outcome, "issued");
  }
  clock_->Advance(80 * kDay);
  // edge-1 is working on web right now.
  auto held_inventory = Inventory();
  auto edge1_leases =
      store::SharedLeases(dir_.path() + "/edge-1", held_inventory.get(), "edge-1", clock_.get());
  auto claim = edge1_leases->Claim("web", std::chrono::seconds(60));
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  auto edge2 = Host("edge-2");
  ASSERT_TRUE(edge2);
  RunReport report = RenewAll(*edge2);
  const CertificateOutcome *web = Find(report, "web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->outcome, "skipped") << web->reason << " " << web->error.ToString();
  EXPECT_EQ(web->reason, "being renewed by edge-1");
  EXPECT_EQ(web->held_by, "edge-1");
  EXPECT_EQ(report.lease_conflicts, 1);
  EXPECT_FALSE(report.any_failed()) << "a lease conflict is not a failure";
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
}

TEST_F(EngineFleetTest, ANewVersionIsSharedBeforeItIsRecorded) {
  auto edge1 = Host("edge-1");
  ASSERT_TRUE(edge1);
  CertificateOutcome issued = IssueNow(*edge1);
  ASSERT_EQ(issued.outcome, "issued") << issued.error.ToString();
  auto inventory = Inventory();
  auto fleet = Fleet::Join("edge-2", FleetKey(), inventory.get());
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
  auto shared = (*fleet)->FetchVersion("web", issued.version->n);
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  StateLayout layout(dir_.path() + "/edge-1");
  auto local = layout.ReadVersion("web", issued.version->n);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(shared->key_pem, local->key_pem);
  EXPECT_EQ(shared->cert_pem, local->cert_pem);
}

TEST_F(EngineFleetTest, AVersionThatCannotBeSharedIsNotRecorded) {
  auto edge1 = Host("edge-1");
  ASSERT_TRUE(edge1);
  // Sharing goes through PutMaterial; a read-only material table (another
  // fleet's writer, a full disk) stands for any failure to share.
  auto inventory = Inventory();
  ASSERT_TRUE(inventory->database()
                  .Exec("CREATE TRIGGER no_versions BEFORE INSERT ON material "
                        "WHEN NEW.owner LIKE '%version%' BEGIN SELECT "
                        "RAISE(ABORT, 'refused'); END",
                        "test trigger")
                  .ok());
  auto outcome = edge1->Issue(spec_);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->outcome, "failed");
  EXPECT_NE(outcome->error.ToString().find("share version"), std::string::npos)
      << outcome->error.ToString();
  auto versions = inventory->ListVersions("web");
  ASSERT_TRUE(versions.ok());
  EXPECT_TRUE(versions->empty()) << "no host may see a version it cannot deliver";
}

TEST_F(EngineFleetTest, APendingOrderOfADeadHostIsResumedNotOrderedAgain) {
  bool finalize_down = true;
  answer_ = [&](const HttpRequest &r) -> std::optional<HttpResponse> {
    if (!finalize_down || r.url.rfind(ca_->Url("/finalize/"), 0) != 0) return std::nullopt;
    HttpResponse p;
    p.status = 503;
    p.headers.Add("Content-Type", "application/problem+json");
    p.body = R"({"type":"urn:ietf:params:acme:error:serverInternal","detail":"maintenance"})";
    return p;
  };
  {
    auto edge1 = Host("edge-1");
    ASSERT_TRUE(edge1);
    auto failed = edge1->Issue(spec_);
    ASSERT_TRUE(failed.ok()) << failed.status().ToString();
    ASSERT_EQ(failed->outcome, "failed");
    ASSERT_EQ(failed->error.code(), ErrorCode::kUnavailable) << failed->error.ToString();
  }  // edge-1 is gone; its claim with it
  // And its machine: nothing of edge-1's state directory is left to read.
  ASSERT_TRUE(fs::RemoveAll(dir_.path() + "/edge-1").ok());
  ASSERT_EQ(ca_->CountPath("/new-order"), 1);
  auto inventory = Inventory();
  auto cert = inventory->GetCertificate("web");
  ASSERT_TRUE(cert.ok());
  ASSERT_TRUE(cert->pending_order.has_value());
  const std::string order_url = cert->pending_order->order_url;
  auto pending_key = inventory->GetMaterial(store::PendingOrderMaterial("web"));
  ASSERT_TRUE(pending_key.ok());
  ASSERT_FALSE(pending_key->empty()) << "the pending order's key is shared";

  finalize_down = false;
  auto edge2 = Host("edge-2");
  ASSERT_TRUE(edge2);
  CertificateOutcome resumed = IssueNow(*edge2);
  EXPECT_EQ(resumed.outcome, "issued") << resumed.error.ToString();
  EXPECT_EQ(ca_->CountPath("/new-order"), 1) << "the pending order is resumed, not placed again";
  ASSERT_TRUE(resumed.version.has_value());
  auto version = inventory->GetVersion("web", resumed.version->n);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->order_url, order_url);
  auto forgotten = inventory->GetMaterial(store::PendingOrderMaterial("web"));
  ASSERT_TRUE(forgotten.ok());
  EXPECT_TRUE(forgotten->empty()) << "the ended order's key is removed";
}

TEST_F(EngineFleetTest, AnAccountRegisteredByOneHostIsUsedByTheOther) {
  {
    auto edge1 = Host("edge-1");
    ASSERT_TRUE(edge1);
    ASSERT_EQ(IssueNow(*edge1).outcome, "issued");
  }
  ASSERT_EQ(ca_->CountPath("/new-acct"), 1);
  auto edge2 = Host("edge-2");
  ASSERT_TRUE(edge2);
  auto outcome = edge2->Issue(api_);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->outcome, "issued") << outcome->error.ToString();
  EXPECT_EQ(ca_->CountPath("/new-acct"), 1) << "one account for the fleet";
  const std::string path =
      StateLayout(dir_.path() + "/edge-2").AccountKeyPath(ca_->directory_url());
  const std::string theirs =
      StateLayout(dir_.path() + "/edge-1").AccountKeyPath(ca_->directory_url());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0) << path;
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto mine = fs::ReadFile(path);
  auto original = fs::ReadFile(theirs);
  ASSERT_TRUE(mine.ok() && original.ok());
  EXPECT_EQ(*mine, *original);
}

TEST_F(EngineFleetTest, AWrongFleetKeyFailsAtJoinAndChangesNothing) {
  {
    auto edge1 = Host("edge-1");
    ASSERT_TRUE(edge1);
    ASSERT_EQ(IssueNow(*edge1).outcome, "issued");
  }
  auto inventory = Inventory();
  auto dump = [&]() {
    std::string all;
    auto st = inventory->database().Prepare(
        "SELECT owner || name || content FROM material ORDER BY owner, name", "test dump");
    EXPECT_TRUE(st.ok());
    while (st.ok()) {
      auto row = st->Step();
      if (!row.ok() || !*row) break;
      all += st->Text(0) + "\n";
    }
    return all;
  };
  const std::string material = dump();
  auto wrong = Fleet::Join("edge-2", FleetKey('x'), inventory.get());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(dump(), material);
  const std::string path =
      StateLayout(dir_.path() + "/edge-2").AccountKeyPath(ca_->directory_url());
  EXPECT_FALSE(fs::Exists(path));
}

TEST_F(EngineFleetTest, TwoHostsCannotTogetherOvershootABudget) {
  {
    auto edge1 = Host("edge-1");
    ASSERT_TRUE(edge1);
    ASSERT_EQ(IssueNow(*edge1).outcome, "issued");
    ASSERT_EQ(edge1->Issue(api_).value().outcome, "issued");
  }
  ASSERT_EQ(ca_->CountPath("/new-order"), 2);
  clock_->Advance(80 * kDay);
  BudgetSettings one_order;
  one_order.new_orders_per_3h = 1;
  config_.renewal.budgets = one_order;
  // edge-2 plans with the request log before edge-1's order: both are due.
  std::unique_ptr<Engine> edge1 = Host("edge-1");
  ASSERT_TRUE(edge1);
  auto edge2 = Host("edge-2", [&]() {
    RenewOptions web;
    web.names = {"web"};
    auto r = edge1->Renew(web);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_FALSE(r->certificates.empty());
    EXPECT_EQ(r->certificates.back().outcome, "renewed") << r->certificates.back().error.ToString();
  });
  ASSERT_TRUE(edge2);
  RenewOptions api;
  api.names = {"api"};
  auto report = edge2->Renew(api);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // edge-2 also delivers the versions edge-1 holds (a delivery's outcome
  // stands for a deferred one in the report); api is not renewed.
  auto api_outcome = std::find_if(report->certificates.begin(), report->certificates.end(),
                                  [](const CertificateOutcome &c) { return c.name == "api"; });
  ASSERT_NE(api_outcome, report->certificates.end());
  EXPECT_NE(api_outcome->outcome, "renewed") << api_outcome->reason;
  EXPECT_EQ(ca_->CountPath("/new-order"), 3) << "one order in the window, fleet-wide";
}

TEST_F(EngineFleetTest, AHostRenewsOnlyWhatItDelivers) {
  CertificateSpec elsewhere = spec_;
  elsewhere.hosts = {"edge-1"};
  certificates_ = {elsewhere};
  auto edge2 = Host("edge-2");
  ASSERT_TRUE(edge2);
  RenewOptions named;
  named.names = {"web"};
  auto refused = edge2->Renew(named);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.status().ToString().find("not delivered by this host"), std::string::npos)
      << refused.status().ToString();
  RunReport all = RenewAll(*edge2);
  EXPECT_TRUE(all.certificates.empty());
  EXPECT_EQ(ca_->CountPath("/new-order"), 0);
}

}  // namespace
}  // namespace certkeeper::lifecycle
