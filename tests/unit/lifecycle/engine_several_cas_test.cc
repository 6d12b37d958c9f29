// Several CAs per certificate: an engine assembled from parts with two
// scripted CAs (https://ca.test and https://ca2.test) behind one transport.
// The preferred CA that is down, rate-limiting or refusing is skipped within
// the same attempt, each skip is a step, and the version records its CA.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lifecycle/engine.h"
#include "lifecycle/engine_parts.h"
#include "tests/unit/lifecycle/engine_parts_fixture.h"

namespace certkeeper::lifecycle {
namespace {

using acme::HttpRequest;
using acme::HttpResponse;
using acme::testing::FakeCa;
using testing::EnginePartsTest;

constexpr const char* kSecondBase = "https://ca2.test";

// An ACME problem document (RFC 8555 §6.7) of `type` with HTTP `status`.
HttpResponse ProblemResponse(int status, const std::string& type, const std::string& detail) {
  HttpResponse response;
  response.status = status;
  response.headers.Add("Content-Type", "application/problem+json");
  response.body = nlohmann::json{{"type", "urn:ietf:params:acme:error:" + type},
                                 {"detail", detail},
                                 {"status", status}}
                      .dump();
  return response;
}

// Sends each request to the CA whose base it starts with; `primary_down`
// makes every request to the first fail as a refused connection would.
class TwoCas : public acme::HttpClient {
 public:
  TwoCas(std::shared_ptr<FakeCa> first, std::shared_ptr<FakeCa> second)
      : first_(std::move(first)), second_(std::move(second)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (request.url.rfind(kSecondBase, 0) == 0) return second_->Send(request);
    if (primary_down) {
      ++refused;
      return Status(ErrorCode::kUnavailable, "connect: connection refused").Where(request.url);
    }
    return first_->Send(request);
  }
  bool primary_down = false;
  int refused = 0;

 private:
  std::shared_ptr<FakeCa> first_;
  std::shared_ptr<FakeCa> second_;
};

class EngineSeveralCasTest : public EnginePartsTest {
 protected:
  void SetUp() override {
    EnginePartsTest::SetUp();
    second_ = std::make_shared<FakeCa>(pki_.intermediate.cert_pem, kSecondBase);
    second_->offer_renewal_info = false;
    second_->intercept = [this](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.method != "POST" || r.url.rfind(second_->Url("/cert/"), 0) != 0) return std::nullopt;
      return testing::ChainResponse(
          testing::SignCsr(pki_, second_->last_csr_der, spec_.domains, clock_->Now()) +
          pki_.intermediate.cert_pem);
    };
    transport_ = std::make_shared<TwoCas>(ca_, second_);
    AcmeSettings primary = config_.acme;
    primary.name = "primary";
    AcmeSettings backup = primary;
    backup.name = "backup";
    backup.server = second_->directory_url();
    config_.acme = AcmeSettings{};
    config_.cas = {primary, backup};
    spec_.cas = {"primary", "backup"};
    config_.certificates = {spec_};
  }

  std::unique_ptr<Engine> Open() {
    EngineParts parts = Parts();
    parts.acme_clients = AcmeClientsOver(transport_);
    return Assemble(std::move(parts));
  }

  // The "ca" steps of the newest attempt, as "name result error".
  std::vector<std::string> CaSteps(Engine& engine) {
    auto history = engine.History("web");
    EXPECT_TRUE(history.ok()) << history.status().ToString();
    std::vector<std::string> out;
    if (!history.ok() || history->empty()) return out;
    for (const StepView& s : history->front().steps) {
      if (s.kind == "ca") out.push_back(s.identifier + " " + s.result);
    }
    return out;
  }

  std::shared_ptr<FakeCa> second_;
  std::shared_ptr<TwoCas> transport_;
};

TEST_F(EngineSeveralCasTest, ThePreferredCaIssuesWhenItIsUp) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  CertificateOutcome issued = IssueNow(*engine);
  ASSERT_TRUE(issued.error.ok()) << issued.error.ToString();
  ASSERT_TRUE(issued.version.has_value());
  EXPECT_EQ(issued.version->ca, "primary");
  EXPECT_EQ(issued.version->server, ca_->directory_url());
  EXPECT_EQ(second_->requests.size(), 0u) << "the second CA is not asked";
  EXPECT_EQ(CaSteps(*engine), std::vector<std::string>{"primary ok"});
}

TEST_F(EngineSeveralCasTest, TheSecondCaIssuesWhenThePreferredIsDown) {
  transport_->primary_down = true;
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  CertificateOutcome issued = IssueNow(*engine);
  ASSERT_TRUE(issued.error.ok()) << issued.error.ToString();
  ASSERT_TRUE(issued.version.has_value());
  EXPECT_EQ(issued.version->ca, "backup");
  EXPECT_GT(transport_->refused, 0);
  EXPECT_EQ(CaSteps(*engine), (std::vector<std::string>{"primary failed", "backup ok"}));
  auto history = engine->History("web");
  ASSERT_TRUE(history.ok());
  bool named_the_error = false;
  for (const StepView& s : history->front().steps) {
    if (s.kind == "ca" && s.identifier == "primary") {
      named_the_error = s.error.find("connection refused") != std::string::npos;
    }
  }
  EXPECT_TRUE(named_the_error) << "the skip says why";
  auto shown = engine->Show("web");
  ASSERT_TRUE(shown.ok());
  ASSERT_TRUE(shown->live.has_value());
  EXPECT_EQ(shown->live->ca, "backup");
}

TEST_F(EngineSeveralCasTest, ARateLimitedCaIsNotAskedAgainBeforeItsRetryAfter) {
  RateLimit("/new-order", "too many new orders for this certificate");
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  CertificateOutcome issued = IssueNow(*engine);
  ASSERT_TRUE(issued.error.ok()) << issued.error.ToString();
  ASSERT_TRUE(issued.version.has_value());
  EXPECT_EQ(issued.version->ca, "backup");
  const size_t asked = ca_->requests.size();

  // The next renewal, forced, within the hour the first CA asked for.
  RenewOptions options;
  options.names = {"web"};
  options.force = true;
  auto report = engine->Renew(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->certificates.size(), 1u);
  EXPECT_TRUE(report->certificates[0].error.ok()) << report->certificates[0].error.ToString();
  EXPECT_EQ(report->certificates[0].outcome, "renewed");
  EXPECT_EQ(ca_->requests.size(), asked) << "the rate-limiting CA was asked again";
  EXPECT_EQ(CaSteps(*engine), (std::vector<std::string>{"primary skipped", "backup ok"}));

  // `issue` holds it back the same way.
  CertificateOutcome again = IssueNow(*engine);
  ASSERT_TRUE(again.error.ok()) << again.error.ToString();
  EXPECT_EQ(ca_->requests.size(), asked) << "`issue` asked the rate-limiting CA again";
  EXPECT_EQ(CaSteps(*engine), (std::vector<std::string>{"primary skipped", "backup ok"}));
}

TEST_F(EngineSeveralCasTest, EveryCaFailingNamesEachOne) {
  transport_->primary_down = true;
  second_->intercept = [this](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.url != second_->Url("/new-order")) return std::nullopt;
    return ProblemResponse(400, "rejectedIdentifier", "policy forbids issuing for this name");
  };
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  auto outcome = engine->Issue(spec_);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  ASSERT_FALSE(outcome->error.ok());
  const std::string message = outcome->error.ToString();
  EXPECT_NE(message.find("primary"), std::string::npos) << message;
  EXPECT_NE(message.find("connection refused"), std::string::npos) << message;
  EXPECT_NE(message.find("backup"), std::string::npos) << message;
  EXPECT_NE(message.find("policy forbids"), std::string::npos) << message;
  EXPECT_EQ(CaSteps(*engine), (std::vector<std::string>{"primary failed", "backup failed"}));
}

TEST_F(EngineSeveralCasTest, AnAccountTheCaLostIsRegisteredAgainAndTheAttemptGoesOn) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(IssueNow(*engine).error.ok());
  const int accounts_before = ca_->CountPath("/new-acct");
  // The CA reset its database: the next order's kid is unknown to it, once.
  bool lost = true;
  answer_ = [this, &lost](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (!lost || r.url != ca_->Url("/new-order")) return std::nullopt;
    lost = false;
    return ProblemResponse(400, "accountDoesNotExist", "no such account");
  };
  CertificateOutcome again = IssueNow(*engine);
  ASSERT_TRUE(again.error.ok()) << again.error.ToString();
  ASSERT_TRUE(again.version.has_value());
  EXPECT_EQ(again.version->ca, "primary") << "the same CA issues after the new registration";
  EXPECT_EQ(ca_->CountPath("/new-acct"), accounts_before + 1);
  EXPECT_EQ(second_->requests.size(), 0u);
}

}  // namespace
}  // namespace certkeeper::lifecycle
