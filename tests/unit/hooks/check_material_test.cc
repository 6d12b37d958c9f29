#include <gtest/gtest.h>

#include <chrono>

#include "hooks/material.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

using std::chrono::hours;
using testing::TestPki;

class CheckMaterialTest : public ::testing::Test {
 protected:
  TimePoint now_ = std::chrono::system_clock::now();
  TestPki pki_ = TestPki::Create(now_);
};

TEST_F(CheckMaterialTest, AcceptsCompleteMaterial) {
  Material m = pki_.MakeMaterial("web", {"example.com", "www.example.com"}, now_);
  Status s = CheckMaterial(m, pki_.root.cert_pem, now_);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(CheckMaterialTest, WildcardCoversItsDomain) {
  Material m = pki_.MakeMaterial("wild", {"*.example.com"}, now_);
  Status s = CheckMaterial(m, pki_.root.cert_pem, now_);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(CheckMaterialTest, RefusesKeyOfAnotherCertificate) {
  Material m = pki_.MakeMaterial("web", {"example.com"}, now_, 3);
  Material other = pki_.MakeMaterial("web", {"example.com"}, now_);
  m.key_pem = other.key_pem;
  Status s = CheckMaterial(m, pki_.root.cert_pem, now_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("refusing to deploy web v3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("private key does not belong"), std::string::npos) << s.message();
}

TEST_F(CheckMaterialTest, RefusesChainWithoutItsIntermediate) {
  Material m = pki_.MakeMaterial("web", {"example.com"}, now_);
  m.chain_pem.clear();
  m.fullchain_pem = m.cert_pem;
  Status s = CheckMaterial(m, pki_.root.cert_pem, now_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the chain does not verify"), std::string::npos) << s.message();
  EXPECT_NE(s.hint().find("intermediate"), std::string::npos) << s.hint();
}

TEST_F(CheckMaterialTest, RefusesChainToAnUntrustedRoot) {
  Material m = pki_.MakeMaterial("web", {"example.com"}, now_);
  TestPki stranger = TestPki::Create(now_);
  Status s = CheckMaterial(m, stranger.root.cert_pem, now_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the chain does not verify"), std::string::npos) << s.message();
}

TEST_F(CheckMaterialTest, RefusesExpiredCertificate) {
  Material m = pki_.MakeMaterialWithValidity("web", {"example.com"}, now_ - hours(48),
                                             now_ - hours(1));
  Status s = CheckMaterial(m, pki_.root.cert_pem, now_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("expired"), std::string::npos) << s.message();
}

TEST_F(CheckMaterialTest, RefusesCertificateNotYetValid) {
  Material m = pki_.MakeMaterialWithValidity("web", {"example.com"}, now_ + hours(2),
                                             now_ + hours(48));
  Status s = CheckMaterial(m, pki_.root.cert_pem, now_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not valid yet"), std::string::npos) << s.message();
}

TEST_F(CheckMaterialTest, RefusesDomainNotCovered) {
  Material m = pki_.MakeMaterial("web", {"example.com"}, now_);
  m.domains.push_back("other.example.net");
  Status s = CheckMaterial(m, pki_.root.cert_pem, now_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("does not cover other.example.net"), std::string::npos)
      << s.message();
}

TEST_F(CheckMaterialTest, WildcardDoesNotCoverTwoLabels) {
  Material m = pki_.MakeMaterial("wild", {"*.example.com"}, now_);
  m.domains.push_back("a.b.example.com");
  EXPECT_FALSE(CheckMaterial(m, pki_.root.cert_pem, now_).ok());
}

TEST_F(CheckMaterialTest, RefusesFingerprintThatDoesNotMatch) {
  Material m = pki_.MakeMaterial("web", {"example.com"}, now_);
  m.fingerprint_sha256 = std::string(64, '0');
  Status s = CheckMaterial(m, pki_.root.cert_pem, now_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("differs from the recorded"), std::string::npos) << s.message();
}

TEST_F(CheckMaterialTest, RefusesFullchainOfAnotherLeaf) {
  Material m = pki_.MakeMaterial("web", {"example.com"}, now_);
  Material other = pki_.MakeMaterial("web", {"example.com"}, now_);
  m.fullchain_pem = other.fullchain_pem;
  Status s = CheckMaterial(m, pki_.root.cert_pem, now_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("full chain"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace certkeeper::hooks
