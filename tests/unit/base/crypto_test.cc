#include "base/crypto.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "base/openssl_ptr.h"

namespace certkeeper {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::system_clock;

constexpr auto kDay = hours(24);

std::string ReadBio(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string PemOf(X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_X509(bio.get(), x), 1);
  return ReadBio(bio.get());
}

// Whole seconds, as certificates store them.
TimePoint WholeSeconds(TimePoint t) {
  return std::chrono::time_point_cast<seconds>(t);
}

struct CertSpec {
  std::string cn;
  bool is_ca = false;
  std::string san;  // "DNS:a,DNS:b" or empty
  TimePoint not_before;
  TimePoint not_after;
  std::string serial_hex;
};

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << "extension " << value;
  ASSERT_EQ(X509_add_ext(cert, ext, -1), 1);
  X509_EXTENSION_free(ext);
}

// Builds and signs a certificate in memory. issuer == nullptr: self-signed.
X509Ptr MakeCert(const CertSpec& spec, const PrivateKey& key, X509* issuer,
                 const PrivateKey& issuer_key) {
  X509Ptr x(X509_new());
  EXPECT_EQ(X509_set_version(x.get(), X509_VERSION_3), 1);
  BIGNUM* bn = nullptr;
  EXPECT_GT(BN_hex2bn(&bn, spec.serial_hex.c_str()), 0);
  EXPECT_NE(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get())), nullptr);
  BN_free(bn);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Certkeeper Test"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : x.get();
  X509_set_issuer_name(x.get(), X509_get_subject_name(signer));
  ASN1_TIME_set(X509_getm_notBefore(x.get()), system_clock::to_time_t(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), system_clock::to_time_t(spec.not_after));
  X509_set_pubkey(x.get(), key.get());
  AddExt(x.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer) AddExt(x.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (spec.is_ca) {
    AddExt(x.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(x.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(x.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(x.get(), signer, NID_ext_key_usage, "serverAuth");
  }
  if (!spec.san.empty()) AddExt(x.get(), signer, NID_subject_alt_name, spec.san);
  EXPECT_GT(X509_sign(x.get(), issuer_key.get(), EVP_sha256()), 0);
  return x;
}

PrivateKey MustGenerate(KeyType type) {
  auto key = PrivateKey::Generate(type);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(key).value();
}

// A root, an intermediate and a leaf, generated at test time.
class PkiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new Pki;
    Pki& p = *pki_;
    TimePoint now = WholeSeconds(system_clock::now());
    p.root_key = std::make_unique<PrivateKey>(MustGenerate(KeyType::kEc384));
    p.inter_key = std::make_unique<PrivateKey>(MustGenerate(KeyType::kEc256));
    p.leaf_key = std::make_unique<PrivateKey>(MustGenerate(KeyType::kEc256));
    p.other_root_key = std::make_unique<PrivateKey>(MustGenerate(KeyType::kEc256));
    X509Ptr root = MakeCert({"Test Root", true, "", now - 365 * kDay, now + 365 * kDay, "01"},
                            *p.root_key, nullptr, *p.root_key);
    X509Ptr inter = MakeCert(
        {"Test Intermediate", true, "", now - 365 * kDay, now + 365 * kDay, "02"},
        *p.inter_key, root.get(), *p.root_key);
    p.leaf_not_before = now - kDay;
    p.leaf_not_after = now + 30 * kDay;
    X509Ptr leaf = MakeCert({"example.com", false, "DNS:example.com,DNS:*.example.net",
                             p.leaf_not_before, p.leaf_not_after, "0A1B2C3D"},
                            *p.leaf_key, inter.get(), *p.inter_key);
    X509Ptr other_root =
        MakeCert({"Other Root", true, "", now - 365 * kDay, now + 365 * kDay, "03"},
                 *p.other_root_key, nullptr, *p.other_root_key);
    p.root_pem = PemOf(root.get());
    p.inter_pem = PemOf(inter.get());
    p.leaf_pem = PemOf(leaf.get());
    p.other_root_pem = PemOf(other_root.get());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ASSERT_EQ(X509_digest(leaf.get(), EVP_sha256(), md, &md_len), 1);
    p.leaf_fingerprint = HexEncode(std::string(reinterpret_cast<char*>(md), md_len));
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  struct Pki {
    std::unique_ptr<PrivateKey> root_key, inter_key, leaf_key, other_root_key;
    std::string root_pem, inter_pem, leaf_pem, other_root_pem;
    std::string leaf_fingerprint;
    TimePoint leaf_not_before, leaf_not_after;
  };
  static Pki* pki_;
};

PkiTest::Pki* PkiTest::pki_ = nullptr;

TEST(KeyTypeTest, NamesRoundTrip) {
  for (KeyType t : {KeyType::kEc256, KeyType::kEc384, KeyType::kRsa2048,
                    KeyType::kRsa3072, KeyType::kRsa4096}) {
    auto parsed = ParseKeyType(KeyTypeName(t));
    ASSERT_TRUE(parsed.ok()) << KeyTypeName(t);
    EXPECT_EQ(*parsed, t);
  }
  auto bad = ParseKeyType("ec521");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("ec521"), std::string::npos);
  EXPECT_NE(bad.status().hint().find("rsa3072"), std::string::npos);
}

class KeyGenerationTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeyGenerationTest, GeneratesAndRoundTripsThroughPem) {
  KeyType type = GetParam();
  PrivateKey key = MustGenerate(type);
  EXPECT_EQ(key.type(), type);
  EXPECT_EQ(key.is_ec(), type == KeyType::kEc256 || type == KeyType::kEc384);
  auto pem = key.ToPem();
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  EXPECT_EQ(pem->rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << "not PKCS#8";
  auto back = PrivateKey::FromPem(*pem);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->type(), type);
  auto spki = key.PublicKeyDer();
  auto spki_back = back->PublicKeyDer();
  ASSERT_TRUE(spki.ok() && spki_back.ok());
  EXPECT_FALSE(spki->empty());
  EXPECT_EQ(*spki, *spki_back);
  EXPECT_EQ(EVP_PKEY_eq(key.get(), back->get()), 1);
  if (key.is_ec()) {  // RSA generation is too slow to do twice per size.
    EXPECT_NE(*spki, *MustGenerate(type).PublicKeyDer()) << "two keys are equal";
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KeyGenerationTest,
                         ::testing::Values(KeyType::kEc256, KeyType::kEc384,
                                           KeyType::kRsa2048, KeyType::kRsa3072,
                                           KeyType::kRsa4096),
                         [](const auto& info) {
                           return std::string(KeyTypeName(info.param));
                         });

std::string TraditionalPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), pkey, nullptr, nullptr, 0,
                                                 nullptr, nullptr),
            1);
  return ReadBio(bio.get());
}

TEST(PrivateKeyTest, AcceptsTraditionalPem) {
  PrivateKey ec = MustGenerate(KeyType::kEc256);
  std::string ec_pem = TraditionalPem(ec.get());
  ASSERT_NE(ec_pem.find("BEGIN EC PRIVATE KEY"), std::string::npos);
  auto ec_back = PrivateKey::FromPem(ec_pem);
  ASSERT_TRUE(ec_back.ok()) << ec_back.status().ToString();
  EXPECT_EQ(ec_back->type(), KeyType::kEc256);
  EXPECT_EQ(EVP_PKEY_eq(ec.get(), ec_back->get()), 1);

  PrivateKey rsa = MustGenerate(KeyType::kRsa2048);
  std::string rsa_pem = TraditionalPem(rsa.get());
  ASSERT_NE(rsa_pem.find("BEGIN RSA PRIVATE KEY"), std::string::npos);
  auto rsa_back = PrivateKey::FromPem(rsa_pem);
  ASSERT_TRUE(rsa_back.ok()) << rsa_back.status().ToString();
  EXPECT_EQ(rsa_back->type(), KeyType::kRsa2048);
}

// The body of a PEM block: the key material an error must never echo.
std::string PemBodyLine(const std::string& pem) {
  size_t start = pem.find('\n') + 1;
  return pem.substr(start, pem.find('\n', start) - start);
}

void ExpectRejected(const std::string& pem, const std::string& why) {
  auto r = PrivateKey::FromPem(pem);
  ASSERT_FALSE(r.ok()) << why;
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << why;
  std::string text = r.status().ToUserString();
  EXPECT_NE(text.find(why), std::string::npos) << text;
  std::string body = PemBodyLine(pem);
  ASSERT_GE(body.size(), 16u);
  EXPECT_EQ(text.find(body.substr(0, 16)), std::string::npos) << "echoes key material";
}

TEST(PrivateKeyTest, RejectsWeakAndUnsupportedKeys) {
  PkeyPtr rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
  PkeyPtr p521(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
  PkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(rsa1024 && p521 && ed25519);
  auto pkcs8 = [](EVP_PKEY* k) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr),
              1);
    return ReadBio(bio.get());
  };
  ExpectRejected(pkcs8(rsa1024.get()), "1024 bits is too small");
  ExpectRejected(TraditionalPem(rsa1024.get()), "1024 bits is too small");
  ExpectRejected(pkcs8(p521.get()), "unsupported curve");
  ExpectRejected(pkcs8(ed25519.get()), "unsupported private key algorithm");
}

TEST(PrivateKeyTest, RejectsEncryptedAndMalformedPem) {
  PrivateKey key = MustGenerate(KeyType::kEc256);
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(),
                                          "secret-pass", 11, nullptr, nullptr),
            1);
  ExpectRejected(ReadBio(bio.get()), "does not parse");

  auto garbage = PrivateKey::FromPem("not a key at all");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("does not parse"), std::string::npos);
  EXPECT_FALSE(PrivateKey::FromPem("").ok());

  std::string pem = *key.ToPem();
  pem[40] = pem[40] == 'A' ? 'B' : 'A';  // corrupt the DER inside
  pem.erase(60, 8);
  ExpectRejected(pem, "does not parse");
}

// Returns the dNSNames of a CSR's subjectAltName extension.
std::vector<std::string> CsrDnsNames(X509_REQ* req) {
  std::vector<std::string> names;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* gens = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    for (int j = 0; j < sk_GENERAL_NAME_num(gens); ++j) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(gens, j);
      EXPECT_EQ(gn->type, GEN_DNS);
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                         ASN1_STRING_length(gn->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return names;
}

std::string CsrCommonName(X509_REQ* req) {
  X509_NAME* subject = X509_REQ_get_subject_name(req);
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx < 0) return "";
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
}

ReqPtr ParseCsr(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  EXPECT_TRUE(req);
  EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der.data()) + der.size());
  return req;
}

TEST(CsrTest, ContainsDomainsAndVerifies) {
  struct Case {
    KeyType type;
    int signature_nid;
  };
  for (Case c : {Case{KeyType::kEc256, NID_ecdsa_with_SHA256},
                 Case{KeyType::kRsa2048, NID_sha256WithRSAEncryption}}) {
    SCOPED_TRACE(std::string(KeyTypeName(c.type)));
    PrivateKey key = MustGenerate(c.type);
    std::vector<std::string> domains = {"example.com", "www.example.com", "*.example.org"};
    auto der = CreateCsrDer(key, domains);
    ASSERT_TRUE(der.ok()) << der.status().ToString();
    auto req = ParseCsr(*der);
    ASSERT_TRUE(req);
    EXPECT_EQ(X509_REQ_verify(req.get(), key.get()), 1);
    EXPECT_EQ(X509_REQ_get_signature_nid(req.get()), c.signature_nid);
    EXPECT_EQ(EVP_PKEY_eq(X509_REQ_get0_pubkey(req.get()), key.get()), 1);
    EXPECT_EQ(CsrCommonName(req.get()), "example.com");
    EXPECT_EQ(CsrDnsNames(req.get()), domains);
    // A different key's signature check must fail.
    EXPECT_NE(X509_REQ_verify(req.get(), MustGenerate(c.type).get()), 1);
  }
}

TEST(CsrTest, LongFirstDomainIsSanOnly) {
  std::string long_name = std::string(60, 'a') + ".example.com";  // 72 octets
  PrivateKey key = MustGenerate(KeyType::kEc256);
  auto der = CreateCsrDer(key, {long_name, "example.com"});
  ASSERT_TRUE(der.ok()) << der.status().ToString();
  auto req = ParseCsr(*der);
  ASSERT_TRUE(req);
  EXPECT_EQ(CsrCommonName(req.get()), "");
  EXPECT_EQ(CsrDnsNames(req.get()), (std::vector<std::string>{long_name, "example.com"}));
  EXPECT_EQ(X509_REQ_verify(req.get(), key.get()), 1);
}

TEST(CsrTest, RejectsBadInput) {
  PrivateKey key = MustGenerate(KeyType::kEc256);
  auto none = CreateCsrDer(key, {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no domains"), std::string::npos);
  auto bad = CreateCsrDer(key, {"example.com", "bad name.example.com"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("create CSR"), std::string::npos);
}

TEST_F(PkiTest, ParseCertificatePemFields) {
  auto info = ParseCertificatePem(pki_->leaf_pem);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->serial_hex, "a1b2c3d");
  EXPECT_EQ(info->not_before, pki_->leaf_not_before);
  EXPECT_EQ(info->not_after, pki_->leaf_not_after);
  EXPECT_EQ(info->issuer, "CN=Test Intermediate,O=Certkeeper Test");
  EXPECT_EQ(info->subject, "CN=example.com,O=Certkeeper Test");
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"example.com", "*.example.net"}));
  EXPECT_EQ(info->sha256_fingerprint, pki_->leaf_fingerprint);
  EXPECT_EQ(info->sha256_fingerprint, HexEncode(Sha256(info->der)));

  auto root = ParseCertificatePem(pki_->root_pem);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->serial_hex, "1");
  EXPECT_TRUE(root->dns_names.empty());
  EXPECT_EQ(root->issuer, root->subject);
}

TEST_F(PkiTest, DerRoundTrip) {
  auto info = ParseCertificatePem(pki_->leaf_pem);
  ASSERT_TRUE(info.ok());
  std::string pem = DerToPem(info->der);
  EXPECT_EQ(pem, pki_->leaf_pem);  // OpenSSL writes the same 64-column form
  auto from_der = ParseCertificateDer(info->der);
  ASSERT_TRUE(from_der.ok()) << from_der.status().ToString();
  EXPECT_EQ(from_der->sha256_fingerprint, info->sha256_fingerprint);

  auto trailing = ParseCertificateDer(info->der + "xx");
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("2 trailing bytes"), std::string::npos);
  EXPECT_FALSE(ParseCertificateDer(info->der.substr(0, info->der.size() - 1)).ok());
  EXPECT_FALSE(ParseCertificateDer("").ok());
}

// RFC 5280 §4.1.2.5: 99991231235959Z means "no well-defined expiration date".
// A TimePoint ends in 2262, so inspecting such a certificate used to overflow
// the conversion of notAfter; now it is an error naming the field.
TEST_F(PkiTest, NotAfterBeyondWhatATimePointHoldsIsAnError) {
  PrivateKey key = MustGenerate(KeyType::kEc256);
  TimePoint now = WholeSeconds(system_clock::now());
  X509Ptr x = MakeCert({"Forever", true, "DNS:forever.example", now - kDay, now + kDay, "05"},
                       key, nullptr, key);
  ASSERT_EQ(ASN1_TIME_set_string(X509_getm_notAfter(x.get()), "99991231235959Z"), 1);
  ASSERT_GT(X509_sign(x.get(), key.get(), EVP_sha256()), 0);
  auto info = ParseCertificatePem(PemOf(x.get()));
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("notAfter is in the year 9999"), std::string::npos)
      << info.status().ToString();
}

TEST_F(PkiTest, SplitPemCertificates) {
  std::string bundle = "leaf follows\n" + pki_->leaf_pem + "\n" + pki_->inter_pem +
                       "# comment\n" + pki_->root_pem;
  auto parts = SplitPemCertificates(bundle);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(*parts, (std::vector<std::string>{pki_->leaf_pem, pki_->inter_pem,
                                               pki_->root_pem}));

  auto empty = SplitPemCertificates("no certificates here\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no CERTIFICATE"), std::string::npos);

  std::string broken_inter = pki_->inter_pem;
  broken_inter.erase(100, 20);
  auto broken = SplitPemCertificates(pki_->leaf_pem + broken_inter);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("certificate #2"), std::string::npos)
      << broken.status().message();

  EXPECT_FALSE(ParseCertificatePem("").ok());
}

// One parse gives what the three separate calls give, and a key check that
// needs no second parse.
TEST_F(PkiTest, ParsePemCertificatesMatchesTheSeparateCalls) {
  std::string bundle = "leaf follows\n" + pki_->leaf_pem + pki_->inter_pem;
  auto parsed = ParsePemCertificates(bundle);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 2u);
  auto split = SplitPemCertificates(bundle);
  ASSERT_TRUE(split.ok());
  for (size_t i = 0; i < parsed->size(); ++i) {
    const ParsedCertificate& c = (*parsed)[i];
    EXPECT_EQ(c.pem(), (*split)[i]);
    auto info = ParseCertificatePem(c.pem());
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(c.info().serial_hex, info->serial_hex);
    EXPECT_EQ(c.info().subject, info->subject);
    EXPECT_EQ(c.info().dns_names, info->dns_names);
    EXPECT_EQ(c.info().der, info->der);
    EXPECT_EQ(c.info().sha256_fingerprint, info->sha256_fingerprint);
  }
  EXPECT_EQ((*parsed)[0].pem(), pki_->leaf_pem);
  EXPECT_EQ((*parsed)[1].pem(), pki_->inter_pem);

  EXPECT_TRUE((*parsed)[0].MatchesKey(*pki_->leaf_key).ok());
  EXPECT_TRUE((*parsed)[1].MatchesKey(*pki_->inter_key).ok());
  Status mismatch = (*parsed)[0].MatchesKey(*pki_->inter_key);
  EXPECT_EQ(mismatch.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(mismatch.message().find("does not match"), std::string::npos);

  // A copy shares the parsed certificate and outlives the vector it came from.
  ParsedCertificate kept = (*parsed)[0];
  parsed->clear();
  EXPECT_TRUE(kept.MatchesKey(*pki_->leaf_key).ok());

  EXPECT_EQ(ParsePemCertificates("no certificates here\n").status().code(),
            ErrorCode::kInvalidArgument);
  std::string broken_inter = pki_->inter_pem;
  broken_inter.erase(100, 20);
  auto broken = ParsePemCertificates(pki_->leaf_pem + broken_inter);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("certificate #2"), std::string::npos);
}

TEST_F(PkiTest, KeyMatchesCertificate) {
  EXPECT_TRUE(KeyMatchesCertificate(*pki_->leaf_key, pki_->leaf_pem).ok());
  Status mismatch = KeyMatchesCertificate(*pki_->inter_key, pki_->leaf_pem);
  EXPECT_EQ(mismatch.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(mismatch.message().find("does not match"), std::string::npos);
  PrivateKey rsa = MustGenerate(KeyType::kRsa2048);
  EXPECT_EQ(KeyMatchesCertificate(rsa, pki_->leaf_pem).code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(KeyMatchesCertificate(*pki_->leaf_key, "garbage").code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(PkiTest, VerifyChainSucceeds) {
  TimePoint now = system_clock::now();
  Status s = VerifyChain(pki_->leaf_pem, pki_->inter_pem, pki_->root_pem, now);
  EXPECT_TRUE(s.ok()) << s.ToString();
  // A fullchain as the leaf argument carries its own intermediate.
  s = VerifyChain(pki_->leaf_pem + pki_->inter_pem, "", pki_->root_pem, now);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(PkiTest, VerifyChainFailures) {
  TimePoint now = system_clock::now();
  struct Case {
    const char* name;
    std::string intermediates;
    std::string trust;
    TimePoint at;
    std::string message_part;
  };
  const Case cases[] = {
      {"missing_intermediate", "", pki_->root_pem, now,
       "unable to get local issuer certificate (is the intermediate missing?)"},
      {"expired_at", pki_->inter_pem, pki_->root_pem, pki_->leaf_not_after + kDay,
       "certificate has expired"},
      {"not_yet_valid_at", pki_->inter_pem, pki_->root_pem, pki_->leaf_not_before - kDay,
       "certificate is not yet valid"},
      {"untrusted_root", pki_->inter_pem, pki_->other_root_pem, now,
       "unable to get local issuer certificate (is the issuing root missing from the "
       "trust store?)"},
  };
  for (const Case& c : cases) {
    Status s = VerifyChain(pki_->leaf_pem, c.intermediates, c.trust, c.at);
    EXPECT_EQ(s.code(), ErrorCode::kTls) << c.name << ": " << s.ToString();
    EXPECT_EQ(s.message().rfind("chain does not verify: ", 0), 0u) << c.name;
    EXPECT_NE(s.message().find(c.message_part), std::string::npos)
        << c.name << ": " << s.ToString();
  }
}

TEST_F(PkiTest, VerifyChainAgainstSystemStoreRejectsPrivateRoot) {
  Status s = VerifyChain(pki_->leaf_pem, pki_->inter_pem, "", system_clock::now());
  EXPECT_EQ(s.code(), ErrorCode::kTls) << s.ToString();
  EXPECT_NE(s.message().find("issuer certificate"), std::string::npos) << s.ToString();
}

TEST_F(PkiTest, VerifyChainRejectsUnparsableInput) {
  TimePoint now = system_clock::now();
  EXPECT_EQ(VerifyChain("", pki_->inter_pem, pki_->root_pem, now).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(VerifyChain(pki_->leaf_pem, pki_->inter_pem, "junk", now).code(),
            ErrorCode::kInvalidArgument);
}

TEST(CertificateCoversTest, Table) {
  CertInfo cert;
  cert.dns_names = {"example.com", "*.example.net", "Mixed.Example.ORG"};
  struct Case {
    const char* name;
    const char* domain;
    bool covered;
  };
  const Case cases[] = {
      {"exact", "example.com", true},
      {"exact_upper_case_query", "EXAMPLE.com", true},
      {"exact_upper_case_san", "mixed.example.org", true},
      {"other_name", "www.example.com", false},
      {"parent_of_exact", "com", false},
      {"wildcard_one_label", "a.example.net", true},
      {"wildcard_case", "A.Example.NET", true},
      {"wildcard_not_two_labels", "b.a.example.net", false},
      {"wildcard_not_apex", "example.net", false},
      {"wildcard_not_empty_label", ".example.net", false},
      {"wildcard_itself", "*.example.net", true},
      {"wildcard_suffix_only", "aexample.net", false},
      {"wildcard_not_other_zone", "a.example.net.evil", false},
      {"no_wildcard_for_exact_san", "a.example.com", false},
      {"empty", "", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CertificateCovers(cert, c.domain), c.covered) << c.name;
  }
}

}  // namespace
}  // namespace certkeeper
