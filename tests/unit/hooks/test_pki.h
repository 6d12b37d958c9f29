// Certificates made on the fly for the hooks tests: a root CA, an intermediate and
// leaves with chosen names and validity. Nothing is committed to the tree.
#ifndef CERTKEEPER_TESTS_UNIT_HOOKS_TEST_PKI_H_
#define CERTKEEPER_TESTS_UNIT_HOOKS_TEST_PKI_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/fs.h"
#include "hooks/material.h"

namespace certkeeper::hooks::testing {

inline fs::WriteOptions WithMode(mode_t mode) {
  fs::WriteOptions options;
  options.mode = mode;
  return options;
}

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

inline void CheckSsl(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("openssl: ") + what);
}

inline std::string KeyToPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  CheckSsl(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
           "write key");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

inline std::string CertToPem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  CheckSsl(PEM_write_bio_X509(bio.get(), cert), "write cert");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

inline EVP_PKEY* ReadKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  CheckSsl(key != nullptr, "read key");
  return key;
}

inline X509* ReadCert(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  CheckSsl(cert != nullptr, "read cert");
  return cert;
}

inline void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  CheckSsl(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Issues a certificate. issuer == nullptr: self-signed. An empty domains list and
// is_ca: a CA named common_name.
inline TestCert Issue(const TestCert* issuer, const std::string& common_name,
                      const std::vector<std::string>& domains, bool is_ca,
                      TimePoint not_before, TimePoint not_after) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  CheckSsl(key != nullptr, "generate key");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), std::chrono::system_clock::to_time_t(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), std::chrono::system_clock::to_time_t(not_after));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_pubkey(cert.get(), key.get());

  std::unique_ptr<X509, decltype(&X509_free)> issuer_cert(nullptr, X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> issuer_key(nullptr, EVP_PKEY_free);
  if (issuer != nullptr) {
    issuer_cert.reset(ReadCert(issuer->cert_pem));
    issuer_key.reset(ReadKey(issuer->key_pem));
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get()));
  } else {
    X509_set_issuer_name(cert.get(), name);
  }
  X509* signer = issuer_cert ? issuer_cert.get() : cert.get();
  AddExtension(cert.get(), signer, NID_basic_constraints,
               is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExtension(cert.get(), signer, NID_key_usage,
               is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid");
  if (!domains.empty()) {
    std::string san;
    for (const std::string& d : domains) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    AddExtension(cert.get(), signer, NID_subject_alt_name, san);
  }
  CheckSsl(X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()) > 0,
           "sign");
  return TestCert{CertToPem(cert.get()), KeyToPem(key.get())};
}

// A root, an intermediate under it, and what a CA would hand out.
struct TestPki {
  TestCert root;
  TestCert intermediate;

  static TestPki Create(TimePoint now) {
    TestPki pki;
    pki.root = Issue(nullptr, "certkeeper test root", {}, true, now - std::chrono::hours(48),
                     now + std::chrono::hours(24 * 365));
    pki.intermediate = Issue(&pki.root, "certkeeper test intermediate", {}, true,
                             now - std::chrono::hours(48), now + std::chrono::hours(24 * 300));
    return pki;
  }

  // A complete Material for domains, issued by the intermediate.
  Material MakeMaterialWithValidity(const std::string& name,
                                    const std::vector<std::string>& domains,
                                    TimePoint not_before, TimePoint not_after,
                                    int64_t version = 1) const {
    TestCert leaf = Issue(&intermediate, domains.empty() ? name : domains.front(), domains,
                          false, not_before, not_after);
    Material m;
    m.name = name;
    m.domains = domains;
    m.version = version;
    m.cert_pem = leaf.cert_pem;
    m.chain_pem = intermediate.cert_pem;
    m.fullchain_pem = leaf.cert_pem + intermediate.cert_pem;
    m.key_pem = leaf.key_pem;
    auto info = ParseCertificatePem(leaf.cert_pem);
    if (!info.ok()) throw std::runtime_error(info.status().ToString());
    m.fingerprint_sha256 = info->sha256_fingerprint;
    m.not_after = info->not_after;
    return m;
  }

  Material MakeMaterial(const std::string& name, const std::vector<std::string>& domains,
                        TimePoint now = std::chrono::system_clock::now(),
                        int64_t version = 1) const {
    return MakeMaterialWithValidity(name, domains, now - std::chrono::hours(1),
                                    now + std::chrono::hours(24 * 90), version);
  }
};

}  // namespace certkeeper::hooks::testing

#endif  // CERTKEEPER_TESTS_UNIT_HOOKS_TEST_PKI_H_
