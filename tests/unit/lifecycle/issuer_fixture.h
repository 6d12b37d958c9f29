// The Issuer end to end against the scripted CA (tests/unit/acme/fake_ca.h)
// with one scripted solver per challenge type: what each test records is the
// attempt's steps (kind, type, identifier, result, in order) and the solvers'
// calls (in order, across types), which together tell the failover story.
#ifndef CERTKEEPER_TESTS_UNIT_LIFECYCLE_ISSUER_FIXTURE_H_
#define CERTKEEPER_TESTS_UNIT_LIFECYCLE_ISSUER_FIXTURE_H_

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "acme/client.h"
#include "acme/jws.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "challenges/solver.h"
#include "lifecycle/issuer.h"
#include "lifecycle/solver_set.h"
#include "tests/unit/acme/fake_ca.h"
#include "tests/unit/lifecycle/fake_solver.h"

namespace certkeeper::lifecycle::testing {

// An attempt's steps as "kind [type identifier] result" lines.
using Lines = std::vector<std::string>;

inline const std::string kA = "a.example.com";

// The steps of an issuance of a.example.com by http-01 at the first try.
inline const Lines kOneNameByHttp01 = {"order ok",
                                       "self-check http-01 a.example.com ok",
                                       "present http-01 a.example.com ok",
                                       "validation http-01 a.example.com ok",
                                       "finalize ok",
                                       "download ok"};

class IssuerFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_shared<acme::testing::FakeCa>("");
    ca_->challenge_types = {std::string(challenges::kHttp01), std::string(challenges::kDns01),
                            std::string(challenges::kTlsAlpn01)};
    ca_->reuse_valid_authzs = true;
    ca_->validate = [this](const std::string& identifier, const std::string& type,
                           const std::string& token) { return Validate(identifier, type, token); };

    acme::ClientOptions options;
    options.directory_url = ca_->directory_url();
    options.clock = &clock_;
    auto client = acme::Client::Create(options, ca_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    auto account_key = PrivateKey::Generate(KeyType::kEc256);
    ASSERT_TRUE(account_key.ok());
    auto thumbprint = acme::JwkThumbprint(*account_key);
    ASSERT_TRUE(thumbprint.ok());
    thumbprint_ = *thumbprint;
    client_->SetAccountKey(*account_key, "");
    auto account = client_->NewAccount({.terms_of_service_agreed = true});
    ASSERT_TRUE(account.ok()) << account.status().ToString();

    std::vector<std::unique_ptr<challenges::Solver>> solvers;
    for (std::string_view type :
         {challenges::kHttp01, challenges::kDns01, challenges::kTlsAlpn01}) {
      auto solver = std::make_unique<FakeSolver>(type, &calls_);
      fakes_[std::string(type)] = solver.get();
      solvers.push_back(std::move(solver));
    }
    solvers_ = SolverSet::FromSolvers(std::move(solvers));

    auto key = PrivateKey::Generate(KeyType::kEc256);
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<PrivateKey>(*key);
    spec_.name = "web";
    hooks_.step = [this](const store::AttemptStep& step) { steps_.push_back(step); };
    hooks_.order_created = [this](const std::string& url) { orders_created_.push_back(url); };
    hooks_.validation_failed = [this](const std::string& key) { rejected_.push_back(key); };
  }

  FakeSolver& Solver(std::string_view type) { return *fakes_.at(std::string(type)); }

  // The CA rejects the validation of identifier ("*.example.com" for a
  // wildcard) by type with this detail.
  void Reject(const std::string& identifier, std::string_view type, std::string detail) {
    rejects_[{identifier, std::string(type)}] = std::move(detail);
  }

  // Issues spec_ with the given challenge list. Unless a test set one, the CA
  // returns a certificate for key_ that covers spec_.domains.
  Result<IssueResult> Issue(std::vector<std::string> challenge_list) {
    spec_.challenges = std::move(challenge_list);
    if (!cert_set_) {
      cert_pem_ = CertificateFor(*key_, spec_.domains);
      ca_->set_cert_pem(cert_pem_);
    }
    input_.spec = &spec_;
    input_.key = key_.get();
    Issuer issuer(client_.get(), solvers_.get(), &clock_);
    return issuer.Issue(input_, hooks_);
  }

  void SetCertificate(std::string pem) {
    cert_pem_ = pem;
    ca_->set_cert_pem(std::move(pem));
    cert_set_ = true;
  }
  static std::string CertificateFor(const PrivateKey& key, const std::vector<std::string>& names) {
    return acme::testing::MakeCertificate(key, names, std::string("\x01\x23\x45", 3));
  }

  // "kind type identifier result", empty fields left out; a note adds its text.
  std::vector<std::string> Steps() const {
    std::vector<std::string> out;
    for (const store::AttemptStep& s : steps_) {
      std::string line = s.kind;
      for (const std::string* field : {&s.challenge_type, &s.identifier}) {
        if (!field->empty()) line += " " + *field;
      }
      line += s.result == store::StepResult::kOk ? " ok" : " failed";
      if (s.kind == "note") line += ": " + s.output;
      out.push_back(line);
    }
    return out;
  }
  // The error text of the first step that begins with `line` (as Steps() shows it).
  std::string StepError(const std::string& line) const {
    std::vector<std::string> lines = Steps();
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].rfind(line, 0) == 0) return steps_[i].error;
    }
    ADD_FAILURE() << "no step " << line;
    return {};
  }

  FakeClock clock_{FromUnixSeconds(1'900'000'000)};
  std::shared_ptr<acme::testing::FakeCa> ca_;
  std::unique_ptr<acme::Client> client_;
  std::string thumbprint_;
  std::vector<std::string> calls_;  // every solver call, in order
  std::unique_ptr<SolverSet> solvers_;
  std::unique_ptr<PrivateKey> key_;
  std::string cert_pem_;  // what the CA returns
  CertificateSpec spec_;
  IssueInput input_;
  IssueHooks hooks_;
  std::vector<store::AttemptStep> steps_;
  std::vector<std::string> orders_created_;
  std::vector<std::string> rejected_;  // validation_failed, by identifier

 private:
  // A validation succeeds only while the solver of that type serves the right
  // key authorization for that identifier, unless the test scripted a
  // rejection.
  std::string Validate(const std::string& identifier, const std::string& type,
                       const std::string& token) {
    if (auto it = rejects_.find({identifier, type}); it != rejects_.end()) return it->second;
    auto served = fakes_.count(type) ? fakes_.at(type)->Serving(token) : std::nullopt;
    if (!served || served->key != identifier) return "nothing served for " + identifier;
    if (served->key_authorization != token + "." + thumbprint_) return "wrong key authorization";
    return "";
  }

  std::map<std::string, FakeSolver*> fakes_;
  std::map<std::pair<std::string, std::string>, std::string> rejects_;
  bool cert_set_ = false;
};

}  // namespace certkeeper::lifecycle::testing

#endif  // CERTKEEPER_TESTS_UNIT_LIFECYCLE_ISSUER_FIXTURE_H_
