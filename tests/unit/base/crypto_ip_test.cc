// IP address identifiers in CSRs and certificates (RFC 8738 §4): iPAddress
// SANs, never the CN, reported in canonical form and compared only with IPs.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/crypto.h"
#include "base/openssl_ptr.h"

namespace certkeeper {
namespace {

PrivateKey MustGenerate() {
  auto key = PrivateKey::Generate(KeyType::kEc256);
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

// The SANs of a CSR as ("DNS"|"IP", text or raw octets).
std::vector<std::pair<std::string, std::string>> CsrSans(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  std::vector<std::pair<std::string, std::string>> out;
  if (!req) return out;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req.get());
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* gens = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    for (int j = 0; j < sk_GENERAL_NAME_num(gens); ++j) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(gens, j);
      const ASN1_STRING* s = gn->type == GEN_IPADD ? gn->d.iPAddress : gn->d.dNSName;
      out.emplace_back(gn->type == GEN_IPADD ? "IP" : gn->type == GEN_DNS ? "DNS" : "other",
                       std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<size_t>(ASN1_STRING_length(s))));
    }
    GENERAL_NAMES_free(gens);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

std::string CsrSubject(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) return "unparsable";
  char buf[256];
  X509_NAME_oneline(X509_REQ_get_subject_name(req.get()), buf, sizeof buf);
  return buf;
}

TEST(CsrIpTest, IpsAreIpAddressSansAndNeverTheCommonName) {
  PrivateKey key = MustGenerate();
  auto der = CreateCsrDer(key, {"192.0.2.1", "Example.COM", "2001:DB8::1"});
  ASSERT_TRUE(der.ok()) << der.status().ToString();
  std::string v6(16, '\0');
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[2] = 0x0d;
  v6[3] = static_cast<char>(0xb8);
  v6[15] = 1;
  EXPECT_EQ(CsrSans(*der), (std::vector<std::pair<std::string, std::string>>{
                               {"IP", std::string("\xc0\x00\x02\x01", 4)},
                               {"DNS", "example.com"},
                               {"IP", v6}}));
  EXPECT_EQ(CsrSubject(*der), "/CN=example.com");
}

TEST(CsrIpTest, IpOnlyRequestHasNoCommonName) {
  PrivateKey key = MustGenerate();
  auto der = CreateCsrDer(key, {"127.0.0.1"});
  ASSERT_TRUE(der.ok()) << der.status().ToString();
  EXPECT_EQ(CsrSans(*der), (std::vector<std::pair<std::string, std::string>>{
                               {"IP", std::string("\x7f\x00\x00\x01", 4)}}));
  EXPECT_EQ(CsrSubject(*der), "");
}

TEST(CsrIpTest, HostileIpSpellingsAreRefused) {
  PrivateKey key = MustGenerate();
  for (const char* bad : {"127.1", "0x7f.0.0.1", "010.0.0.1", "1.2.3.4.", "fe80::1%eth0",
                          "[::1]", "::ffff:1.2.3.04"}) {
    auto der = CreateCsrDer(key, {"example.com", bad});
    ASSERT_FALSE(der.ok()) << bad;
    EXPECT_EQ(der.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

// A self-signed certificate with the given SAN (OpenSSL config syntax) and CNs.
std::string MakeCertPem(const PrivateKey& key, const std::string& subject_cn,
                        const std::string& san) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(subject_cn.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  EXPECT_NE(ext, nullptr) << san;
  X509_add_ext(x.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x.get(), key.get(), EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

TEST(CertInfoIpTest, IpSansAreReportedCanonically) {
  PrivateKey key = MustGenerate();
  std::string pem = MakeCertPem(
      key, "Test R\xc3\xa9seau",
      "DNS:example.com,IP:192.0.2.1,IP:2001:0DB8:0:0:0:0:0:1,IP:0:0:0:0:0:0:102:304,"
      "IP:::ffff:1.2.3.4,DNS:192.0.2.9");
  auto info = ParseCertificatePem(pem);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"example.com", "192.0.2.9"}));
  // The IPv4-mapped SAN names no identifier certkeeper orders: left out.
  EXPECT_EQ(info->ip_addresses,
            (std::vector<std::string>{"192.0.2.1", "2001:db8::1", "::102:304"}));
  EXPECT_EQ(CertificateIdentifiers(*info),
            (std::vector<std::string>{"example.com", "192.0.2.9", "192.0.2.1", "2001:db8::1",
                                      "::102:304"}));
  EXPECT_EQ(info->subject_common_name, "Test R\xc3\xa9seau");
  EXPECT_EQ(info->issuer_common_name, "Test R\xc3\xa9seau");

  EXPECT_TRUE(CertificateCovers(*info, "192.0.2.1"));
  EXPECT_TRUE(CertificateCovers(*info, "2001:DB8:0::1"));
  EXPECT_TRUE(CertificateCovers(*info, "::1.2.3.4"));
  EXPECT_TRUE(CertificateCovers(*info, "example.com"));
  EXPECT_FALSE(CertificateCovers(*info, "192.0.2.2"));
  EXPECT_FALSE(CertificateCovers(*info, "::ffff:1.2.3.4"));
  EXPECT_FALSE(CertificateCovers(*info, "1.2.3.4"));
  // A dNSName that reads like an address does not cover the address.
  EXPECT_FALSE(CertificateCovers(*info, "192.0.2.9"));
  // Hostile spellings of a covered address are not covered.
  EXPECT_FALSE(CertificateCovers(*info, "192.0.2.01"));
  EXPECT_FALSE(CertificateCovers(*info, "192.0.2.1."));
}

TEST(CertInfoIpTest, IpAddressSanTextNeedsFourOrSixteenOctets) {
  EXPECT_EQ(IpAddressSanText(std::string("\x0a\x00\x00\x01", 4)), "10.0.0.1");
  EXPECT_EQ(IpAddressSanText(std::string(16, '\0')), "::");
  EXPECT_EQ(IpAddressSanText(""), "");
  EXPECT_EQ(IpAddressSanText(std::string(5, '\x01')), "");
  // An iPAddress name constraint (address + mask, 8 octets) is no address.
  EXPECT_EQ(IpAddressSanText(std::string(8, '\x01')), "");
}

}  // namespace
}  // namespace certkeeper
