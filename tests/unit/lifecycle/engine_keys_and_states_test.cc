// The engine end to end over a scripted CA that signs the CSR's key: the
// staged next key (published in Show before the renewal that uses it), the
// state after `revoke`, and short-lived certificates in show and check.
#include <gtest/gtest.h>

#include <string>

#include "base/fs.h"
#include "lifecycle/engine.h"
#include "lifecycle/next_key.h"
#include "lifecycle/state_layout.h"
#include "tests/unit/lifecycle/engine_parts_fixture.h"
#include "tests/unit/lifecycle/next_key_pins.h"
#include "tests/unit/lifecycle/signing_fake_ca.h"

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using testing::IndependentPinsOfCertificate;
using testing::IndependentPinsOfKey;

using testing::kDay;

class EngineKeysTest : public testing::SigningCaEngineTest {
 protected:
  std::string LiveCert() { return *fs::ReadFile(config_.state_dir + "/live/web/cert.pem"); }
  std::string NextKeyPem() { return *fs::ReadFile(config_.state_dir + "/keys/web/next.pem"); }
  CertificateView ShowWeb(Engine& engine) {
    auto view = engine.Show("web");
    EXPECT_TRUE(view.ok()) << view.status().ToString();
    return view.ok() ? *view : CertificateView{};
  }
};

TEST_F(EngineKeysTest, StagedNextKeyIsPublishedThenUsedAtTheRenewalAndReplaced) {
  spec_.next_key = true;
  config_.certificates.push_back(spec_);
  auto engine = Assemble();
  ASSERT_NE(engine, nullptr);
  auto issued = engine->Issue(spec_);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  ASSERT_TRUE(issued->error.ok()) << issued->error.ToString();

  // After the first issuance a next key is staged, 0600, unlike the live key.
  const std::string next_path = config_.state_dir + "/keys/web/next.pem";
  struct stat st;
  ASSERT_EQ(stat(next_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const KeyPins staged = IndependentPinsOfKey(NextKeyPem());
  const KeyPins first = IndependentPinsOfCertificate(LiveCert());
  EXPECT_NE(staged.tlsa_3_1_1, first.tlsa_3_1_1);

  // Show publishes both, as OpenSSL computes them.
  CertificateView view = ShowWeb(*engine);
  ASSERT_TRUE(view.current_key.has_value()) << view.key_pins_error;
  ASSERT_TRUE(view.next_key.has_value()) << view.key_pins_error;
  EXPECT_EQ(view.current_key->spki_sha256, first.spki_sha256_base64);
  EXPECT_EQ(view.current_key->tlsa, first.tlsa_3_1_1);
  EXPECT_EQ(view.next_key->spki_sha256, staged.spki_sha256_base64);
  EXPECT_EQ(view.next_key->tlsa, staged.tlsa_3_1_1);
  EXPECT_EQ(view.key_pins_error, "");

  // The renewal's certificate carries the published next key...
  clock_->Advance(80 * kDay);
  RenewOptions all;
  all.all = true;
  auto renewed = engine->Renew(all);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  ASSERT_EQ(renewed->certificates.size(), 1u);
  EXPECT_EQ(renewed->certificates[0].outcome, "renewed") << renewed->certificates[0].reason;
  const KeyPins second = IndependentPinsOfCertificate(LiveCert());
  EXPECT_EQ(second.spki_sha256_base64, view.next_key->spki_sha256);
  EXPECT_EQ(second.tlsa_3_1_1, view.next_key->tlsa);

  // ...and the one after it is staged.
  const KeyPins after = IndependentPinsOfKey(NextKeyPem());
  EXPECT_NE(after.tlsa_3_1_1, second.tlsa_3_1_1);
  EXPECT_NE(after.tlsa_3_1_1, first.tlsa_3_1_1);
  CertificateView again = ShowWeb(*engine);
  ASSERT_TRUE(again.current_key && again.next_key);
  EXPECT_EQ(again.current_key->tlsa, second.tlsa_3_1_1);
  EXPECT_EQ(again.next_key->tlsa, after.tlsa_3_1_1);
  EXPECT_FALSE(fs::Exists(config_.state_dir + "/archive/web/pending.key"));
}

TEST_F(EngineKeysTest, ShowStagesAMissingNextKeyThatTheRenewalThenUses) {
  auto engine = Assemble();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->Issue(spec_).ok());  // next_key off: nothing staged
  EXPECT_FALSE(fs::Exists(config_.state_dir + "/keys/web/next.pem"));
  CertificateView off = ShowWeb(*engine);
  EXPECT_TRUE(off.current_key.has_value());
  EXPECT_FALSE(off.next_key.has_value());

  // next_key turned on: show stages and publishes it.
  spec_.next_key = true;
  config_.certificates.push_back(spec_);
  engine = Assemble();
  ASSERT_NE(engine, nullptr);
  CertificateView on = ShowWeb(*engine);
  ASSERT_TRUE(on.next_key.has_value()) << on.key_pins_error;
  EXPECT_EQ(on.next_key->tlsa, IndependentPinsOfKey(NextKeyPem()).tlsa_3_1_1);
  // A second show publishes the same key.
  EXPECT_EQ(ShowWeb(*engine).next_key->tlsa, on.next_key->tlsa);

  auto issued = engine->Issue(spec_);
  ASSERT_TRUE(issued.ok() && issued->error.ok());
  EXPECT_EQ(IndependentPinsOfCertificate(LiveCert()).tlsa_3_1_1, on.next_key->tlsa);
}

TEST_F(EngineKeysTest, ANextKeyOfAnotherTypeIsNotUsed) {
  spec_.next_key = true;
  config_.certificates.push_back(spec_);
  StateLayout layout(config_.state_dir);
  ASSERT_TRUE(layout.Prepare().ok());
  auto rsa = EnsureNextKey(layout, "web", KeyType::kRsa2048);
  ASSERT_TRUE(rsa.ok());
  auto engine = Assemble();
  ASSERT_NE(engine, nullptr);
  auto issued = engine->Issue(spec_);  // ec256
  ASSERT_TRUE(issued.ok() && issued->error.ok());
  EXPECT_NE(IndependentPinsOfCertificate(LiveCert()).tlsa_3_1_1, PinsOf(*rsa)->tlsa_3_1_1);
  auto staged = LoadNextKey(layout, "web");
  ASSERT_TRUE(staged.ok() && staged->has_value());
  EXPECT_EQ((*staged)->type(), KeyType::kEc256);
}

// After `revoke` nothing usable is live: the certificate is due because it
// was revoked, not "pending / no version issued yet".
TEST_F(EngineKeysTest, RevokedCertificateIsDueWithReasonRevoked) {
  auto engine = Assemble();
  ASSERT_NE(engine, nullptr);
  auto issued = engine->Issue(spec_);
  ASSERT_TRUE(issued.ok() && issued->error.ok());
  ASSERT_EQ(ShowWeb(*engine).status, "valid");
  Status revoked = engine->Revoke("web", "keyCompromise");
  ASSERT_TRUE(revoked.ok()) << revoked.ToString();

  CertificateView view = ShowWeb(*engine);
  EXPECT_EQ(view.status, "due");
  EXPECT_EQ(view.status_reason, "revoked");
  auto list = engine->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].status, "due");
  EXPECT_EQ((*list)[0].status_reason, "revoked");

  auto findings = engine->Check();
  ASSERT_TRUE(findings.ok()) << findings.status().ToString();
  ASSERT_EQ(findings->size(), 1u);
  EXPECT_EQ((*findings)[0].severity, "error");
  EXPECT_NE((*findings)[0].message.find("revoked"), std::string::npos) << (*findings)[0].message;

  RenewOptions dry;
  dry.all = true;
  dry.dry_run = true;
  auto plan = engine->Renew(dry);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->certificates.size(), 1u);
  EXPECT_EQ(plan->certificates[0].outcome, "would-renew");
  EXPECT_EQ(plan->certificates[0].decision, "due");
  EXPECT_NE(plan->certificates[0].reason.find("revoked"), std::string::npos)
      << plan->certificates[0].reason;
}

// A 12-hour certificate: fresh it is valid and `check` is silent; an hour
// and a quarter past its renewal time at half its life, `check` warns.
TEST_F(EngineKeysTest, FreshTwelveHourCertificateIsHealthy) {
  lifetime_ = hours(12);
  const std::string roots = dir_.path() + "/roots.pem";
  ASSERT_TRUE(fs::WriteFileAtomic(roots, pki_.root.cert_pem).ok());
  config_.acme.issuer_roots = roots;
  auto engine = Assemble();
  ASSERT_NE(engine, nullptr);
  auto issued = engine->Issue(spec_);
  ASSERT_TRUE(issued.ok() && issued->error.ok());

  clock_->Advance(minutes(1));
  CertificateView view = ShowWeb(*engine);
  EXPECT_EQ(view.status, "valid") << view.status_reason;
  EXPECT_EQ(view.status_reason.find("expires in"), std::string::npos) << view.status_reason;
  auto findings = engine->Check();
  ASSERT_TRUE(findings.ok()) << findings.status().ToString();
  for (const auto& f : *findings) {
    ADD_FAILURE() << f.severity << ": " << f.message;
  }

  // Renewal time is at 6h (minus at most 14m24s of jitter); the margin 1h12m.
  clock_->Advance(hours(5) + minutes(59));
  EXPECT_EQ(ShowWeb(*engine).status, "due");
  findings = engine->Check();
  ASSERT_TRUE(findings.ok());
  EXPECT_TRUE(findings->empty()) << (*findings)[0].message;
  clock_->Advance(hours(1) + minutes(30));
  findings = engine->Check();
  ASSERT_TRUE(findings.ok());
  ASSERT_EQ(findings->size(), 1u);
  EXPECT_EQ((*findings)[0].severity, "warning");
  EXPECT_EQ((*findings)[0].message.rfind("expires in 4h", 0), 0u) << (*findings)[0].message;
}

}  // namespace
}  // namespace certkeeper::lifecycle
