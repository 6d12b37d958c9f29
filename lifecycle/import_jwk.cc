// JWK private keys to PEM (import_certbot.h), through OpenSSL 3's
// EVP_PKEY_fromdata so that no deprecated RSA/EC_KEY API is needed.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "lifecycle/import_certbot.h"

namespace certkeeper::lifecycle {

namespace {

struct BnFree { void operator()(BIGNUM* b) const { BN_clear_free(b); } };
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Status JwkError(const std::string& what) {
  return Status(ErrorCode::kInvalidArgument, "JWK private key: " + what)
      .Hint("the file must hold the account's private key as a JSON Web Key (RFC 7517)");
}

// RFC 7518 §6.3.1/§6.2.1: base64url, big-endian, unsigned.
Result<std::string> Member(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return JwkError(std::string("no \"") + name + "\"");
  auto bytes = Base64UrlDecode(it->get<std::string>());
  if (!bytes.ok() || bytes->empty()) return JwkError(std::string("\"") + name + "\" is not base64url");
  return *bytes;
}

Result<Bn> MemberBn(const nlohmann::json& jwk, const char* name) {
  CK_ASSIGN_OR_RETURN(std::string bytes, Member(jwk, name));
  Bn bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<int>(bytes.size()), nullptr));
  if (!bn) return JwkError(std::string("\"") + name + "\" is not a number");
  return bn;
}

Result<std::string> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld),
                                                                  OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) <= 0) {
    return JwkError("OpenSSL refused the key parameters");
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, EVP_PKEY_free);
  // The parameters must describe a consistent key pair, not just numbers.
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr), EVP_PKEY_CTX_free);
  if (!check || EVP_PKEY_pairwise_check(check.get()) <= 0) {
    return JwkError("the key parameters do not form a valid key pair");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return JwkError("cannot write PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(n));
  OPENSSL_cleanse(data, static_cast<size_t>(n));
  return pem;
}

Result<std::string> RsaToPem(const nlohmann::json& jwk) {
  const char* names[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
  const char* params[] = {OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                          OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                          OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                          OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
  std::vector<Bn> numbers;
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                       OSSL_PARAM_BLD_free);
  if (!bld) return JwkError("out of memory");
  for (size_t i = 0; i < 8; ++i) {
    CK_ASSIGN_OR_RETURN(Bn bn, MemberBn(jwk, names[i]));
    if (OSSL_PARAM_BLD_push_BN(bld.get(), params[i], bn.get()) != 1) return JwkError("build");
    numbers.push_back(std::move(bn));
  }
  if (BN_num_bits(numbers[0].get()) < 2048 || BN_num_bits(numbers[0].get()) > 8192) {
    return JwkError("RSA modulus must have 2048 to 8192 bits");
  }
  return FromData("RSA", bld.get());
}

Result<std::string> EcToPem(const nlohmann::json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string()) return JwkError("no \"crv\"");
  std::string group;
  size_t size = 0;
  if (*crv == "P-256") {
    group = "prime256v1";
    size = 32;
  } else if (*crv == "P-384") {
    group = "secp384r1";
    size = 48;
  } else {
    return JwkError("curve must be P-256 or P-384");
  }
  CK_ASSIGN_OR_RETURN(std::string x, Member(jwk, "x"));
  CK_ASSIGN_OR_RETURN(std::string y, Member(jwk, "y"));
  CK_ASSIGN_OR_RETURN(Bn d, MemberBn(jwk, "d"));
  if (x.size() != size || y.size() != size) return JwkError("x and y must fit the curve");
  const std::string point = std::string(1, '\x04') + x + y;  // SEC 1 §2.3.3
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                       OSSL_PARAM_BLD_free);
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1) {
    return JwkError("build");
  }
  return FromData("EC", bld.get());
}

}  // namespace

Result<std::string> JwkToPem(std::string_view jwk_json) {
  auto jwk = nlohmann::json::parse(jwk_json, nullptr, false);
  if (jwk.is_discarded() || !jwk.is_object()) return JwkError("not a JSON object");
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return JwkError("no \"kty\"");
  if (*kty == "RSA") return RsaToPem(jwk);
  if (*kty == "EC") return EcToPem(jwk);
  return JwkError("key type must be RSA or EC");
}

}  // namespace certkeeper::lifecycle
