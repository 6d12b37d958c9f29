// RevocationChecker over a real SQLite inventory and state directory, with a
// scripted HTTP transport answering as an OCSP responder and a CRL
// distribution point signed by the in-process test CA.
#include "lifecycle/revocation.h"

#include <openssl/pem.h>

#include <filesystem>
#include <functional>

#include <gtest/gtest.h>

#include "base/crypto.h"
#include "base/fs.h"
#include "lifecycle/crl.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/revocation_sources.h"
#include "store/sql_inventory.h"
#include "tests/unit/lifecycle/revocation_pki.h"

namespace certkeeper::lifecycle {
namespace {

using namespace std::chrono_literals;
using testing_pki::Pki;

std::string Pem(X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Answers OCSP POSTs and CRL GETs the way the test sets them up.
class ScriptedHttp : public acme::HttpClient {
 public:
  Result<acme::HttpResponse> Send(const acme::HttpRequest& request) override {
    if (request.method == "POST") {
      ++ocsp_requests;
      EXPECT_EQ(request.headers.Get("Content-Type"), "application/ocsp-request");
      if (!ocsp) return Status(ErrorCode::kUnavailable, "connection refused");
      return acme::HttpResponse{200, {}, ocsp(request.body)};
    }
    ++crl_requests;
    if (crl.empty()) return Status(ErrorCode::kUnavailable, "connection refused");
    return acme::HttpResponse{200, {}, crl};
  }
  std::function<std::string(const std::string&)> ocsp;
  std::string crl;
  int ocsp_requests = 0;
  int crl_requests = 0;
};

class RevocationCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(layout_.Prepare().ok());
    auto inventory = store::SqlInventory::Open(layout_.db_path());
    ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
    inventory_ = std::move(*inventory);
    ctx_.config = &config_;
    ctx_.clock = &clock_;
    ctx_.layout = &layout_;
    ctx_.inventory = inventory_.get();
    AddLive("web", pki_.leaf.get());
    http_.crl = testing_pki::Crl(pki_, {}, now_);
    Answer(V_OCSP_CERTSTATUS_GOOD);
  }

  void AddLive(const std::string& name, X509* leaf) {
    store::CertificateSpec spec{name, {"leaf.example"}, "ec256", {"http-01"}, {},
                                "https://ca.example/dir"};
    Status put = inventory_->PutCertificate(spec);
    ASSERT_TRUE(put.ok()) << put.ToString();
    VersionFiles files{"-----BEGIN PRIVATE KEY-----\n", Pem(leaf), Pem(pki_.ca.get())};
    ASSERT_TRUE(layout_.WriteVersion(name, 1, files).ok());
    auto info = ParseCertificatePem(files.cert_pem);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    store::Version v = VersionFromCertificate(name, 1, *info, {"leaf.example"}, "ec256",
                                              "https://ca.example/dir");
    v.state = store::VersionState::kDeployed;
    Status added = inventory_->AddVersion(v);
    ASSERT_TRUE(added.ok()) << added.ToString();
    ASSERT_TRUE(layout_.SwitchLive(name, 1).ok());
  }

  void Answer(int status) {
    http_.ocsp = [this, status](const std::string& request) {
      testing_pki::OcspOptions o;
      o.status = status;
      o.signer = pki_.responder.get();
      o.signer_key = pki_.responder_key.get();
      return testing_pki::OcspResponse(pki_, request, o, now_);
    };
  }

  std::vector<RevocationView> Refresh(bool force = false) {
    RevocationChecker checker(ctx_, &http_);
    auto answers = checker.Refresh(force);
    EXPECT_TRUE(answers.ok()) << answers.status().ToString();
    return answers.ok() ? *answers : std::vector<RevocationView>{};
  }

  std::vector<CheckFinding> Findings(const std::vector<RevocationView>& answers) {
    std::vector<CheckFinding> findings;
    AddRevocationFindings(answers, findings);
    return findings;
  }

  fs::TempDir dir_;
  TimePoint now_ =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  FakeClock clock_{now_};
  Config config_;
  StateLayout layout_{dir_.path() + "/state"};
  std::unique_ptr<store::SqlInventory> inventory_;
  EngineContext ctx_;
  Pki pki_;
  ScriptedHttp http_;
};

TEST_F(RevocationCheckerTest, GoodByBothMethodsIsStoredStapledAndReported) {
  std::vector<RevocationView> answers = Refresh();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].method, "ocsp");
  EXPECT_EQ(answers[0].status, "good");
  EXPECT_EQ(answers[0].url, "http://127.0.0.1:1/ocsp");
  EXPECT_EQ(answers[1].method, "crl");
  EXPECT_EQ(answers[1].status, "good");
  auto stored = inventory_->ListRevocations();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 2u);
  const std::string staple = layout_.VersionDir("web", 1) + "/" + kStapleFileName;
  ASSERT_TRUE(std::filesystem::is_regular_file(staple));
  EXPECT_EQ(std::filesystem::status(staple).permissions() & std::filesystem::perms::all,
            std::filesystem::perms(0644));
  EXPECT_TRUE(std::filesystem::exists(layout_.root() + "/" +
                                      CrlCache::CacheName("http://127.0.0.1:2/test.crl")));
  std::vector<CheckFinding> findings = Findings(answers);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, "info");
  EXPECT_EQ(findings[0].message.rfind("revocation: good (OCSP http://127.0.0.1:1/ocsp", 0), 0u)
      << findings[0].message;
  EXPECT_NE(findings[0].message.find("CRL http://127.0.0.1:2/test.crl"), std::string::npos);
}

TEST_F(RevocationCheckerTest, FreshAnswersAreReusedUntilNextUpdateUnlessForced) {
  Refresh();
  EXPECT_EQ(http_.ocsp_requests, 1);
  EXPECT_EQ(http_.crl_requests, 1);
  clock_.Advance(11h);  // OCSP nextUpdate is 12 h out, the CRL's 7 days
  EXPECT_EQ(Refresh().size(), 2u);
  EXPECT_EQ(http_.ocsp_requests, 1);
  EXPECT_EQ(http_.crl_requests, 1);
  Refresh(/*force=*/true);
  EXPECT_EQ(http_.ocsp_requests, 2);
  // Forced, the CRL is read from its cache file: still before its nextUpdate.
  EXPECT_EQ(http_.crl_requests, 1);
  // A missing staple file makes OCSP ask again.
  std::filesystem::remove(layout_.VersionDir("web", 1) + "/" + kStapleFileName);
  Refresh();
  EXPECT_EQ(http_.ocsp_requests, 3);
}

// A timer run over thousands of certificates reads no files when the stored
// answers settle every method: only a stale or missing answer needs them.
TEST_F(RevocationCheckerTest, FreshStoredAnswersNeedNoFilesAStaleOneDoes) {
  ASSERT_EQ(Refresh().size(), 2u);
  std::filesystem::remove(layout_.VersionDir("web", 1) + "/cert.pem");
  clock_.Advance(11h);  // both still fresh
  std::vector<RevocationView> answers = Refresh();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].method, "ocsp");
  EXPECT_EQ(answers[0].status, "good");
  EXPECT_EQ(answers[1].method, "crl");
  EXPECT_EQ(answers[1].status, "good");
  EXPECT_EQ(http_.ocsp_requests, 1);
  EXPECT_EQ(http_.crl_requests, 1);
  clock_.Advance(2h);  // OCSP's nextUpdate passed: the files are needed, and unreadable
  EXPECT_TRUE(Refresh().empty());
  EXPECT_EQ(http_.ocsp_requests, 1);
}

// What a renew run asks of the checker: the same checks as Refresh, over
// only the live versions whose stored answers are not all fresh and good.
TEST_F(RevocationCheckerTest, RefreshUnsettledLooksOnlyAtWhatIsNotFreshAndGood) {
  auto unsettled = [this]() {
    auto current = inventory_->AllCurrentVersions();
    EXPECT_TRUE(current.ok()) << current.status().ToString();
    RevocationChecker checker(ctx_, &http_);
    auto answers = checker.RefreshUnsettled(*current);
    EXPECT_TRUE(answers.ok()) << answers.status().ToString();
    return answers.ok() ? *answers : std::vector<RevocationView>{};
  };
  // Nothing stored yet: asked as Refresh asks.
  std::vector<RevocationView> first = unsettled();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].method, "ocsp");
  EXPECT_EQ(first[1].method, "crl");
  EXPECT_EQ(http_.ocsp_requests, 1);
  EXPECT_EQ(http_.crl_requests, 1);
  // With staple files an OCSP answer settles nothing without a look at the
  // file: looked at, reused, not asked.
  EXPECT_EQ(unsettled().size(), 2u);
  EXPECT_EQ(http_.ocsp_requests, 1);
  // Without them, both fresh and good: nothing to look at, no file read.
  config_.revocation.staple_file = false;
  const std::string cert = layout_.VersionDir("web", 1) + "/cert.pem";
  std::filesystem::rename(cert, cert + ".away");
  EXPECT_TRUE(unsettled().empty());
  // A certificate without any answer (a new live version) is asked; "web"
  // is still settled.
  AddLive("api", pki_.leaf.get());
  std::vector<RevocationView> api = unsettled();
  ASSERT_EQ(api.size(), 2u);
  EXPECT_EQ(api[0].certificate, "api");
  EXPECT_EQ(api[1].certificate, "api");
  EXPECT_EQ(http_.ocsp_requests, 2);
  clock_.Advance(12h - 1s);  // a second before the OCSP answers' nextUpdate
  EXPECT_TRUE(unsettled().empty());
  EXPECT_EQ(http_.ocsp_requests, 2);
  std::filesystem::rename(cert + ".away", cert);
  // At their nextUpdate (to the second) the OCSP answers are stale: asked
  // again, as Refresh asks; the CRL's are reused.
  clock_.Advance(1s);
  std::vector<RevocationView> again = unsettled();
  ASSERT_EQ(again.size(), 4u);
  EXPECT_EQ(again[0].method, "ocsp");
  EXPECT_EQ(again[0].status, "good");
  EXPECT_EQ(http_.ocsp_requests, 4);
}

TEST_F(RevocationCheckerTest, RefreshUnsettledMarksAStoredRevokedAnswer) {
  config_.revocation.staple_file = false;
  Refresh();  // good by both methods, stored
  store::RevocationRecord stored;
  stored.certificate = "web";
  stored.version = 1;
  stored.method = "crl";
  stored.status = "revoked";
  stored.url = "http://127.0.0.1:2/test.crl";
  stored.checked_at = now_;
  stored.next_update = now_ + 12h;
  stored.revoked_at = now_ - 3h;
  stored.reason = "superseded";
  ASSERT_TRUE(inventory_->PutRevocation(stored).ok());
  auto current = inventory_->AllCurrentVersions();
  ASSERT_TRUE(current.ok());
  RevocationChecker checker(ctx_, &http_);
  auto answers = checker.RefreshUnsettled(*current);
  ASSERT_TRUE(answers.ok()) << answers.status().ToString();
  ASSERT_EQ(answers->size(), 2u);
  EXPECT_EQ((*answers)[1].status, "revoked");
  EXPECT_EQ(http_.ocsp_requests, 1);
  auto v = inventory_->GetVersion("web", 1);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->state, store::VersionState::kRevoked);
  EXPECT_EQ(v->revocation_reason, "superseded");
}

TEST_F(RevocationCheckerTest, RevokedMarksTheVersionAndRecordsAnEvent) {
  Answer(V_OCSP_CERTSTATUS_REVOKED);
  std::vector<RevocationView> answers = Refresh();
  ASSERT_FALSE(answers.empty());
  EXPECT_EQ(answers[0].status, "revoked");
  EXPECT_EQ(answers[0].reason, "keyCompromise");
  auto v = inventory_->GetVersion("web", 1);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->state, store::VersionState::kRevoked);
  EXPECT_EQ(v->revocation_reason, "keyCompromise");
  EXPECT_EQ(v->revoked_at, now_ - 2h);  // the CA's time, not ours
  EXPECT_EQ(inventory_->LiveVersion("web").status().code(), ErrorCode::kNotFound);
  auto events = inventory_->ListEvents(std::string("web"), 0);
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ((*events)[0].kind, "revoked");
  EXPECT_NE((*events)[0].message.find("revoked by the CA"), std::string::npos);
  EXPECT_NE((*events)[0].message.find("OCSP"), std::string::npos);
  std::vector<CheckFinding> findings = Findings(answers);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, "error");
  EXPECT_NE(findings[0].message.find("keyCompromise"), std::string::npos);
}

TEST_F(RevocationCheckerTest, AStoredRevokedAnswerOfALiveVersionMarksIt) {
  // A run recorded the answer and stopped before marking the version.
  store::RevocationRecord stored;
  stored.certificate = "web";
  stored.version = 1;
  stored.method = "ocsp";
  stored.status = "revoked";
  stored.url = "http://127.0.0.1:1/ocsp";
  stored.checked_at = now_;
  stored.next_update = now_ + 12h;
  stored.revoked_at = now_ - 3h;
  stored.reason = "superseded";
  ASSERT_TRUE(inventory_->PutRevocation(stored).ok());
  Refresh();
  EXPECT_EQ(http_.ocsp_requests, 0);
  auto v = inventory_->GetVersion("web", 1);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->state, store::VersionState::kRevoked);
  EXPECT_EQ(v->revocation_reason, "superseded");
}

TEST_F(RevocationCheckerTest, RevokedByCrlAlone) {
  http_.ocsp = nullptr;  // the responder is down
  testing_pki::CrlOptions o;
  o.revoked = {{0x1234, 1}};
  http_.crl = testing_pki::Crl(pki_, o, now_);
  std::vector<RevocationView> answers = Refresh();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].status, "error");
  EXPECT_EQ(answers[1].status, "revoked");
  auto v = inventory_->GetVersion("web", 1);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->state, store::VersionState::kRevoked);
  EXPECT_EQ(v->revocation_reason, "keyCompromise");
}

TEST_F(RevocationCheckerTest, ErrorsAreAWarningAndAskedAgain) {
  http_.ocsp = nullptr;
  http_.crl.clear();
  std::vector<RevocationView> answers = Refresh();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].status, "error");
  EXPECT_NE(answers[0].error.find("connection refused"), std::string::npos) << answers[0].error;
  std::vector<CheckFinding> findings = Findings(answers);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, "warning");
  Refresh();
  EXPECT_EQ(http_.ocsp_requests, 2);
  EXPECT_EQ(http_.crl_requests, 2);
}

TEST_F(RevocationCheckerTest, ARefusedResponseIsAnErrorNotGood) {
  // Signed by a certificate without id-kp-OCSPSigning.
  http_.ocsp = [this](const std::string& request) {
    testing_pki::OcspOptions o;
    o.signer = pki_.not_responder.get();
    o.signer_key = pki_.responder_key.get();
    return testing_pki::OcspResponse(pki_, request, o, now_);
  };
  std::vector<RevocationView> answers = Refresh();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].status, "error");
  EXPECT_FALSE(std::filesystem::exists(layout_.VersionDir("web", 1) + "/" + kStapleFileName));
}

TEST_F(RevocationCheckerTest, NoUrlsNoAnswerAndDisabledAsksNothing) {
  AddLive("plain", pki_.other.get());
  std::vector<RevocationView> answers = Refresh();
  for (const RevocationView& a : answers) EXPECT_NE(a.certificate, "plain");
  config_.revocation.enabled = false;
  const int before = http_.ocsp_requests + http_.crl_requests;
  EXPECT_TRUE(Refresh(true).empty());
  EXPECT_EQ(http_.ocsp_requests + http_.crl_requests, before);
}

}  // namespace
}  // namespace certkeeper::lifecycle
