// The setting of the tests of an engine assembled from parts
// (Engine::Assemble): a SQLite inventory in a temporary directory behind a
// fault-injecting decorator, leases that may refuse, the scripted CA of
// tests/unit/acme/fake_ca.h through the ACME client factory, a fake solver
// and a fake deploy function.
#ifndef CERTKEEPER_TESTS_UNIT_LIFECYCLE_ENGINE_PARTS_FIXTURE_H_
#define CERTKEEPER_TESTS_UNIT_LIFECYCLE_ENGINE_PARTS_FIXTURE_H_

#include <gtest/gtest.h>

#include <functional>
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
#include "tests/unit/lifecycle/failing_inventory.h"
#include "tests/unit/lifecycle/signing_fake_ca.h"

namespace certkeeper::lifecycle::testing {

using acme::HttpRequest;
using acme::HttpResponse;
using acme::testing::FakeCa;
using std::chrono::hours;

inline constexpr Duration kDay = hours(24);

// A 90-day leaf for the CSR's public key, issued by the test intermediate.
inline std::string SignCsr(const hooks::testing::TestPki& pki, const std::string& csr_der,
                           const std::vector<std::string>& domains, TimePoint now) {
  return SignCsrFor(pki, csr_der, domains, now - hours(1), 90 * kDay + hours(1),
                    static_cast<long>(std::chrono::system_clock::to_time_t(now) % 1000000007));
}

// Validates every HTTP-01 challenge: the scripted CA does not fetch it.
class CountingSolver : public challenges::Solver {
 public:
  explicit CountingSolver(int* presented) : presented_(presented) {}
  std::string_view type() const override { return "http-01"; }
  Status SelfCheck(const std::vector<challenges::ChallengeTask>&) override {
    return Status::Ok();
  }
  Status Present(const std::vector<challenges::ChallengeTask>& tasks) override {
    *presented_ += static_cast<int>(tasks.size());
    return Status::Ok();
  }
  Status CleanUp(const std::vector<challenges::ChallengeTask>&) override { return Status::Ok(); }

 private:
  int* presented_;
};

// Another holder has the run: every mutating operation is refused.
class RefusingLeases : public store::Leases {
 public:
  Status AcquireRun() override {
    ++refusals;
    return Status(ErrorCode::kLocked, "another run holds the lease").Where("test leases");
  }
  bool HoldsRun() const override { return false; }
  Result<std::unique_ptr<store::CertificateClaim>> Claim(std::string_view, Duration) override {
    return Status(ErrorCode::kLocked, "another run holds the lease");
  }
  int refusals = 0;
};

class EnginePartsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    clock_ = std::make_unique<FakeClock>(now_);
    pki_ = hooks::testing::TestPki::Create(now_ - kDay);
    ca_ = std::make_shared<FakeCa>(pki_.intermediate.cert_pem);
    ca_->offer_renewal_info = false;
    // The certificate download answers with a leaf for the key of the CSR.
    ca_->intercept = [this](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (answer_) {
        if (auto a = answer_(r)) return a;
      }
      if (r.method != "POST" || r.url.rfind(ca_->Url("/cert/"), 0) != 0) return std::nullopt;
      return ChainResponse(SignCsr(pki_, ca_->last_csr_der, spec_.domains, clock_->Now()) +
                           pki_.intermediate.cert_pem);
    };
    config_.state_dir = dir_.path() + "/state";
    config_.acme.server = ca_->directory_url();
    config_.acme.agree_tos = true;
    hooks::TargetConfig target;
    target.name = "fake";
    config_.deploy.push_back(target);
    spec_.name = "web";
    spec_.domains = {"web.example.com"};
    spec_.challenges = {"http-01"};
    spec_.deploy = {"fake"};
  }

  // The parts: leases null means the state directory's flock.
  EngineParts Parts(std::unique_ptr<store::Leases> leases = nullptr) {
    EXPECT_TRUE(fs::MakeDirs(dir_.path() + "/db", 0700).ok());
    store::SqliteOptions options;
    options.clock = clock_.get();
    auto sqlite = store::SqlInventory::Open(dir_.path() + "/db/inventory.db", options);
    EXPECT_TRUE(sqlite.ok()) << sqlite.status().ToString();
    auto inventory = std::make_unique<FailingInventory>(std::move(*sqlite));
    inventory_ = inventory.get();
    EngineParts parts;
    parts.inventory = std::move(inventory);
    parts.leases = leases ? std::move(leases) : store::FileLeases(dir_.path() + "/db");
    parts.acme_clients = AcmeClientsOver(ca_);
    parts.solvers = [this]() -> Result<std::unique_ptr<SolverSet>> {
      ++solver_sets_made_;
      std::vector<std::unique_ptr<challenges::Solver>> solvers;
      solvers.push_back(std::make_unique<CountingSolver>(&presented_));
      return SolverSet::FromSolvers(std::move(solvers));
    };
    parts.deploy = [this](const std::vector<hooks::TargetConfig>& targets,
                          const hooks::Material& material, const hooks::DeployOptions& options) {
      delivered_.push_back(material.version);
      EXPECT_EQ(targets.size(), 1u);
      hooks::DeployReport report;
      report.error = options.commit ? options.commit() : Status::Ok();
      return report;
    };
    parts.clock = clock_.get();
    return parts;
  }

  std::unique_ptr<Engine> Assemble(EngineParts parts) {
    auto engine = Engine::Assemble(config_, std::move(parts));
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  CertificateOutcome IssueNow(Engine& engine) {
    auto outcome = engine.Issue(spec_);
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
    return outcome.ok() ? *outcome : CertificateOutcome{};
  }

  // A 429 rateLimited problem for requests to `path`, with an hour's Retry-After.
  void RateLimit(const std::string& path, const std::string& detail) {
    answer_ = [this, path, detail](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.url != ca_->Url(path)) return std::nullopt;
      HttpResponse response;
      response.status = 429;
      response.headers.Add("Content-Type", "application/problem+json");
      response.headers.Add("Retry-After", "3600");
      response.body = nlohmann::json{{"type", "urn:ietf:params:acme:error:rateLimited"},
                                     {"detail", detail},
                                     {"status", 429}}
                          .dump();
      return response;
    };
  }

  fs::TempDir dir_;
  std::function<std::optional<HttpResponse>(const HttpRequest&)> answer_;
  TimePoint now_;
  std::unique_ptr<FakeClock> clock_;
  hooks::testing::TestPki pki_;
  std::shared_ptr<FakeCa> ca_;
  Config config_;
  CertificateSpec spec_;
  FailingInventory* inventory_ = nullptr;
  int solver_sets_made_ = 0;
  int presented_ = 0;
  std::vector<int> delivered_;
};

}  // namespace certkeeper::lifecycle::testing

#endif  // CERTKEEPER_TESTS_UNIT_LIFECYCLE_ENGINE_PARTS_FIXTURE_H_
