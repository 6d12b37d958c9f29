// The order around the failover, end to end against the scripted CA
// (issuer_fixture.h): resuming an order an interrupted run left, ordering again
// without "replaces" when the CA says alreadyReplaced (RFC 9773 §5), finalizing
// after orderNotReady (RFC 8555 §7.4), and refusing a certificate for another
// key or for fewer names than ordered.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/unit/lifecycle/issuer_fixture.h"

namespace certkeeper::lifecycle::testing {
namespace {

using challenges::kHttp01;

const std::string kOrderB = "b.example.com";

// The payloads of the newOrder requests the CA received, in order.
std::vector<nlohmann::json> NewOrderPayloads(const acme::testing::FakeCa& ca) {
  std::vector<nlohmann::json> out;
  for (const nlohmann::json& p : ca.payloads) {
    if (p.is_object() && p.contains("identifiers")) out.push_back(p);
  }
  return out;
}

TEST_F(IssuerFlowTest, APendingOrderOfAnInterruptedRunIsSolvedWithoutANewOrder) {
  spec_.domains = {kA};
  auto left = client_->NewOrder({.identifiers = spec_.domains});
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  input_.resume_order_url = left->url;
  auto issued = Issue({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(issued->order_url, left->url);
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);  // the interrupted run's only
  EXPECT_TRUE(orders_created_.empty());
  EXPECT_EQ(Steps(), kOneNameByHttp01);
  EXPECT_EQ(steps_.front().output, "resumed order " + left->url + " (pending)");
}

TEST_F(IssuerFlowTest, AResumedOrderWhoseNamesAreValidGoesStraightToFinalize) {
  spec_.domains = {kA};
  auto left = client_->NewOrder({.identifiers = spec_.domains});
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  // The interrupted run got as far as a valid authorization.
  auto authz = client_->GetAuthorization(left->authorizations.at(0));
  ASSERT_TRUE(authz.ok()) << authz.status().ToString();
  const acme::Challenge* http01 = authz->Find(kHttp01);
  ASSERT_NE(http01, nullptr);
  challenges::ChallengeTask task{kA, false, http01->token, http01->token + "." + thumbprint_};
  ASSERT_TRUE(Solver(kHttp01).Present({task}).ok());
  ASSERT_TRUE(client_->RespondToChallenge(http01->url).ok());
  auto valid = client_->PollAuthorization(authz->url, clock_.Now() + std::chrono::seconds(5));
  ASSERT_TRUE(valid.ok() && valid->status == "valid") << valid.status().ToString();
  calls_.clear();

  input_.resume_order_url = left->url;
  auto issued = Issue({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(Steps(), (Lines{"order ok", "finalize ok", "download ok"}));
  EXPECT_EQ(steps_.front().output, "resumed order " + left->url + " (ready)");
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
}

TEST_F(IssuerFlowTest, AResumedOrderTheCaNoLongerKnowsIsReplacedByANewOne) {
  spec_.domains = {kA};
  input_.resume_order_url = ca_->Url("/order/77");
  ca_->intercept = [this](const acme::HttpRequest& r) -> std::optional<acme::HttpResponse> {
    if (r.url != ca_->Url("/order/77")) return std::nullopt;
    acme::HttpResponse gone;
    gone.status = 404;
    return gone;
  };
  auto issued = Issue({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(orders_created_, (Lines{ca_->Url("/order/1")}));
  EXPECT_EQ(Steps().front(), "order ok");
  EXPECT_EQ(steps_.front().output, "");
}

TEST_F(IssuerFlowTest, AlreadyReplacedOrdersAgainWithoutReplaces) {
  spec_.domains = {kA};
  input_.replaces = "aGVsbG8.AQID";
  ca_->reject_replaces = true;
  auto issued = Issue({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  std::vector<nlohmann::json> orders = NewOrderPayloads(*ca_);
  ASSERT_EQ(orders.size(), 2u);
  EXPECT_EQ(orders[0].value("replaces", ""), "aGVsbG8.AQID");
  EXPECT_FALSE(orders[1].contains("replaces"));
  EXPECT_EQ(orders_created_.size(), 1u);
  EXPECT_EQ(Steps().front(), "order ok");
  EXPECT_EQ(Steps().at(1), "self-check http-01 a.example.com ok");
}

TEST_F(IssuerFlowTest, OtherNewOrderErrorsAreNotRetried) {
  spec_.domains = {kA};
  input_.replaces = "aGVsbG8.AQID";
  ca_->rate_limit_new_order = "3600";
  auto issued = Issue({"http-01"});
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.status().code(), ErrorCode::kRateLimited);
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
  EXPECT_EQ(Steps(), (Lines{"order failed"}));
  EXPECT_TRUE(calls_.empty());
}

TEST_F(IssuerFlowTest, OrderNotReadyAtFinalizeWaitsForTheOrderAndFinalizesAgain) {
  spec_.domains = {kA};
  ca_->finalize_not_ready = 1;
  auto issued = Issue({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(ca_->CountPath("/finalize/"), 2);
  EXPECT_EQ(Steps(), kOneNameByHttp01);
}

TEST_F(IssuerFlowTest, AnOrderStillNotReadyAfterWaitingFailsTheFinalize) {
  spec_.domains = {kA};
  ca_->finalize_not_ready = 2;
  auto issued = Issue({"http-01"});
  ASSERT_FALSE(issued.ok());
  ASSERT_NE(issued.status().problem(), nullptr);
  EXPECT_TRUE(issued.status().problem()->Is("orderNotReady"));
  EXPECT_EQ(ca_->CountPath("/finalize/"), 2);
  EXPECT_EQ(Steps().back(), "finalize failed");
}

TEST_F(IssuerFlowTest, ACertificateForAnotherKeyIsRefused) {
  spec_.domains = {kA};
  auto other = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(other.ok());
  SetCertificate(CertificateFor(*other, spec_.domains));
  auto issued = Issue({"http-01"});
  ASSERT_FALSE(issued.ok());
  EXPECT_NE(issued.status().ToString().find("the CA returned a certificate for another key"),
            std::string::npos)
      << issued.status().ToString();
  EXPECT_EQ(Steps().back(), "finalize ok");  // no download step: nothing was accepted
}

TEST_F(IssuerFlowTest, ACertificateThatMissesAnOrderedNameIsRefused) {
  spec_.domains = {kA, kOrderB};
  SetCertificate(CertificateFor(*key_, {kA}));
  auto issued = Issue({"http-01"});
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(issued.status().message().find("does not cover b.example.com"), std::string::npos)
      << issued.status().ToString();
  EXPECT_EQ(Steps().back(), "finalize ok");
}

}  // namespace
}  // namespace certkeeper::lifecycle::testing
