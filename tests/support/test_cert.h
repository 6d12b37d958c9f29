// Throwaway certificates for unit tests of TLS code in base/: a P-256 key and
// a certificate for it, self-signed or signed by another one. Nothing is
// written to disk.
#ifndef CERTKEEPER_TESTS_SUPPORT_TEST_CERT_H_
#define CERTKEEPER_TESTS_SUPPORT_TEST_CERT_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace certkeeper::testing {

// A P-256 key and a certificate for it.
struct MadeCert {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
  std::string Der() const {
    unsigned char* der = nullptr;
    int len = i2d_X509(cert.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    return out;
  }
  std::string CertPem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_X509(bio.get(), cert.get());
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(len));
  }
  std::string KeyPem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(len));
  }
};

// issuer == nullptr: self-signed. The client under test judges no chain, so
// names and extensions beyond the subject do not matter here.
inline MadeCert MakeCert(const std::string& subject, const MadeCert* issuer, long serial) {
  MadeCert out;
  out.key.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
  out.cert.reset(X509_new(), X509_free);
  X509* x = out.cert.get();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(subject.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer->cert.get() : x));
  X509_set_pubkey(x, out.key.get());
  if (!out.key || X509_sign(x, (issuer ? issuer : &out)->key.get(), EVP_sha256()) <= 0) {
    throw std::runtime_error("cannot make a test certificate");
  }
  return out;
}

}  // namespace certkeeper::testing

#endif  // CERTKEEPER_TESTS_SUPPORT_TEST_CERT_H_
