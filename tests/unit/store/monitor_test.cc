// MonitorStore: probe history, revocation answers, alert state, runs, CA
// status and request counters.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

ProbeRecord SampleProbe(const std::string& endpoint, TimePoint at, bool ok) {
  ProbeRecord p;
  p.endpoint = endpoint;
  p.address = endpoint;
  p.sni = "www.example.com";
  p.certificate = "web";
  p.at = at;
  p.ok = ok;
  p.error = ok ? "" : "connection refused";
  p.handshake_us = 1234;
  p.serial = "0abc";
  p.fingerprint = std::string(64, 'b');
  p.issuer = "CN=Test CA";
  p.names = {"www.example.com", "example.com"};
  p.not_before = at - hours(24);
  p.not_after = at + hours(24 * 60);
  p.names_match = true;
  p.chain_valid = ok;
  p.live_match = ok ? "yes" : "";
  return p;
}

using MonitorStoreTest = StoreTest;

TEST_F(MonitorStoreTest, ProbesKeepHistoryAndTheNewestPerEndpoint) {
  ASSERT_TRUE(inv_->AddProbe(SampleProbe("10.0.0.1:443", T0(), true)).ok());
  ASSERT_TRUE(inv_->AddProbe(SampleProbe("10.0.0.1:443", T0() + hours(1), false)).ok());
  ASSERT_TRUE(inv_->AddProbe(SampleProbe("10.0.0.2:443", T0(), true)).ok());

  auto latest = inv_->LatestProbes();
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].endpoint, "10.0.0.1:443");
  EXPECT_FALSE((*latest)[0].ok);
  EXPECT_EQ((*latest)[0].error, "connection refused");
  EXPECT_EQ((*latest)[1].endpoint, "10.0.0.2:443");
  EXPECT_TRUE((*latest)[1].ok);
  EXPECT_EQ((*latest)[1].names, (std::vector<std::string>{"www.example.com", "example.com"}));
  EXPECT_EQ((*latest)[1].not_after, T0() + hours(24 * 60));
  EXPECT_EQ((*latest)[1].live_match, "yes");
  EXPECT_EQ((*latest)[1].handshake_us, 1234);

  auto history = inv_->ListProbes("10.0.0.1:443", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_GT((*history)[0].at, (*history)[1].at);  // newest first

  // Pruning keeps each endpoint's newest probe, however old.
  auto pruned = inv_->PruneProbes(T0() + hours(48));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);
  latest = inv_->LatestProbes();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->size(), 2u);
}

TEST_F(MonitorStoreTest, AProbeNeedsAnEndpoint) {
  ProbeRecord p = SampleProbe("", T0(), true);
  auto added = inv_->AddProbe(p);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(MonitorStoreTest, RevocationAnswersAreReplacedPerVersionAndMethod) {
  RevocationRecord r;
  r.certificate = "web";
  r.version = 2;
  r.method = "ocsp";
  r.status = "good";
  r.url = "http://ocsp.example.com";
  r.checked_at = T0();
  r.this_update = T0() - hours(1);
  r.next_update = T0() + hours(24);
  ASSERT_TRUE(inv_->PutRevocation(r).ok());
  r.status = "revoked";
  r.revoked_at = T0() + seconds(5);
  r.reason = "keyCompromise";
  ASSERT_TRUE(inv_->PutRevocation(r).ok());
  RevocationRecord crl = r;
  crl.method = "crl";
  crl.status = "error";
  crl.error = "timed out";
  crl.revoked_at.reset();
  ASSERT_TRUE(inv_->PutRevocation(crl).ok());

  auto all = inv_->ListRevocations();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].method, "crl");
  EXPECT_EQ((*all)[0].error, "timed out");
  EXPECT_EQ((*all)[1].method, "ocsp");
  EXPECT_EQ((*all)[1].status, "revoked");
  EXPECT_EQ((*all)[1].reason, "keyCompromise");
  EXPECT_EQ((*all)[1].revoked_at, T0() + seconds(5));
  EXPECT_EQ((*all)[1].next_update, T0() + hours(24));

  r.method = "dane";
  EXPECT_EQ(inv_->PutRevocation(r).code(), ErrorCode::kInvalidArgument);
  r.method = "ocsp";
  r.status = "maybe";
  EXPECT_EQ(inv_->PutRevocation(r).code(), ErrorCode::kInvalidArgument);
}

// The states are the answers' own, in the same order, with and without a
// nextUpdate, and none of the answers of a certificate left out.
TEST_F(MonitorStoreTest, RevocationStatesAreTheAnswersOwn) {
  auto put = [&](const std::string& name, int n, const std::string& method,
                 const std::string& status, std::optional<TimePoint> next_update) {
    RevocationRecord r;
    r.certificate = name;
    r.version = n;
    r.method = method;
    r.status = status;
    r.url = "http://ca.example/" + method;
    r.checked_at = T0() - seconds(n);
    r.next_update = next_update;
    if (status == "error") r.error = "timed out";
    if (status == "revoked") r.reason = "keyCompromise";
    Status s = inv_->PutRevocation(r);
    ASSERT_TRUE(s.ok()) << s.ToString();
  };
  put("web", 2, "ocsp", "good", T0() + hours(12));
  put("web", 2, "crl", "good", std::nullopt);
  put("web", 1, "crl", "error", std::nullopt);
  put("api", 1, "crl", "revoked", T0() + hours(1));
  put("web-2", 1, "ocsp", "unknown", T0());
  put("web", 10, "crl", "good", T0() + hours(2));
  auto states = inv_->ListRevocationStates();
  ASSERT_TRUE(states.ok()) << states.status().ToString();
  auto all = inv_->ListRevocations();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(states->size(), 6u);
  ASSERT_EQ(states->size(), all->size());
  for (size_t i = 0; i < all->size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ((*states)[i].certificate, (*all)[i].certificate);
    EXPECT_EQ((*states)[i].version, (*all)[i].version);
    EXPECT_EQ((*states)[i].method, (*all)[i].method);
    EXPECT_EQ((*states)[i].status, (*all)[i].status);
    EXPECT_EQ((*states)[i].checked_at, (*all)[i].checked_at);
    EXPECT_EQ((*states)[i].next_update, (*all)[i].next_update);
  }
  // Ordered by certificate, version (a number: 2 before 10), method.
  EXPECT_EQ((*states)[0].certificate, "api");
  EXPECT_EQ((*states)[1].version, 1);
  EXPECT_EQ((*states)[2].method, "crl");
  EXPECT_EQ((*states)[3].method, "ocsp");
  EXPECT_EQ((*states)[3].next_update, T0() + hours(12));
  EXPECT_EQ((*states)[2].next_update, std::nullopt);
  EXPECT_EQ((*states)[4].version, 10);
  EXPECT_EQ((*states)[5].certificate, "web-2");
  EXPECT_EQ((*states)[5].status, "unknown");
}

TEST_F(MonitorStoreTest, AlertStateIsKeptPerAlertEventAndSubject) {
  AlertState a;
  a.alert = "ops";
  a.event = "expiring";
  a.subject = "web";
  a.state = "firing";
  a.since = T0();
  a.detail = "expires in 3 days";
  ASSERT_TRUE(inv_->PutAlertState(a).ok());
  a.notified = true;
  ASSERT_TRUE(inv_->PutAlertState(a).ok());
  AlertState b = a;
  b.subject = "api";
  b.failures = 2;
  b.next_try_at = T0() + hours(1);
  b.last_error = "503";
  ASSERT_TRUE(inv_->PutAlertState(b).ok());

  auto all = inv_->ListAlertStates();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].subject, "api");
  EXPECT_EQ((*all)[0].failures, 2);
  EXPECT_EQ((*all)[0].next_try_at, T0() + hours(1));
  EXPECT_EQ((*all)[1].subject, "web");
  EXPECT_TRUE((*all)[1].notified);

  ASSERT_TRUE(inv_->DeleteAlertState("ops", "expiring", "web").ok());
  all = inv_->ListAlertStates();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  a.state = "gone";
  EXPECT_EQ(inv_->PutAlertState(a).code(), ErrorCode::kInvalidArgument);
}

TEST_F(MonitorStoreTest, TheLatestRunOfEachKind) {
  auto none = inv_->LatestRun("renew");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(inv_->AddRun({0, "renew", T0(), T0() + seconds(3), {{"renewed", 2}}}).ok());
  ASSERT_TRUE(inv_->AddRun({0, "probe", T0(), T0() + seconds(1), {{"ok", 1}}}).ok());
  ASSERT_TRUE(
      inv_->AddRun({0, "renew", T0() + hours(1), T0() + hours(1) + seconds(2),
                    {{"not-due", 5}, {"failed", 1}}})
          .ok());
  auto renew = inv_->LatestRun("renew");
  ASSERT_TRUE(renew.ok() && renew->has_value());
  EXPECT_EQ((*renew)->started_at, T0() + hours(1));
  EXPECT_EQ((*renew)->outcomes, (std::map<std::string, int>{{"failed", 1}, {"not-due", 5}}));
  auto probe = inv_->LatestRun("probe");
  ASSERT_TRUE(probe.ok() && probe->has_value());
  EXPECT_EQ((*probe)->outcomes.at("ok"), 1);
}

TEST_F(MonitorStoreTest, CaStatusAndCumulativeRequestCounters) {
  CaStatusRecord c;
  c.ca = "le";
  c.server = "https://ca/dir";
  c.last_failure_at = T0();
  c.last_error = "connection refused";
  c.unreachable_runs = 2;
  ASSERT_TRUE(inv_->PutCaStatus(c).ok());
  c.unreachable_runs = 3;
  ASSERT_TRUE(inv_->PutCaStatus(c).ok());
  auto all = inv_->ListCaStatus();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].unreachable_runs, 3);
  EXPECT_FALSE((*all)[0].last_ok_at.has_value());

  ASSERT_TRUE(inv_->AddCaRequests("https://ca/dir", {{"newOrder", 2}, {"finalize", 1}}).ok());
  ASSERT_TRUE(inv_->AddCaRequests("https://ca/dir", {{"newOrder", 3}}).ok());
  ASSERT_TRUE(inv_->AddCaRequests("https://other/dir", {{"newOrder", 1}}).ok());
  auto totals = inv_->CaRequestTotals();
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ((*totals)["https://ca/dir"]["newOrder"], 5);
  EXPECT_EQ((*totals)["https://ca/dir"]["finalize"], 1);
  EXPECT_EQ((*totals)["https://other/dir"]["newOrder"], 1);
  EXPECT_EQ(inv_->AddCaRequests("https://ca/dir", {{"newOrder", -1}}).code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace certkeeper::store::testing
