// Challenge failover of one issuance, end to end against the scripted CA with
// scripted solvers (issuer_fixture.h): a local failure (self-check, Present)
// moves an identifier to its next type within the same order, a batch failure
// gives each identifier its own try, a validation the CA rejects costs a new
// order in which only that identifier changes type, and when no route is left
// the order's pending authorizations are deactivated and the error names every
// route tried. Every presented route is cleaned up exactly once.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/lifecycle/issuer_fixture.h"

namespace certkeeper::lifecycle::testing {
namespace {

using challenges::kDns01;
using challenges::kHttp01;

const std::string kB = "b.example.com";
const std::string kC = "c.example.com";

int Count(const Lines& lines, const std::string& line) {
  return static_cast<int>(std::count(lines.begin(), lines.end(), line));
}

// The parts, in order, as one list.
Lines Join(std::initializer_list<Lines> parts) {
  Lines all;
  for (const Lines& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// The attempt's steps of `type` serving `domain` on its own, from its
// self-check to its validation, all ok.
Lines ServedSteps(const std::string& type, const std::string& domain) {
  return {"self-check " + type + " " + domain + " ok", "present " + type + " " + domain + " ok",
          "validation " + type + " " + domain + " ok"};
}

// The solver calls of `type` serving `domain` on its own.
Lines ServedCalls(const std::string& type, const std::string& domain) {
  return {type + " self-check " + domain, type + " present " + domain,
          type + " cleanup " + domain};
}

// The steps after the last validation of a successful order.
const Lines kFinished = {"finalize ok", "download ok"};

TEST_F(IssuerFlowTest, TheFirstTypeServesEveryIdentifier) {
  spec_.domains = {kA, kB};
  auto issued = Issue({"http-01", "dns-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(issued->challenge, kHttp01);
  EXPECT_EQ(issued->order_url, ca_->Url("/order/1"));
  EXPECT_EQ(issued->cert_pem, cert_pem_);
  EXPECT_TRUE(issued->chain_pem.empty());
  EXPECT_EQ(Steps(), (Lines{"order ok",
                            "self-check http-01 a.example.com ok",
                            "self-check http-01 b.example.com ok",
                            "present http-01 a.example.com ok",
                            "present http-01 b.example.com ok",
                            "validation http-01 a.example.com ok",
                            "validation http-01 b.example.com ok",
                            "finalize ok",
                            "download ok"}));
  EXPECT_EQ(calls_, (Lines{"http-01 self-check a.example.com,b.example.com",
                           "http-01 present a.example.com,b.example.com",
                           "http-01 cleanup a.example.com,b.example.com"}));
  EXPECT_EQ(orders_created_, (Lines{ca_->Url("/order/1")}));
  EXPECT_TRUE(rejected_.empty());
}

TEST_F(IssuerFlowTest, AFailedSelfCheckMovesToTheNextTypeInTheSameOrder) {
  spec_.domains = {kA};
  Solver(kHttp01).FailFor("self-check", kA);
  auto issued = Issue({"http-01", "dns-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(issued->challenge, kDns01);
  EXPECT_EQ(Steps(), Join({{"order ok", "self-check http-01 a.example.com failed"},
                           ServedSteps("dns-01", kA),
                           kFinished}));
  EXPECT_NE(StepError("self-check http-01").find("cannot serve a.example.com"), std::string::npos);
  // No Present, so no CleanUp, for the type whose self-check failed.
  EXPECT_EQ(calls_, Join({{"http-01 self-check a.example.com"}, ServedCalls("dns-01", kA)}));
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
  EXPECT_EQ(ca_->CountPath("/chall/"), 1);
}

// The attempt record follows what happened: Present failed, then the batch
// was cleaned up (and that cleanup failed too).
TEST_F(IssuerFlowTest, AFailedPresentIsRecordedBeforeItsCleanUp) {
  spec_.domains = {kA};
  Solver(kHttp01).FailFor("present", kA);
  Solver(kHttp01).FailFor("cleanup", kA);
  Solver(kHttp01).notes = true;
  auto issued = Issue({"http-01", "dns-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(issued->challenge, kDns01);
  EXPECT_EQ(Steps(), Join({{"order ok",
                            "self-check http-01 a.example.com ok",
                            "note http-01 ok: self-check a.example.com",
                            "note http-01 ok: present a.example.com",
                            "present http-01 a.example.com failed",
                            "note http-01 ok: cleanup a.example.com",
                            "cleanup http-01 failed"},
                           ServedSteps("dns-01", kA),
                           kFinished}));
  EXPECT_NE(StepError("cleanup http-01").find("cleanup cannot serve a.example.com"),
            std::string::npos);
  EXPECT_EQ(calls_, Join({ServedCalls("http-01", kA), ServedCalls("dns-01", kA)}));
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
}

// The cleanup after validation is part of this attempt: a failure is recorded
// (and does not stop the issuance), and the solver's notes about it land here,
// not in the next certificate's attempt that uses the same solver.
TEST_F(IssuerFlowTest, TheCleanUpAfterValidationIsRecordedInThisAttempt) {
  spec_.domains = {kA};
  Solver(kHttp01).FailFor("cleanup", kA);
  Solver(kHttp01).notes = true;
  auto issued = Issue({"http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(Steps(), (Lines{"order ok",
                            "self-check http-01 a.example.com ok",
                            "note http-01 ok: self-check a.example.com",
                            "note http-01 ok: present a.example.com",
                            "present http-01 a.example.com ok",
                            "validation http-01 a.example.com ok",
                            "note http-01 ok: cleanup a.example.com",
                            "cleanup http-01 failed",
                            "finalize ok",
                            "download ok"}));
  EXPECT_TRUE(Solver(kHttp01).TakeNotes().empty());
}

TEST_F(IssuerFlowTest, ABatchFailureGivesEachIdentifierItsOwnTry) {
  spec_.domains = {kA, kB, kC};
  Solver(kDns01).FailFor("present", kB);
  auto issued = Issue({"dns-01", "http-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(Steps(), (Lines{"order ok",
                            "self-check dns-01 a.example.com ok",
                            "self-check dns-01 b.example.com ok",
                            "self-check dns-01 c.example.com ok",
                            "present dns-01 a.example.com failed",
                            "present dns-01 b.example.com failed",
                            "present dns-01 c.example.com failed",
                            "self-check dns-01 a.example.com ok",
                            "present dns-01 a.example.com ok",
                            "self-check dns-01 b.example.com ok",
                            "present dns-01 b.example.com failed",
                            "self-check dns-01 c.example.com ok",
                            "present dns-01 c.example.com ok",
                            "self-check http-01 b.example.com ok",
                            "present http-01 b.example.com ok",
                            "validation dns-01 a.example.com ok",
                            "validation dns-01 c.example.com ok",
                            "validation http-01 b.example.com ok",
                            "finalize ok",
                            "download ok"}));
  // Only b left dns-01; a and c kept it. A failed Present is cleaned up at once.
  EXPECT_EQ(calls_, (Lines{"dns-01 self-check a.example.com,b.example.com,c.example.com",
                           "dns-01 present a.example.com,b.example.com,c.example.com",
                           "dns-01 cleanup a.example.com,b.example.com,c.example.com",
                           "dns-01 self-check a.example.com",
                           "dns-01 present a.example.com",
                           "dns-01 self-check b.example.com",
                           "dns-01 present b.example.com",
                           "dns-01 cleanup b.example.com",
                           "dns-01 self-check c.example.com",
                           "dns-01 present c.example.com",
                           "http-01 self-check b.example.com",
                           "http-01 present b.example.com",
                           "dns-01 cleanup a.example.com,c.example.com",
                           "http-01 cleanup b.example.com"}));
  EXPECT_EQ(issued->challenge, kHttp01);  // the type of the last validation
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
}

TEST_F(IssuerFlowTest, ARejectedValidationCostsANewOrderWhereOnlyThatNameChangesType) {
  spec_.domains = {kA, kB};
  Reject(kB, kHttp01, "the token was not found");
  auto issued = Issue({"http-01", "dns-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(Steps(), Join({{"order ok",
                            "self-check http-01 a.example.com ok",
                            "self-check http-01 b.example.com ok",
                            "present http-01 a.example.com ok",
                            "present http-01 b.example.com ok",
                            "validation http-01 a.example.com ok",
                            "validation http-01 b.example.com failed",
                            "order ok"},
                           ServedSteps("dns-01", kB),
                           kFinished}));
  EXPECT_EQ(StepError("validation http-01 b.example.com"),
            "CA rejected the validation (invalid): incorrectResponse: the token was not found");
  EXPECT_EQ(calls_, Join({{"http-01 self-check a.example.com,b.example.com",
                           "http-01 present a.example.com,b.example.com",
                           "http-01 cleanup a.example.com,b.example.com"},
                          ServedCalls("dns-01", kB)}));
  EXPECT_EQ(orders_created_, (Lines{ca_->Url("/order/1"), ca_->Url("/order/2")}));
  EXPECT_EQ(rejected_, (Lines{kB}));
  EXPECT_EQ(issued->order_url, ca_->Url("/order/2"));
}

TEST_F(IssuerFlowTest, NoRouteLeftDeactivatesThePendingAuthorizationsAndNamesEveryRoute) {
  spec_.domains = {kA, kB};
  Solver(kHttp01).FailFor("self-check", kB);
  Solver(kDns01).FailFor("present", kB);
  auto issued = Issue({"http-01", "dns-01"});
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.status().code(), ErrorCode::kFailedPrecondition);
  const std::string& message = issued.status().message();
  EXPECT_NE(message.find("every challenge route failed for b.example.com"), std::string::npos);
  EXPECT_NE(message.find("b.example.com via http-01: self-check failed: "), std::string::npos)
      << message;
  EXPECT_NE(message.find("b.example.com via dns-01: present failed: "), std::string::npos)
      << message;
  EXPECT_FALSE(issued.status().hint().empty());
  EXPECT_EQ(Steps(), (Lines{"order ok",
                            "self-check http-01 a.example.com failed",
                            "self-check http-01 b.example.com failed",
                            "self-check http-01 a.example.com ok",
                            "present http-01 a.example.com ok",
                            "self-check http-01 b.example.com failed",
                            "self-check dns-01 b.example.com ok",
                            "present dns-01 b.example.com failed",
                            "deactivate a.example.com ok",
                            "deactivate b.example.com ok"}));
  EXPECT_EQ(calls_, (Lines{"http-01 self-check a.example.com,b.example.com",
                           "http-01 self-check a.example.com",
                           "http-01 present a.example.com",
                           "http-01 self-check b.example.com",
                           "dns-01 self-check b.example.com",
                           "dns-01 present b.example.com",
                           "dns-01 cleanup b.example.com",
                           "http-01 cleanup a.example.com"}));
  EXPECT_EQ(ca_->deactivated_authzs, (Lines{ca_->Url("/authz/1"), ca_->Url("/authz/2")}));
  EXPECT_EQ(ca_->CountPath("/chall/"), 0);  // no validation spent at the CA
}

TEST_F(IssuerFlowTest, ARejectionOnTheLastTypeEndsWithoutANewOrder) {
  spec_.domains = {kA};
  Reject(kA, kHttp01, "connection refused");
  Reject(kA, kDns01, "no TXT record");
  auto issued = Issue({"http-01", "dns-01"});
  ASSERT_FALSE(issued.ok());
  const std::string& message = issued.status().message();
  EXPECT_NE(message.find("a.example.com via http-01: CA rejected the validation (invalid): "
                         "incorrectResponse: connection refused"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("a.example.com via dns-01: CA rejected the validation (invalid): "
                         "incorrectResponse: no TXT record"),
            std::string::npos)
      << message;
  EXPECT_EQ(ca_->CountPath("/new-order"), 2);
  EXPECT_EQ(rejected_, (Lines{kA, kA}));
  EXPECT_EQ(Count(calls_, "http-01 cleanup a.example.com"), 1);
  EXPECT_EQ(Count(calls_, "dns-01 cleanup a.example.com"), 1);
}

TEST_F(IssuerFlowTest, AWildcardIsOnlyTriedWithDns01) {
  spec_.domains = {"*.example.com", "example.com"};
  auto issued = Issue({"http-01", "dns-01"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(calls_, (Lines{"dns-01 self-check *.example.com",
                           "dns-01 present *.example.com",
                           "http-01 self-check example.com",
                           "http-01 present example.com",
                           "dns-01 cleanup *.example.com",
                           "http-01 cleanup example.com"}));
  EXPECT_EQ(Count(Steps(), "validation dns-01 *.example.com ok"), 1);
  EXPECT_EQ(Count(Steps(), "validation http-01 example.com ok"), 1);
}

TEST_F(IssuerFlowTest, AWildcardWhoseDns01FailsHasNoRouteLeftThoughTheCaOffersHttp01) {
  spec_.domains = {"*.example.com"};
  Solver(kDns01).FailFor("self-check", "*.example.com");
  auto issued = Issue({"http-01", "dns-01"});
  ASSERT_FALSE(issued.ok());
  EXPECT_NE(issued.status().message().find("every challenge route failed for *.example.com"),
            std::string::npos)
      << issued.status().ToString();
  EXPECT_EQ(calls_, (Lines{"dns-01 self-check *.example.com"}));
  EXPECT_EQ(ca_->deactivated_authzs, (Lines{ca_->Url("/authz/1")}));
}

// A failure after some routes are presented (the CA refuses a challenge
// response, or the validation cannot be awaited) still cleans up every route,
// once, including those the CA was never asked about.
class IssuerLateFailureTest : public IssuerFlowTest {
 protected:
  // Issues a (via http-01) and b (via dns-01, http-01's self-check refuses
  // it) while the CA answers 503 to the requests `refuse` picks; returns the
  // error after checking that each presented route was cleaned up once.
  Status IssueWhileTheCaRefuses(std::function<bool(const acme::HttpRequest&)> refuse) {
    spec_.domains = {kA, kB};
    Solver(kHttp01).FailFor("self-check", kB);
    ca_->intercept = [refuse](const acme::HttpRequest& r) -> std::optional<acme::HttpResponse> {
      if (!refuse(r)) return std::nullopt;
      acme::HttpResponse down;
      down.status = 503;
      return down;
    };
    auto issued = Issue({"http-01", "dns-01"});
    EXPECT_FALSE(issued.ok());
    EXPECT_EQ(Count(calls_, "dns-01 cleanup b.example.com"), 1);
    EXPECT_EQ(Count(calls_, "http-01 cleanup a.example.com"), 1);
    EXPECT_EQ(ca_->CountPath("/finalize/"), 0);
    return issued.status();
  }
  bool Under(const acme::HttpRequest& r, const std::string& path) const {
    return r.url.rfind(ca_->Url(path), 0) == 0;
  }
};

TEST_F(IssuerLateFailureTest, EveryPresentedRouteIsCleanedUpOnceWhenRespondingFails) {
  Status s = IssueWhileTheCaRefuses([this](const auto& r) { return Under(r, "/chall/"); });
  EXPECT_NE(s.message().find("respond to dns-01 challenge for b.example.com"), std::string::npos)
      << s.ToString();
}

TEST_F(IssuerLateFailureTest, EveryPresentedRouteIsCleanedUpOnceWhenPollingFails) {
  bool responded = false;
  Status s = IssueWhileTheCaRefuses([&](const acme::HttpRequest& r) {
    if (Under(r, "/chall/")) responded = true;
    return responded && Under(r, "/authz/");
  });
  EXPECT_NE(s.message().find("wait for validation of"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace certkeeper::lifecycle::testing
