#include "lifecycle/crl.h"

#include <openssl/pem.h>

#include <gtest/gtest.h>

#include "tests/unit/lifecycle/revocation_pki.h"

namespace certkeeper::lifecycle {
namespace {

using namespace std::chrono_literals;
using testing_pki::Crl;
using testing_pki::CrlOptions;
using testing_pki::Pki;

class CrlTest : public ::testing::Test {
 protected:
  std::string Refusal(const CrlOptions& o) {
    auto r = CheckCrl(Crl(pki_, o, now_), pair_, now_);
    EXPECT_FALSE(r.ok()) << "accepted with status " << r->status;
    return r.ok() ? "" : r.status().ToString();
  }

  Pki pki_;
  CertPair pair_ = pki_.Pair();
  TimePoint now_ = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());
};

TEST_F(CrlTest, GoodWhenNotListed) {
  CrlOptions o;
  o.revoked = {{0x9999, 1}, {0x1, -1}};
  auto r = CheckCrl(Crl(pki_, o, now_), pair_, now_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "good");
  EXPECT_EQ(r->this_update, now_ - 1h);
  EXPECT_EQ(r->next_update, now_ + 24h * 7);
}

TEST_F(CrlTest, RevokedWithDateAndReason) {
  CrlOptions o;
  o.revoked = {{0x9999, 1}, {0x1234, 4}};
  auto r = CheckCrl(Crl(pki_, o, now_), pair_, now_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "revoked");
  EXPECT_EQ(r->revoked_at, now_ - 3h);
  EXPECT_EQ(r->reason, "superseded");
}

TEST_F(CrlTest, RevokedWithoutReasonIsUnspecified) {
  CrlOptions o;
  o.revoked = {{0x1234, -1}};
  auto r = CheckCrl(Crl(pki_, o, now_), pair_, now_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "revoked");
  EXPECT_EQ(r->reason, "unspecified");
}

TEST_F(CrlTest, PemIsAccepted) {
  const std::string der = Crl(pki_, {}, now_);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl);
  X509_CRL_free(crl);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(n));
  auto normalized = CrlDer(pem);
  ASSERT_TRUE(normalized.ok()) << normalized.status().ToString();
  EXPECT_EQ(*normalized, der);
  EXPECT_TRUE(CheckCrl(pem, pair_, now_).ok());
}

TEST_F(CrlTest, SignatureByAnotherKeyIsRefused) {
  CrlOptions o;
  o.key = pki_.stranger_key.get();
  EXPECT_NE(Refusal(o).find("signature"), std::string::npos);
}

TEST_F(CrlTest, AnotherIssuerNameIsRefused) {
  CrlOptions o;
  o.issuer = pki_.responder.get();
  EXPECT_NE(Refusal(o).find("issuer"), std::string::npos);
}

TEST_F(CrlTest, StaleNextUpdateIsRefused) {
  CrlOptions o;
  o.this_update_ago = 8 * 24h;
  o.next_update_in = -1h;
  EXPECT_NE(Refusal(o).find("stale"), std::string::npos);
}

TEST_F(CrlTest, ThisUpdateInTheFutureIsRefused) {
  CrlOptions o;
  o.this_update_ago = -2h;
  EXPECT_NE(Refusal(o).find("future"), std::string::npos);
}

TEST_F(CrlTest, DeltaAndPartialCrlsAreRefused) {
  CrlOptions delta;
  delta.delta = true;
  EXPECT_NE(Refusal(delta).find("delta"), std::string::npos);
  CrlOptions only_ca;
  only_ca.idp = "onlyCA:TRUE";
  EXPECT_NE(Refusal(only_ca).find("Issuing Distribution Point"), std::string::npos);
  // Let's Encrypt's sharded CRLs: a full name and onlyContainsUserCerts.
  CrlOptions user_certs;
  user_certs.idp = "fullname:URI:http://127.0.0.1:2/test.crl,onlyuser:TRUE";
  EXPECT_TRUE(CheckCrl(Crl(pki_, user_certs, now_), pair_, now_).ok());
}

TEST_F(CrlTest, IssuerWithoutCrlSignIsRefused) {
  testing_pki::CertOptions ca{"test CA", 1, true, "critical,keyCertSign", "", "", ""};
  pair_.issuer = testing_pki::MakeCert(ca, pki_.ca_key.get(), nullptr, pki_.ca_key.get());
  EXPECT_NE(Refusal({}).find("cRLSign"), std::string::npos);
}

TEST_F(CrlTest, GarbageAndOversizedAreRefused) {
  const std::string der = Crl(pki_, {}, now_);
  for (const std::string& bad : {std::string(), std::string("garbage"), der.substr(0, 30),
                                 der + "x", std::string("-----BEGIN X509 CRL-----\nAAAA\n")}) {
    auto r = CheckCrl(bad, pair_, now_);
    ASSERT_FALSE(r.ok()) << bad.size();
    EXPECT_EQ(r.status().code(), ErrorCode::kProtocol);
  }
  auto big = CheckCrl(std::string(kMaxCrlBytes + 1, '\x30'), pair_, now_);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().ToString().find("over the limit"), std::string::npos);
}

}  // namespace
}  // namespace certkeeper::lifecycle
