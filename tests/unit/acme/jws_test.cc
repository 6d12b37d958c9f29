#include "acme/jws.h"

#include <gtest/gtest.h>

#include "base/encoding.h"
#include "tests/unit/acme/jose_testing.h"

namespace certkeeper::acme {
namespace {

using nlohmann::json;
using testing::DecodeJws;
using testing::PublicKeyFromJwk;
using testing::VerifySignature;

// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
constexpr const char* kRfc7638N =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6t"
    "Soc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
    "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qN"
    "Lyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awap"
    "JzKnqDKgw";

TEST(JwkThumbprintTest, MatchesRfc7638Example) {
  // Extra members ("alg", "kid") must not influence the thumbprint (§3.2).
  json jwk = {{"kty", "RSA"}, {"n", kRfc7638N}, {"e", "AQAB"},
              {"alg", "RS256"}, {"kid", "2011-04-29"}};
  auto thumbprint = JwkThumbprint(jwk);
  ASSERT_TRUE(thumbprint.ok()) << thumbprint.status().ToString();
  EXPECT_EQ(*thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(JwkThumbprintTest, RejectsUnknownTypeAndMissingMembers) {
  EXPECT_FALSE(JwkThumbprint(json{{"kty", "oct"}, {"k", "AAAA"}}).ok());
  EXPECT_FALSE(JwkThumbprint(json{{"kty", "RSA"}, {"n", kRfc7638N}}).ok());
  EXPECT_FALSE(JwkThumbprint(json::array()).ok());
}

TEST(JwkThumbprintTest, EcKeyThumbprintIsOverCanonicalMembers) {
  auto key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(key.ok());
  auto jwk = PublicJwk(*key);
  ASSERT_TRUE(jwk.ok());
  // RFC 7638 §3.2: crv, kty, x, y in this order, no whitespace.
  std::string canonical = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" +
                           (*jwk)["x"].get<std::string>() + "\",\"y\":\"" +
                           (*jwk)["y"].get<std::string>() + "\"}";
  auto thumbprint = JwkThumbprint(*key);
  ASSERT_TRUE(thumbprint.ok());
  EXPECT_EQ(*thumbprint, Base64UrlEncode(Sha256(canonical)));
}

struct AlgCase {
  const char* name;
  KeyType type;
  const char* alg;
  size_t signature_size;  // RSA: the modulus size
};

class JwsSignTest : public ::testing::TestWithParam<AlgCase> {};

TEST_P(JwsSignTest, SignatureVerifiesWithOpenSsl) {
  const AlgCase& c = GetParam();
  auto key = PrivateKey::Generate(c.type);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  JwsHeader header{.url = "https://ca.test/new-acct", .nonce = "abc_-123", .kid = {}};
  auto jws = SignJws(*key, header, R"({"termsOfServiceAgreed":true})");
  ASSERT_TRUE(jws.ok()) << jws.status().ToString();
  auto decoded = DecodeJws(*jws);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->header["alg"], c.alg);
  EXPECT_EQ(decoded->header["nonce"], "abc_-123");
  EXPECT_EQ(decoded->header["url"], "https://ca.test/new-acct");
  EXPECT_FALSE(decoded->header.contains("kid"));
  ASSERT_TRUE(decoded->header.contains("jwk"));
  EXPECT_FALSE(decoded->header["jwk"].contains("d")) << "private member leaked";
  EXPECT_EQ(decoded->signature.size(), c.signature_size);

  auto pub = PublicKeyFromJwk(decoded->header["jwk"]);
  ASSERT_NE(pub, nullptr);
  EXPECT_TRUE(VerifySignature(pub.get(), c.alg, decoded->signing_input,
                              decoded->signature));
  // The verifier is not vacuous: a changed payload must fail.
  std::string tampered = decoded->signing_input + "x";
  EXPECT_FALSE(VerifySignature(pub.get(), c.alg, tampered, decoded->signature));
}

INSTANTIATE_TEST_SUITE_P(
    Algorithms, JwsSignTest,
    ::testing::Values(AlgCase{"Es256", KeyType::kEc256, "ES256", 64},
                      AlgCase{"Es384", KeyType::kEc384, "ES384", 96},
                      AlgCase{"Rs256", KeyType::kRsa2048, "RS256", 256}),
    [](const ::testing::TestParamInfo<AlgCase>& info) { return info.param.name; });

TEST(JwsTest, KidHeaderAndPostAsGet) {
  auto key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(key.ok());
  JwsHeader header{.url = "https://ca.test/order/1", .nonce = "n1",
                   .kid = "https://ca.test/acct/7"};
  auto jws = SignJws(*key, header, "");
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ((*jws)["payload"], "");  // RFC 8555 §6.3
  auto decoded = DecodeJws(*jws);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->header["kid"], "https://ca.test/acct/7");
  EXPECT_FALSE(decoded->header.contains("jwk"));
}

TEST(JwsTest, EcCoordinatesArePaddedToFieldSize) {
  for (int i = 0; i < 20; ++i) {
    for (auto [type, width] : {std::pair{KeyType::kEc256, size_t{32}},
                               std::pair{KeyType::kEc384, size_t{48}}}) {
      auto key = PrivateKey::Generate(type);
      ASSERT_TRUE(key.ok());
      auto jwk = PublicJwk(*key);
      ASSERT_TRUE(jwk.ok());
      EXPECT_EQ(testing::B64(*jwk, "x").size(), width);
      EXPECT_EQ(testing::B64(*jwk, "y").size(), width);
    }
  }
}

TEST(KeyAuthorizationTest, TokenDotThumbprintAndDnsValue) {
  std::string key_authorization =
      KeyAuthorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                       "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(key_authorization,
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  // RFC 8555 §8.4: base64url(SHA-256(key authorization)), computed here with
  // OpenSSL directly.
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(key_authorization.data(), key_authorization.size(), digest, &len,
             EVP_sha256(), nullptr);
  std::string expected =
      Base64UrlEncode(std::string(reinterpret_cast<char*>(digest), len));
  EXPECT_EQ(Dns01TxtValue(key_authorization), expected);
  EXPECT_EQ(expected.size(), 43u);
}

}  // namespace
}  // namespace certkeeper::acme
