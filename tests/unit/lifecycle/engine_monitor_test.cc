// Monitoring inside the engine: what a renewal run records about itself and
// about its CA, and the snapshot built from it.
#include <gtest/gtest.h>

#include "lifecycle/monitor.h"
#include "engine_parts_fixture.h"

namespace certkeeper::lifecycle::testing {
namespace {

using EngineMonitorTest = EnginePartsTest;

RenewOptions All(bool force = false) {
  RenewOptions o;
  o.all = true;
  o.force = force;
  return o;
}

TEST_F(EngineMonitorTest, ARenewalRunRecordsItselfItsCaAndItsRequests) {
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(IssueNow(*engine).error.ok());
  clock_->Advance(80 * kDay);
  // The fake clock moves on polls; the inventory keeps whole seconds.
  const TimePoint before = clock_->Now() - std::chrono::seconds(1);
  auto renewed = engine->Renew(All());
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  ASSERT_EQ(renewed->certificates.at(0).outcome, "renewed");

  auto snap = engine->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_TRUE(snap->last_renew.has_value());
  EXPECT_EQ(snap->last_renew->outcomes, (std::map<std::string, int>{{"renewed", 1}}));
  EXPECT_FALSE(snap->last_probe.has_value());
  ASSERT_EQ(snap->cas.size(), 1u);
  const CaStatusView& ca = snap->cas[0];
  EXPECT_EQ(ca.server, ca_->directory_url());
  EXPECT_TRUE(ca.up);
  ASSERT_TRUE(ca.last_ok_at.has_value());
  EXPECT_GE(*ca.last_ok_at, before);
  EXPECT_LE(*ca.last_ok_at, clock_->Now());
  EXPECT_EQ(ca.unreachable_runs, 0);
  // The engine's client sent both orders; the run records what it had not
  // recorded yet, so the counter is cumulative and counts nothing twice.
  EXPECT_EQ(ca.requests.at("newOrder"), 2);
  ASSERT_EQ(snap->certificates.size(), 1u);
  const CertificateView& web = snap->certificates[0];
  ASSERT_TRUE(web.last_success.has_value());
  EXPECT_GE(*web.last_success, before);
  ASSERT_TRUE(web.renew_at.has_value());
  EXPECT_GT(*web.renew_at, clock_->Now());
  EXPECT_EQ(web.consecutive_failures, 0);
  EXPECT_FALSE(web.newest.has_value());

  auto again = engine->Renew(All(/*force=*/true));
  ASSERT_TRUE(again.ok());
  snap = engine->Snapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->cas[0].requests.at("newOrder"), 3);
}

TEST_F(EngineMonitorTest, ACaThatNoOrderReachesCountsUnreachableRuns) {
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(IssueNow(*engine).error.ok());
  answer_ = [this](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.url != ca_->Url("/new-order")) return std::nullopt;
    HttpResponse response;
    response.status = 503;
    response.body = "maintenance";
    return response;
  };
  for (int run = 1; run <= 2; ++run) {
    auto report = engine->Renew(All(/*force=*/true));
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->certificates.at(0).outcome, "failed");
  }
  auto snap = engine->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->cas.size(), 1u);
  EXPECT_FALSE(snap->cas[0].up);
  EXPECT_EQ(snap->cas[0].unreachable_runs, 2);
  EXPECT_FALSE(snap->cas[0].last_error.empty());
  EXPECT_EQ(snap->last_renew->outcomes, (std::map<std::string, int>{{"failed", 1}}));
  EXPECT_EQ(snap->certificates.at(0).consecutive_failures, 2);

  // Reached again: up, and the streak ends.
  answer_ = nullptr;
  auto report = engine->Renew(All(/*force=*/true));
  ASSERT_TRUE(report.ok());
  snap = engine->Snapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->cas[0].up);
  EXPECT_EQ(snap->cas[0].unreachable_runs, 0);
}

TEST_F(EngineMonitorTest, RecordingTheRunNeverChangesItsOutcome) {
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(IssueNow(*engine).error.ok());
  inventory_->Fail("AddRun");
  inventory_->Fail("PutCaStatus");
  auto report = engine->Renew(All(/*force=*/true));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->certificates.at(0).outcome, "renewed");
  EXPECT_GE(inventory_->Refused("AddRun"), 1);
}

TEST_F(EngineMonitorTest, ASnapshotThatCannotBeReadIsAnError) {
  auto engine = Assemble(Parts());
  ASSERT_NE(engine, nullptr);
  inventory_->Fail("ListCaStatus");
  auto snap = engine->Snapshot();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace certkeeper::lifecycle::testing
