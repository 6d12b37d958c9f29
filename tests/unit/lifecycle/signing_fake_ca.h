// An engine over the scripted CA (tests/unit/acme/fake_ca.h) whose
// certificate download answers with a leaf for the key of the CSR, of a
// chosen lifetime, issued by the test intermediate; a solver that presents
// every HTTP-01 challenge (the scripted CA does not fetch it) and a deploy
// function that records what it delivered. Issue, Renew, Revoke and Show run
// end to end without Pebble.
#ifndef CERTKEEPER_TESTS_UNIT_LIFECYCLE_SIGNING_FAKE_CA_H_
#define CERTKEEPER_TESTS_UNIT_LIFECYCLE_SIGNING_FAKE_CA_H_

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fs.h"
#include "lifecycle/engine.h"
#include "lifecycle/engine_parts.h"
#include "store/lease.h"
#include "store/sql_inventory.h"
#include "tests/unit/acme/fake_ca.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::lifecycle::testing {

// A leaf for the CSR's public key valid from `not_before` for `lifetime`,
// issued by the test intermediate.
inline std::string SignCsrFor(const hooks::testing::TestPki& pki, const std::string& csr_der,
                              const std::vector<std::string>& domains, TimePoint not_before,
                              Duration lifetime, long serial) {
  using namespace hooks::testing;  // NOLINT: the test PKI's OpenSSL helpers
  const unsigned char* p = reinterpret_cast<const unsigned char*>(csr_der.data());
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> csr(
      d2i_X509_REQ(nullptr, &p, static_cast<long>(csr_der.size())), X509_REQ_free);
  CheckSsl(csr != nullptr, "parse CSR");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pub(X509_REQ_get_pubkey(csr.get()),
                                                           EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> issuer(ReadCert(pki.intermediate.cert_pem),
                                                     X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> issuer_key(
      ReadKey(pki.intermediate.key_pem), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), std::chrono::system_clock::to_time_t(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                std::chrono::system_clock::to_time_t(not_before + lifetime));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(domains.front().c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer.get()));
  X509_set_pubkey(cert.get(), pub.get());
  AddExtension(cert.get(), issuer.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert.get(), issuer.get(), NID_authority_key_identifier, "keyid");
  std::string san;
  for (const std::string& d : domains) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  AddExtension(cert.get(), issuer.get(), NID_subject_alt_name, san);
  CheckSsl(X509_sign(cert.get(), issuer_key.get(), EVP_sha256()) > 0, "sign");
  return CertToPem(cert.get());
}

// A certificate download answer (RFC 8555 §7.4.2): the chain as
// application/pem-certificate-chain.
inline acme::HttpResponse ChainResponse(std::string chain_pem) {
  acme::HttpResponse response;
  response.status = 200;
  response.headers.Add("Content-Type", "application/pem-certificate-chain");
  response.body = std::move(chain_pem);
  return response;
}

class PresentingSolver : public challenges::Solver {
 public:
  std::string_view type() const override { return "http-01"; }
  Status SelfCheck(const std::vector<challenges::ChallengeTask>&) override {
    return Status::Ok();
  }
  Status Present(const std::vector<challenges::ChallengeTask>&) override { return Status::Ok(); }
  Status CleanUp(const std::vector<challenges::ChallengeTask>&) override { return Status::Ok(); }
};

class SigningCaEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    clock_ = std::make_unique<FakeClock>(now_);
    pki_ = hooks::testing::TestPki::Create(now_ - std::chrono::hours(24));
    ca_ = std::make_shared<acme::testing::FakeCa>(pki_.intermediate.cert_pem);
    ca_->offer_renewal_info = false;
    ca_->intercept = [this](const acme::HttpRequest& r) -> std::optional<acme::HttpResponse> {
      if (r.method != "POST" || r.url.rfind(ca_->Url("/cert/"), 0) != 0) return std::nullopt;
      return ChainResponse(SignCsrFor(pki_, ca_->last_csr_der, spec_.domains, clock_->Now(),
                                      lifetime_, ++serial_) +
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

  std::unique_ptr<Engine> Assemble() {
    EXPECT_TRUE(fs::MakeDirs(dir_.path() + "/db", 0700).ok());
    store::SqliteOptions options;
    options.clock = clock_.get();
    auto sqlite = store::SqlInventory::Open(dir_.path() + "/db/inventory.db", options);
    EXPECT_TRUE(sqlite.ok()) << sqlite.status().ToString();
    if (!sqlite.ok()) return nullptr;
    EngineParts parts;
    parts.inventory = std::move(*sqlite);
    parts.leases = store::FileLeases(dir_.path() + "/db");
    parts.acme_clients = AcmeClientsOver(ca_);
    parts.solvers = []() -> Result<std::unique_ptr<SolverSet>> {
      std::vector<std::unique_ptr<challenges::Solver>> solvers;
      solvers.push_back(std::make_unique<PresentingSolver>());
      return SolverSet::FromSolvers(std::move(solvers));
    };
    parts.deploy = [this](const std::vector<hooks::TargetConfig>&,
                          const hooks::Material& material, const hooks::DeployOptions& options) {
      delivered_.push_back(material.version);
      hooks::DeployReport report;
      report.error = options.commit ? options.commit() : Status::Ok();
      return report;
    };
    parts.clock = clock_.get();
    auto engine = Engine::Assemble(config_, std::move(parts));
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  fs::TempDir dir_;
  TimePoint now_;
  std::unique_ptr<FakeClock> clock_;
  hooks::testing::TestPki pki_;
  std::shared_ptr<acme::testing::FakeCa> ca_;
  Duration lifetime_ = std::chrono::hours(24 * 90);
  long serial_ = 1000;
  Config config_;
  CertificateSpec spec_;
  std::vector<int> delivered_;
};

}  // namespace certkeeper::lifecycle::testing

#endif  // CERTKEEPER_TESTS_UNIT_LIFECYCLE_SIGNING_FAKE_CA_H_
