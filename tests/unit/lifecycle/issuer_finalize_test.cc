// Finalizing right after the CA's validation requests, end to end against the
// scripted CA (issuer_fixture.h): when every presented route's solver saw the
// CA fetch its answer, the order is finalized without polling the
// authorizations; when the CA answers orderNotReady (RFC 8555 §7.4), each
// authorization is polled as without the shortcut, and a rejected one fails
// over to the next type on a new order. A solver that cannot see the CA keeps
// the authorization poll.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/unit/lifecycle/issuer_fixture.h"

namespace certkeeper::lifecycle::testing {
namespace {

using challenges::kDns01;
using challenges::kHttp01;


class IssuerFinalizeTest : public IssuerFlowTest {
 protected:
  // The http-01 solver sees the CA's requests (one, before its first timeout).
  void Http01SeesTheCa() {
    challenges::ServedWaitResult seen;
    seen.served = 1;
    Solver(kHttp01).fetched = seen;
  }
  // Issues spec_ and counts the requests the issuance sent.
  Result<IssueResult> IssueCounted(std::vector<std::string> challenge_list) {
    const size_t before = ca_->requests.size();
    auto issued = Issue(std::move(challenge_list));
    requests_ = static_cast<int>(ca_->requests.size() - before);
    return issued;
  }
  int Count(const std::string& call) const {
    return static_cast<int>(std::count(calls_.begin(), calls_.end(), call));
  }

  int requests_ = 0;
};

// newOrder, authorization, challenge, authorization poll, finalize, order poll,
// certificate.
constexpr int kPolledRequests = 7;

TEST_F(IssuerFinalizeTest, ASolverThatSawTheCaLetsTheOrderBeFinalizedWithoutAnAuthorizationPoll) {
  spec_.domains = {kA};
  Http01SeesTheCa();
  auto issued = IssueCounted({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(requests_, kPolledRequests - 1);
  EXPECT_EQ(ca_->CountPath("/authz/"), 1);  // the authorization's fetch, no poll
  EXPECT_EQ(ca_->CountPath("/finalize/"), 1);
  EXPECT_EQ(Solver(kHttp01).awaited, 1);
  EXPECT_EQ(issued->challenge, kHttp01);
  EXPECT_EQ(Steps(), kOneNameByHttp01);
  EXPECT_EQ(calls_, (Lines{"http-01 self-check a.example.com", "http-01 present a.example.com",
                           "http-01 cleanup a.example.com"}));
}

TEST_F(IssuerFinalizeTest, OrderNotReadyAfterTheFetchesPollsTheAuthorizationAndFinalizesAgain) {
  spec_.domains = {kA};
  Http01SeesTheCa();
  ca_->finalize_not_ready = 1;
  auto issued = IssueCounted({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(requests_, kPolledRequests + 1);
  EXPECT_EQ(ca_->CountPath("/authz/"), 2);
  EXPECT_EQ(ca_->CountPath("/finalize/"), 2);
  EXPECT_EQ(Solver(kHttp01).awaited, 1);  // the poll does not wait for the fetches again
  EXPECT_EQ(Steps(), kOneNameByHttp01);
  EXPECT_EQ(Count("http-01 cleanup a.example.com"), 1);
  // The CSR of the early finalize is sent again, not made (and signed) anew:
  // an ECDSA signature differs each time it is made.
  std::vector<std::string> csrs;
  for (const auto& payload : ca_->payloads) {
    if (payload.is_object() && payload.contains("csr")) csrs.push_back(payload["csr"]);
  }
  ASSERT_EQ(csrs.size(), 2u);
  EXPECT_EQ(csrs[0], csrs[1]);
}

TEST_F(IssuerFinalizeTest, AValidationStillProcessingAtTheFinalizeIsPolledUntilDecided) {
  spec_.domains = {kA};
  Http01SeesTheCa();
  ca_->authz_pending_polls = 1;
  auto issued = IssueCounted({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(ca_->CountPath("/authz/"), 3);  // the fetch, a poll still pending, the valid one
  EXPECT_EQ(ca_->CountPath("/finalize/"), 2);
  EXPECT_EQ(Steps(), kOneNameByHttp01);
  EXPECT_EQ(Count("http-01 cleanup a.example.com"), 1);
}

TEST_F(IssuerFinalizeTest, ARejectionFoundAfterOrderNotReadyFailsOverAsWithoutTheShortcut) {
  spec_.domains = {kA};
  Http01SeesTheCa();
  Reject(kA, kHttp01, "the token was not found");
  auto issued = IssueCounted({"http-01", "dns-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(Steps(), (Lines{"order ok",
                            "self-check http-01 a.example.com ok",
                            "present http-01 a.example.com ok",
                            "validation http-01 a.example.com failed",
                            "order ok",
                            "self-check dns-01 a.example.com ok",
                            "present dns-01 a.example.com ok",
                            "validation dns-01 a.example.com ok",
                            "finalize ok",
                            "download ok"}));
  EXPECT_EQ(StepError("validation http-01 a.example.com"),
            "CA rejected the validation (invalid): incorrectResponse: the token was not found");
  EXPECT_EQ(calls_, (Lines{"http-01 self-check a.example.com", "http-01 present a.example.com",
                           "http-01 cleanup a.example.com", "dns-01 self-check a.example.com",
                           "dns-01 present a.example.com", "dns-01 cleanup a.example.com"}));
  EXPECT_EQ(orders_created_, (Lines{ca_->Url("/order/1"), ca_->Url("/order/2")}));
  EXPECT_EQ(rejected_, (Lines{kA}));
  EXPECT_EQ(issued->challenge, kDns01);
  EXPECT_EQ(issued->order_url, ca_->Url("/order/2"));
  // The rejected order was finalized once, too early; the second only after
  // its authorization was polled.
  EXPECT_EQ(ca_->CountPath("/finalize/1"), 1);
  EXPECT_EQ(ca_->CountPath("/finalize/2"), 1);
}

TEST_F(IssuerFinalizeTest, ASolverThatCannotSeeTheCaKeepsTheAuthorizationPoll) {
  spec_.domains = {kA};
  auto issued = IssueCounted({"dns-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(requests_, kPolledRequests);
  EXPECT_EQ(ca_->CountPath("/authz/"), 2);
  EXPECT_EQ(ca_->CountPath("/finalize/"), 1);
  EXPECT_EQ(Count("dns-01 cleanup a.example.com"), 1);
}

TEST_F(IssuerFinalizeTest, ASolverThatSawNoRequestKeepsTheAuthorizationPoll) {
  spec_.domains = {kA};
  challenges::ServedWaitResult none;
  none.timed_out = true;
  Solver(kHttp01).fetched = none;
  auto issued = IssueCounted({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(requests_, kPolledRequests);
  EXPECT_EQ(ca_->CountPath("/authz/"), 2);
  EXPECT_EQ(ca_->CountPath("/finalize/"), 1);
  EXPECT_EQ(Solver(kHttp01).awaited, 2);  // the first poll waits for the CA once more
  EXPECT_EQ(Steps(), kOneNameByHttp01);
}

// One route the CA cannot be seen through keeps the poll for the whole order.
TEST_F(IssuerFinalizeTest, OneRouteThatCannotSeeTheCaKeepsThePollForEveryRoute) {
  const std::string b = "b.example.com";
  spec_.domains = {kA, b};
  Http01SeesTheCa();
  Solver(kHttp01).FailFor("self-check", b);
  auto issued = IssueCounted({"http-01", "dns-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(ca_->CountPath("/authz/"), 4);  // two fetches, two polls
  EXPECT_EQ(ca_->CountPath("/finalize/"), 1);
  EXPECT_EQ(Count("http-01 cleanup a.example.com"), 1);
  EXPECT_EQ(Count("dns-01 cleanup b.example.com"), 1);
}

}  // namespace
}  // namespace certkeeper::lifecycle::testing
