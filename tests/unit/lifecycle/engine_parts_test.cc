// An engine assembled from parts (Engine::Assemble): a SQLite inventory in a
// temporary directory behind a fault-injecting decorator, leases that may
// refuse, the scripted CA of tests/unit/acme/fake_ca.h through the ACME client
// factory, a fake solver and a fake deploy function. Issue and Renew run end
// to end without Pebble, and the error paths that used to be dropped are
// driven by failing one inventory operation.
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fs.h"
#include "lifecycle/engine.h"
#include "lifecycle/engine_parts.h"
#include "store/sql_inventory.h"
#include "tests/unit/acme/fake_ca.h"
#include "tests/unit/hooks/test_pki.h"
#include "tests/unit/lifecycle/engine_parts_fixture.h"
#include "tests/unit/lifecycle/failing_inventory.h"

namespace certkeeper::lifecycle {
namespace {

using acme::HttpRequest;
using acme::HttpResponse;
using acme::testing::FakeCa;
using testing::EnginePartsTest;
using testing::FailingInventory;
using testing::kDay;
using testing::RefusingLeases;
using std::chrono::hours;

TEST_F(EnginePartsTest, IssuesAndRenewsThroughTheGivenParts) {
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(solver_sets_made_, 0) << "solvers are made on first use, not when assembled";

  CertificateOutcome issued = IssueNow(*engine);
  ASSERT_TRUE(issued.error.ok()) << issued.error.ToString();
  EXPECT_EQ(issued.outcome, "issued");
  ASSERT_TRUE(issued.version.has_value());
  EXPECT_EQ(issued.version->n, 1);
  EXPECT_EQ(issued.version->state, "deployed");
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
  EXPECT_EQ(ca_->CountPath("/finalize/"), 1);
  EXPECT_EQ(presented_, 1);
  EXPECT_EQ(delivered_, std::vector<int>{1});
  auto live = inventory_->inner().LiveVersion("web");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->n, 1);
  EXPECT_TRUE(fs::Exists(config_.state_dir + "/live/web/fullchain.pem"));

  // Not due yet: no request at all.
  RenewOptions all;
  all.all = true;
  auto quiet = engine->Renew(all);
  ASSERT_TRUE(quiet.ok()) << quiet.status().ToString();
  ASSERT_EQ(quiet->certificates.size(), 1u);
  EXPECT_EQ(quiet->certificates[0].outcome, "not-due") << quiet->certificates[0].reason;
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);

  // 80 of 90 days later it is due, and the renewal goes through the same parts.
  clock_->Advance(80 * kDay);
  auto renewed = engine->Renew(all);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  ASSERT_EQ(renewed->certificates.size(), 1u);
  const CertificateOutcome& out = renewed->certificates[0];
  EXPECT_EQ(out.outcome, "renewed") << out.reason << " " << out.error.ToString();
  EXPECT_EQ(ca_->CountPath("/new-order"), 2);
  EXPECT_EQ(delivered_, (std::vector<int>{1, 2}));
  EXPECT_EQ(solver_sets_made_, 1);
  live = inventory_->inner().LiveVersion("web");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->n, 2);
}

TEST_F(EnginePartsTest, RefusedLeaseStopsIssueAndRenewBeforeAnyCaRequest) {
  auto leases = std::make_unique<RefusingLeases>();
  RefusingLeases* refusing = leases.get();
  auto engine = Assemble(Parts(std::move(leases)));
  ASSERT_NE(engine, nullptr);

  auto issued = engine->Issue(spec_);
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.status().code(), ErrorCode::kLocked) << issued.status().ToString();

  RenewOptions options;
  options.all = true;
  options.force = true;
  auto renewed = engine->Renew(options);
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.status().code(), ErrorCode::kLocked) << renewed.status().ToString();

  EXPECT_EQ(refusing->refusals, 2);
  EXPECT_TRUE(ca_->requests.empty()) << ca_->requests.size() << " requests, first "
                                     << ca_->requests.front().url;
  EXPECT_TRUE(delivered_.empty());
}

TEST_F(EnginePartsTest, AssembleNamesTheMissingPart) {
  EngineParts parts = Parts();
  parts.acme_clients = nullptr;
  auto engine = Engine::Assemble(config_, std::move(parts));
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(engine.status().message().find("acme_clients"), std::string::npos)
      << engine.status().ToString();
}

// A pending order that cannot be recorded could not be resumed by a run killed
// after finalize: the issuance ends before any further request about it.
TEST_F(EnginePartsTest, UnrecordedPendingOrderFailsBeforeAnyFurtherRequest) {
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  inventory_->Fail("SetPendingOrder");
  CertificateOutcome out = IssueNow(*engine);
  EXPECT_EQ(out.outcome, "failed");
  EXPECT_EQ(out.error.code(), ErrorCode::kIo) << out.error.ToString();
  EXPECT_NE(out.error.ToString().find("pending order"), std::string::npos)
      << out.error.ToString();
  EXPECT_EQ(inventory_->Refused("SetPendingOrder"), 1);
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
  EXPECT_EQ(ca_->CountPath("/authz/"), 0);
  EXPECT_EQ(ca_->CountPath("/chall/"), 0);
  EXPECT_EQ(ca_->CountPath("/finalize/"), 0);
  EXPECT_EQ(presented_, 0);
  auto versions = inventory_->inner().ListVersions("web");
  ASSERT_TRUE(versions.ok());
  EXPECT_TRUE(versions->empty());
  // Recorded as a failed attempt, with backoff.
  auto cert = inventory_->inner().GetCertificate("web");
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->schedule.consecutive_failures, 1);
}

// Reads that fail are not "nothing there" when that would reach the CA.
TEST_F(EnginePartsTest, UnreadableLiveVersionOrPendingOrderPlacesNoOrder) {
  for (const char* operation : {"LiveVersion", "GetCertificate"}) {
    SCOPED_TRACE(operation);
    auto engine = Assemble(Parts());
    ASSERT_NE(engine, nullptr);
    const int orders_before = ca_->CountPath("/new-order");
    inventory_->Fail(operation);
    CertificateOutcome out = IssueNow(*engine);
    EXPECT_EQ(out.outcome, "failed");
    EXPECT_EQ(out.error.code(), ErrorCode::kIo) << out.error.ToString();
    EXPECT_EQ(ca_->CountPath("/new-order"), orders_before);
    EXPECT_EQ(ca_->CountPath("/finalize/"), 0);
    inventory_->Heal();
  }
}

// An account record that cannot be read is not "no account yet": registering
// again would be a request to the CA on a read that failed.
TEST_F(EnginePartsTest, UnreadableAccountRegistersNothing) {
  {
    auto engine = Assemble(Parts());
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(IssueNow(*engine).error.ok());  // registers the account
  }
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  const int registrations = ca_->CountPath("/new-acct");
  const int orders = ca_->CountPath("/new-order");
  inventory_->Fail("FindAccount");
  auto out = engine->Issue(spec_);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kIo) << out.status().ToString();
  EXPECT_NE(out.status().ToString().find("FindAccount"), std::string::npos)
      << out.status().ToString();
  EXPECT_EQ(ca_->CountPath("/new-acct"), registrations);
  EXPECT_EQ(ca_->CountPath("/new-order"), orders);
  inventory_->Heal();
}

// The success records after a delivery are best effort: the certificate is
// issued and delivered whatever they say, and the outcome says so.
TEST_F(EnginePartsTest, SuccessRecordsThatFailDoNotUndoTheOutcome) {
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  inventory_->Fail("FinishAttempt");
  inventory_->Fail("SetSchedule");
  CertificateOutcome out = IssueNow(*engine);
  EXPECT_TRUE(out.error.ok()) << out.error.ToString();
  EXPECT_EQ(out.outcome, "issued");
  EXPECT_EQ(inventory_->Refused("FinishAttempt"), 1);
  EXPECT_EQ(inventory_->Refused("SetSchedule"), 1);
  auto live = inventory_->inner().LiveVersion("web");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->n, 1);
}

// Whom a rate limit holds back follows from where the CA said it, not from
// its prose: a newOrder limit whose detail mentions the account stays with
// the certificate (so other certificates still try), one at newAccount holds
// back every certificate of the account.
TEST_F(EnginePartsTest, RateLimitScopeComesFromTheUrlNotTheDetail) {
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  RateLimit("/new-order", "too many new orders recently for this account");
  CertificateOutcome out = IssueNow(*engine);
  EXPECT_EQ(out.outcome, "failed");
  EXPECT_EQ(out.error.code(), ErrorCode::kRateLimited) << out.error.ToString();
  auto limits = inventory_->inner().ListCaLimits(clock_->Now());
  ASSERT_TRUE(limits.ok());
  EXPECT_TRUE(limits->empty()) << limits->front().scope;
  auto cert = inventory_->inner().GetCertificate("web");
  ASSERT_TRUE(cert.ok());
  ASSERT_TRUE(cert->schedule.ca_retry_after.has_value());
  EXPECT_EQ(*cert->schedule.ca_retry_after, clock_->Now() + hours(1));
}

TEST_F(EnginePartsTest, RateLimitAtNewAccountHoldsBackTheAccount) {
  config_.certificates = {spec_};
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  RateLimit("/new-acct", "too many registrations");
  RenewOptions all;
  all.all = true;
  auto first = engine->Renew(all);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->certificates.size(), 1u);
  EXPECT_EQ(first->certificates[0].outcome, "failed");
  auto limits = inventory_->inner().ListCaLimits(clock_->Now());
  ASSERT_TRUE(limits.ok());
  ASSERT_EQ(limits->size(), 1u);
  EXPECT_EQ((*limits)[0].scope, store::AccountScope(""));
  EXPECT_EQ((*limits)[0].until, clock_->Now() + hours(1));

  // The next run, before the CA's time, asks nothing.
  const size_t requests = ca_->requests.size();
  engine.reset();
  engine = Assemble(Parts());
  auto second = engine->Renew(all);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->certificates.size(), 1u);
  EXPECT_EQ(second->certificates[0].outcome, "deferred") << second->certificates[0].reason;
  EXPECT_EQ(ca_->requests.size(), requests);
}

}  // namespace
}  // namespace certkeeper::lifecycle
