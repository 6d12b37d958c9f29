// The pins of a key or certificate computed with OpenSSL directly, to check
// lifecycle/next_key.h against: SHA-256 of the DER SubjectPublicKeyInfo, in
// base64 (RFC 7469 pin-sha256) and hex (TLSA 3 1 1, RFC 6698).
#ifndef CERTKEEPER_TESTS_UNIT_LIFECYCLE_NEXT_KEY_PINS_H_
#define CERTKEEPER_TESTS_UNIT_LIFECYCLE_NEXT_KEY_PINS_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "lifecycle/next_key.h"

namespace certkeeper::lifecycle::testing {

inline KeyPins IndependentPinsOfPublicKey(EVP_PKEY* pkey) {
  if (pkey == nullptr) throw std::runtime_error("no public key");
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) throw std::runtime_error("i2d_PUBKEY");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  unsigned char b64[64];
  int b64_len = EVP_EncodeBlock(b64, digest, sizeof(digest));
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : digest) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return KeyPins{std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(b64_len)), hex};
}

inline KeyPins IndependentPinsOfKey(const std::string& key_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  return IndependentPinsOfPublicKey(key.get());
}

inline KeyPins IndependentPinsOfCertificate(const std::string& cert_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) throw std::runtime_error("PEM_read_bio_X509");
  return IndependentPinsOfPublicKey(X509_get0_pubkey(cert.get()));
}

}  // namespace certkeeper::lifecycle::testing

#endif  // CERTKEEPER_TESTS_UNIT_LIFECYCLE_NEXT_KEY_PINS_H_
