// The staged next key (lifecycle/next_key.h): where and how it is kept, and
// its pins, checked against values computed here with OpenSSL directly.
#include "lifecycle/next_key.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "base/fs.h"
#include "tests/unit/hooks/test_pki.h"
#include "tests/unit/lifecycle/next_key_pins.h"

namespace certkeeper::lifecycle {
namespace {

using testing::IndependentPinsOfCertificate;
using testing::IndependentPinsOfKey;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class NextKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_ = std::make_unique<StateLayout>(dir_.path() + "/state");
    ASSERT_TRUE(layout_->Prepare().ok());
  }
  fs::TempDir dir_;
  std::unique_ptr<StateLayout> layout_;
};

TEST_F(NextKeyTest, NothingStagedLoadsNothingAndCreatesNothing) {
  auto loaded = LoadNextKey(*layout_, "web");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded->has_value());
  EXPECT_FALSE(fs::Exists(layout_->KeysDir("web")));
}

TEST_F(NextKeyTest, EnsureStagesAPrivateKeyOnceAndThenLoadsIt) {
  auto first = EnsureNextKey(*layout_, "web", KeyType::kEc256);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string path = layout_->NextKeyPath("web");
  EXPECT_EQ(path, dir_.path() + "/state/keys/web/next.pem");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(layout_->KeysDir("web")), 0700u);
  EXPECT_EQ(ModeOf(dir_.path() + "/state/keys"), 0700u);
  auto second = EnsureNextKey(*layout_, "web", KeyType::kEc256);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second->PublicKeyDer(), *first->PublicKeyDer()) << "a staged key is kept";
  auto loaded = LoadNextKey(*layout_, "web");
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ(*(*loaded)->PublicKeyDer(), *first->PublicKeyDer());
  // What is on disk is that key.
  EXPECT_EQ(IndependentPinsOfKey(*fs::ReadFile(path)).tlsa_3_1_1, PinsOf(*first)->tlsa_3_1_1);
}

TEST_F(NextKeyTest, AnotherKeyTypeIsReplaced) {
  auto ec = EnsureNextKey(*layout_, "web", KeyType::kEc256);
  ASSERT_TRUE(ec.ok());
  auto rsa = EnsureNextKey(*layout_, "web", KeyType::kRsa2048);
  ASSERT_TRUE(rsa.ok()) << rsa.status().ToString();
  EXPECT_EQ(rsa->type(), KeyType::kRsa2048);
  EXPECT_EQ((*LoadNextKey(*layout_, "web"))->type(), KeyType::kRsa2048);
  EXPECT_EQ(ModeOf(layout_->NextKeyPath("web")), 0600u);
}

TEST_F(NextKeyTest, AKeyOthersCanReadIsRefusedNotReplaced) {
  ASSERT_TRUE(EnsureNextKey(*layout_, "web", KeyType::kEc256).ok());
  const std::string path = layout_->NextKeyPath("web");
  const std::string before = *fs::ReadFile(path);
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  auto loaded = LoadNextKey(*layout_, "web");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(EnsureNextKey(*layout_, "web", KeyType::kEc256).ok());
  EXPECT_EQ(*fs::ReadFile(path), before);
}

TEST_F(NextKeyTest, ASymlinkAtTheKeyIsRefused) {
  ASSERT_TRUE(fs::MakeDirs(layout_->KeysDir("web"), 0700).ok());
  const std::string elsewhere = dir_.path() + "/elsewhere.pem";
  ASSERT_TRUE(fs::WritePrivateFile(elsewhere, "x").ok());
  ASSERT_EQ(symlink(elsewhere.c_str(), layout_->NextKeyPath("web").c_str()), 0);
  EXPECT_FALSE(LoadNextKey(*layout_, "web").ok());
  EXPECT_FALSE(EnsureNextKey(*layout_, "web", KeyType::kEc256).ok());
  EXPECT_EQ(*fs::ReadFile(elsewhere), "x");
}

TEST_F(NextKeyTest, RotateReplacesTheUsedKeyAndKeepsAnother) {
  auto staged = EnsureNextKey(*layout_, "web", KeyType::kEc256);
  ASSERT_TRUE(staged.ok());
  auto rotated = RotateNextKey(*layout_, "web", KeyType::kEc256, *staged);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_NE(*rotated->PublicKeyDer(), *staged->PublicKeyDer());
  EXPECT_EQ(*(*LoadNextKey(*layout_, "web"))->PublicKeyDer(), *rotated->PublicKeyDer());
  EXPECT_EQ(ModeOf(layout_->NextKeyPath("web")), 0600u);
  // A key other than the one used (staged meanwhile) may be published: kept.
  auto other = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(other.ok());
  auto kept = RotateNextKey(*layout_, "web", KeyType::kEc256, *other);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept->PublicKeyDer(), *rotated->PublicKeyDer());
  // Nothing staged: one is staged.
  ASSERT_TRUE(RemoveNextKey(*layout_, "web").ok());
  EXPECT_FALSE(fs::Exists(layout_->NextKeyPath("web")));
  auto fresh = RotateNextKey(*layout_, "web", KeyType::kEc256, *other);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fs::Exists(layout_->NextKeyPath("web")));
}

TEST_F(NextKeyTest, LeftoverTemporaryFilesAreRemoved) {
  ASSERT_TRUE(EnsureNextKey(*layout_, "web", KeyType::kEc256).ok());
  const std::string leftover = layout_->KeysDir("web") + "/next.pem.tmp-abcdefghij";
  ASSERT_TRUE(fs::WritePrivateFile(leftover, "half").ok());
  auto removed = layout_->RemoveLeftovers();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(fs::Exists(leftover));
  EXPECT_TRUE(fs::Exists(layout_->NextKeyPath("web")));
}

struct PinsCase {
  const char* name;
  KeyType type;
};

class KeyPinsTest : public ::testing::TestWithParam<PinsCase> {};

TEST_P(KeyPinsTest, MatchOpenSslForTheKeyAndItsCertificate) {
  auto key = PrivateKey::Generate(GetParam().type);
  ASSERT_TRUE(key.ok());
  const std::string key_pem = *key->ToPem();
  auto pins = PinsOf(*key);
  ASSERT_TRUE(pins.ok()) << pins.status().ToString();
  const KeyPins expected = IndependentPinsOfKey(key_pem);
  EXPECT_EQ(pins->spki_sha256_base64, expected.spki_sha256_base64);
  EXPECT_EQ(pins->tlsa_3_1_1, expected.tlsa_3_1_1);
  EXPECT_EQ(pins->spki_sha256_base64.size(), 44u);  // 32 bytes in base64
  EXPECT_EQ(pins->tlsa_3_1_1.size(), 64u);

  // A certificate for that key has the same pins.
  TimePoint now = std::chrono::system_clock::now();
  auto pki = hooks::testing::TestPki::Create(now);
  hooks::testing::TestCert leaf;
  {
    using namespace hooks::testing;  // NOLINT
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    std::unique_ptr<X509, decltype(&X509_free)> issuer(ReadCert(pki.intermediate.cert_pem),
                                                       X509_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> issuer_key(
        ReadKey(pki.intermediate.key_pem), EVP_PKEY_free);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
    ASN1_TIME_set(X509_getm_notBefore(cert.get()), std::chrono::system_clock::to_time_t(now));
    ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                  std::chrono::system_clock::to_time_t(now + std::chrono::hours(12)));
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer.get()));
    X509_set_pubkey(cert.get(), key->get());
    CheckSsl(X509_sign(cert.get(), issuer_key.get(), EVP_sha256()) > 0, "sign");
    leaf.cert_pem = CertToPem(cert.get());
  }
  auto cert_pins = PinsOfCertificate(leaf.cert_pem + pki.intermediate.cert_pem);
  ASSERT_TRUE(cert_pins.ok()) << cert_pins.status().ToString();
  EXPECT_EQ(cert_pins->spki_sha256_base64, expected.spki_sha256_base64);
  EXPECT_EQ(cert_pins->tlsa_3_1_1, expected.tlsa_3_1_1);
  EXPECT_EQ(IndependentPinsOfCertificate(leaf.cert_pem).tlsa_3_1_1, expected.tlsa_3_1_1);
  // The intermediate's pins are other pins.
  EXPECT_NE(PinsOfCertificate(pki.intermediate.cert_pem)->tlsa_3_1_1, expected.tlsa_3_1_1);
}

INSTANTIATE_TEST_SUITE_P(Types, KeyPinsTest,
                         ::testing::Values(PinsCase{"Ec256", KeyType::kEc256},
                                           PinsCase{"Ec384", KeyType::kEc384},
                                           PinsCase{"Rsa2048", KeyType::kRsa2048}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(KeyPinsTest, NotACertificateIsAnError) {
  EXPECT_FALSE(PinsOfCertificate("not a certificate").ok());
}

// RFC 7469 §2.4 and RFC 6698: the pins are SHA-256 of the SPKI, in base64 and
// hex. Fixed bytes give fixed values (`printf abc | openssl dgst -sha256
// -binary | base64`, and `sha256sum`).
TEST(KeyPinsTest, PinsOfAKnownSpki) {
  const KeyPins pins = PinsOfSpki("abc");
  EXPECT_EQ(pins.tlsa_3_1_1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(pins.spki_sha256_base64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

}  // namespace
}  // namespace certkeeper::lifecycle
