#include "lifecycle/ocsp.h"

#include <openssl/pem.h>

#include <gtest/gtest.h>

#include "tests/unit/lifecycle/revocation_pki.h"

namespace certkeeper::lifecycle {
namespace {

using namespace std::chrono_literals;
using testing_pki::Nonce;
using testing_pki::OcspOptions;
using testing_pki::OcspResponse;
using testing_pki::Pki;

constexpr Duration kMaxAge = 24h;

class OcspTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto request = BuildOcspRequest(pair_);
    ASSERT_TRUE(request.ok()) << request.status().ToString();
    request_ = *request;
  }
  Result<RevocationStatus> Verify(const OcspOptions& o) {
    return VerifyOcspResponse(OcspResponse(pki_, request_, o, now_), request_, pair_, now_,
                              kMaxAge);
  }
  // The refusal's message, or a failure when it was accepted.
  std::string Refusal(const OcspOptions& o) {
    auto r = Verify(o);
    EXPECT_FALSE(r.ok()) << "accepted with status " << r->status;
    return r.ok() ? "" : r.status().ToString();
  }

  Pki pki_;
  CertPair pair_ = pki_.Pair();
  TimePoint now_ = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());
  std::string request_;
};

TEST_F(OcspTest, GoodFromTheIssuerItself) {
  auto r = Verify({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "good");
  ASSERT_TRUE(r->this_update && r->next_update);
  EXPECT_EQ(*r->this_update, now_ - 1min);
  EXPECT_EQ(*r->next_update, now_ + 12h);
  EXPECT_FALSE(r->revoked_at);
}

TEST_F(OcspTest, RevokedWithTimeAndReason) {
  OcspOptions o;
  o.status = V_OCSP_CERTSTATUS_REVOKED;
  o.revoked_at = now_ - 5h;
  auto r = Verify(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "revoked");
  EXPECT_EQ(r->revoked_at, now_ - 5h);
  EXPECT_EQ(r->reason, "keyCompromise");
}

TEST_F(OcspTest, UnknownIsAnAnswer) {
  OcspOptions o;
  o.status = V_OCSP_CERTSTATUS_UNKNOWN;
  auto r = Verify(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "unknown");
}

TEST_F(OcspTest, DelegatedResponderWithOcspSigningIsAuthorized) {
  OcspOptions o;
  o.signer = pki_.responder.get();
  o.signer_key = pki_.responder_key.get();
  auto r = Verify(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "good");
}

TEST_F(OcspTest, ResponderWithoutOcspSigningIsRefused) {
  OcspOptions o;
  o.signer = pki_.not_responder.get();
  o.signer_key = pki_.responder_key.get();
  EXPECT_NE(Refusal(o).find("authorization"), std::string::npos);
}

TEST_F(OcspTest, ResponderOfAnotherCaIsRefused) {
  OcspOptions o;
  o.signer = pki_.stranger_responder.get();
  o.signer_key = pki_.responder_key.get();
  EXPECT_NE(Refusal(o).find("did not verify"), std::string::npos);
}

TEST_F(OcspTest, BadSignatureIsRefused) {
  OcspOptions o;
  o.corrupt_signature = true;
  EXPECT_NE(Refusal(o).find("did not verify"), std::string::npos);
}

TEST_F(OcspTest, NonceMismatchIsRefused) {
  OcspOptions o;
  o.nonce = Nonce::kWrong;
  EXPECT_NE(Refusal(o).find("nonce does not match"), std::string::npos);
}

TEST_F(OcspTest, MissingNonceIsAcceptedWithinTheValidityWindow) {
  OcspOptions o;
  o.nonce = Nonce::kNone;
  auto r = Verify(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "good");
}

TEST_F(OcspTest, MissingNonceWithoutNextUpdateNeedsARecentThisUpdate) {
  OcspOptions o;
  o.nonce = Nonce::kNone;
  o.next_update_in.reset();
  o.this_update_ago = kMaxAge + 1h;
  EXPECT_NE(Refusal(o).find("replay"), std::string::npos);
  o.this_update_ago = 1h;
  EXPECT_TRUE(Verify(o).ok());
}

TEST_F(OcspTest, StaleNextUpdateIsRefused) {
  OcspOptions o;
  o.this_update_ago = 48h;
  o.next_update_in = -1h;
  EXPECT_NE(Refusal(o).find("stale"), std::string::npos);
}

TEST_F(OcspTest, ThisUpdateInTheFutureIsRefused) {
  OcspOptions o;
  o.this_update_ago = -1h;
  EXPECT_NE(Refusal(o).find("future"), std::string::npos);
}

TEST_F(OcspTest, AnswerForAnotherCertificateIsRefused) {
  OcspOptions o;
  o.subject = pki_.other.get();
  EXPECT_NE(Refusal(o).find("CertID"), std::string::npos);
}

TEST_F(OcspTest, UnsuccessfulResponseStatusIsRefused) {
  OCSP_RESPONSE* response = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr);
  const std::string der = testing_pki::Der(response);
  OCSP_RESPONSE_free(response);
  auto r = VerifyOcspResponse(der, request_, pair_, now_, kMaxAge);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("trylater"), std::string::npos) << r.status().ToString();
}

TEST_F(OcspTest, GarbageIsRefused) {
  for (std::string garbage : {std::string(), std::string("not an OCSP response"),
                              OcspResponse(pki_, request_, {}, now_).substr(0, 40),
                              OcspResponse(pki_, request_, {}, now_) + "x"}) {
    auto r = VerifyOcspResponse(garbage, request_, pair_, now_, kMaxAge);
    ASSERT_FALSE(r.ok()) << garbage.size();
    EXPECT_EQ(r.status().code(), ErrorCode::kProtocol);
  }
}

TEST_F(OcspTest, OversizedResponseIsRefusedUnread) {
  auto r = VerifyOcspResponse(std::string(kMaxOcspResponseBytes + 1, '\x30'), request_, pair_,
                              now_, kMaxAge);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("over the limit"), std::string::npos);
}

TEST_F(OcspTest, RequestsCarryAFreshNonce) {
  auto second = BuildOcspRequest(pair_);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*second, request_);
  // An answer to the first request does not answer the second.
  auto r = VerifyOcspResponse(OcspResponse(pki_, request_, {}, now_), *second, pair_, now_,
                              kMaxAge);
  EXPECT_FALSE(r.ok());
}

TEST(RevocationUrlsTest, ReadsAiaAndCdpHttpUrls) {
  Pki pki;
  EXPECT_EQ(OcspUrls(pki.leaf.get()), std::vector<std::string>{"http://127.0.0.1:1/ocsp"});
  EXPECT_EQ(CrlUrls(pki.leaf.get()), std::vector<std::string>{"http://127.0.0.1:2/test.crl"});
  EXPECT_TRUE(OcspUrls(pki.other.get()).empty());
  EXPECT_TRUE(CrlUrls(pki.other.get()).empty());
  auto ldap = testing_pki::MakeCert({"ldap", 5, false, "", "", "OCSP;URI:ldap://x/y",
                                     "URI:ldap://x/cn=crl"},
                                    pki.leaf_key.get(), pki.ca.get(), pki.ca_key.get());
  EXPECT_TRUE(OcspUrls(ldap.get()).empty());
  EXPECT_TRUE(CrlUrls(ldap.get()).empty());
}

TEST(RevocationUrlsTest, AChainWithoutTheIssuerLeavesItUnset) {
  Pki pki;
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), pki.leaf.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  auto pair = LoadCertPair(std::string(data, static_cast<size_t>(n)), "");
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->issuer, nullptr);
  EXPECT_FALSE(NeedIssuer(*pair).ok());
  EXPECT_FALSE(BuildOcspRequest(*pair).ok());
}

}  // namespace
}  // namespace certkeeper::lifecycle
