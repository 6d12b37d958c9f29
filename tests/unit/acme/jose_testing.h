// Test-side JOSE: builds public keys from JWKs and verifies flattened JWS
// objects with OpenSSL, independently of acme/jws.cc (the code under test only
// signs). Also mints small certificates for download and renewalInfo tests.
#ifndef CERTKEEPER_TESTS_UNIT_ACME_JOSE_TESTING_H_
#define CERTKEEPER_TESTS_UNIT_ACME_JOSE_TESTING_H_

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/encoding.h"

namespace certkeeper::acme::testing {

using nlohmann::json;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline std::string B64(const json& doc, const char* name) {
  if (!doc.is_object() || !doc.contains(name) || !doc[name].is_string()) return {};
  auto decoded = Base64UrlDecode(doc[name].get<std::string>());
  return decoded.ok() ? *decoded : std::string();
}

// A public EVP_PKEY from an EC (P-256/P-384) or RSA JWK; null when malformed.
inline PkeyPtr PublicKeyFromJwk(const json& jwk) {
  if (!jwk.is_object() || !jwk.contains("kty")) return nullptr;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::string kty = jwk.value("kty", "");
  const char* type = nullptr;
  std::string point;
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (kty == "EC") {
    std::string crv = jwk.value("crv", "");
    std::string x = B64(jwk, "x");
    std::string y = B64(jwk, "y");
    size_t width = crv == "P-384" ? 48 : 32;
    if (x.size() != width || y.size() != width) {
      OSSL_PARAM_BLD_free(bld);
      return nullptr;
    }
    point = std::string(1, '\x04') + x + y;
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                    crv == "P-384" ? "P-384" : "P-256", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                     point.size());
    type = "EC";
  } else if (kty == "RSA") {
    std::string nb = B64(jwk, "n");
    std::string eb = B64(jwk, "e");
    n = BN_bin2bn(reinterpret_cast<const unsigned char*>(nb.data()),
                  static_cast<int>(nb.size()), nullptr);
    e = BN_bin2bn(reinterpret_cast<const unsigned char*>(eb.data()),
                  static_cast<int>(eb.size()), nullptr);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    type = "RSA";
  } else {
    OSSL_PARAM_BLD_free(bld);
    return nullptr;
  }
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);
  return PkeyPtr(pkey);
}

// Verifies a JWS signature as RFC 7518 §3.3/§3.4 define it: for ES256/ES384
// the r||s value is converted back to DER before EVP_DigestVerify.
inline bool VerifySignature(EVP_PKEY* pkey, const std::string& alg,
                            const std::string& signing_input,
                            const std::string& signature) {
  const EVP_MD* md = nullptr;
  std::string der = signature;
  if (alg == "ES256" || alg == "ES384") {
    size_t width = alg == "ES256" ? 32 : 48;
    if (signature.size() != 2 * width) return false;
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, static_cast<int>(width), nullptr),
                   BN_bin2bn(raw + width, static_cast<int>(width), nullptr));
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(sig, &out);
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    ECDSA_SIG_free(sig);
    md = alg == "ES256" ? EVP_sha256() : EVP_sha384();
  } else if (alg == "RS256") {
    md = EVP_sha256();
  } else {
    return false;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()),
                             der.size(),
                             reinterpret_cast<const unsigned char*>(signing_input.data()),
                             signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// HS256/HS384/HS512 (RFC 7518 §3.2) over signing_input; false for other algs.
inline bool VerifyHmac(const std::string& alg, const std::string& key,
                       const std::string& signing_input, const std::string& mac) {
  const EVP_MD* md = alg == "HS256"   ? EVP_sha256()
                     : alg == "HS384" ? EVP_sha384()
                     : alg == "HS512" ? EVP_sha512()
                                      : nullptr;
  if (md == nullptr) return false;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
           out, &len) == nullptr) {
    return false;
  }
  return mac == std::string(reinterpret_cast<const char*>(out), len);
}

struct DecodedJws {
  json header;
  std::string payload;  // decoded bytes
  std::string signing_input;
  std::string signature;
};

inline std::optional<DecodedJws> DecodeJws(const json& jws) {
  if (!jws.is_object() || jws.size() != 3) return std::nullopt;
  for (const char* m : {"protected", "payload", "signature"}) {
    if (!jws.contains(m) || !jws[m].is_string()) return std::nullopt;
  }
  DecodedJws d;
  auto header = Base64UrlDecode(jws["protected"].get<std::string>());
  auto payload = Base64UrlDecode(jws["payload"].get<std::string>());
  auto sig = Base64UrlDecode(jws["signature"].get<std::string>());
  if (!header.ok() || !payload.ok() || !sig.ok()) return std::nullopt;
  d.header = json::parse(*header, nullptr, false);
  if (d.header.is_discarded()) return std::nullopt;
  d.payload = *payload;
  d.signature = *sig;
  d.signing_input =
      jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  return d;
}

// A self-signed certificate for `names` with SKI and AKI (keyid) and the given
// serial bytes; PEM.
inline std::string MakeCertificate(const PrivateKey& key,
                                   const std::vector<std::string>& names,
                                   const std::string& serial_bytes) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(serial_bytes.data()),
                         static_cast<int>(serial_bytes.size()), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 90L * 24 * 3600);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(names[0].c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  std::string san;
  for (const auto& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  for (auto [nid, value] : {std::pair<int, std::string>{NID_subject_key_identifier, "hash"},
                            {NID_authority_key_identifier, "keyid:always"},
                            {NID_subject_alt_name, san}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key.get(), EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_free(x);
  return pem;
}

}  // namespace certkeeper::acme::testing

#endif  // CERTKEEPER_TESTS_UNIT_ACME_JOSE_TESTING_H_
