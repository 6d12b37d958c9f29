#include "acme/jws.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <memory>
#include <vector>

#include "base/encoding.h"

namespace certkeeper::acme {

namespace {

using nlohmann::json;

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

struct SigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

size_t EcCoordinateSize(KeyType type) { return type == KeyType::kEc384 ? 48 : 32; }

Result<std::string> BnParam(EVP_PKEY* pkey, const char* name, size_t pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1 || raw == nullptr) {
    return Status(ErrorCode::kInternal,
                  std::string("cannot read key parameter ") + name);
  }
  BnPtr bn(raw);
  size_t size = pad_to != 0 ? pad_to : static_cast<size_t>(BN_num_bytes(bn.get()));
  std::string out(size, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()),
                   static_cast<int>(size)) < 0) {
    return Status(ErrorCode::kInternal, std::string("key parameter too large: ") + name);
  }
  return out;
}

Result<std::string> RequiredString(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string() || it->get<std::string>().empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string("JWK lacks the string member \"") + name + "\"");
  }
  return it->get<std::string>();
}

}  // namespace

std::string_view JwsAlgorithm(KeyType type) {
  switch (type) {
    case KeyType::kEc256: return "ES256";
    case KeyType::kEc384: return "ES384";
    case KeyType::kRsa2048:
    case KeyType::kRsa3072:
    case KeyType::kRsa4096: return "RS256";
  }
  return "RS256";
}

Result<json> PublicJwk(const PrivateKey& key) {
  if (key.get() == nullptr) return Status(ErrorCode::kInvalidArgument, "no key");
  json jwk = json::object();
  if (key.is_ec()) {
    size_t size = EcCoordinateSize(key.type());
    CK_ASSIGN_OR_RETURN(std::string x, BnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, size));
    CK_ASSIGN_OR_RETURN(std::string y, BnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, size));
    jwk["kty"] = "EC";
    jwk["crv"] = key.type() == KeyType::kEc384 ? "P-384" : "P-256";
    jwk["x"] = Base64UrlEncode(x);
    jwk["y"] = Base64UrlEncode(y);
  } else {
    CK_ASSIGN_OR_RETURN(std::string n, BnParam(key.get(), OSSL_PKEY_PARAM_RSA_N, 0));
    CK_ASSIGN_OR_RETURN(std::string e, BnParam(key.get(), OSSL_PKEY_PARAM_RSA_E, 0));
    jwk["kty"] = "RSA";
    jwk["n"] = Base64UrlEncode(n);
    jwk["e"] = Base64UrlEncode(e);
  }
  return jwk;
}

Result<std::string> JwkThumbprint(const json& jwk) {
  if (!jwk.is_object()) return Status(ErrorCode::kInvalidArgument, "JWK is not an object");
  CK_ASSIGN_OR_RETURN(std::string kty, RequiredString(jwk, "kty"));
  // nlohmann::json objects keep keys sorted and dump() emits no whitespace,
  // which is exactly the RFC 7638 §3.3 canonical form for these members.
  json canonical = json::object();
  canonical["kty"] = kty;
  if (kty == "EC") {
    for (const char* name : {"crv", "x", "y"}) {
      CK_ASSIGN_OR_RETURN(canonical[name], RequiredString(jwk, name));
    }
  } else if (kty == "RSA") {
    for (const char* name : {"e", "n"}) {
      CK_ASSIGN_OR_RETURN(canonical[name], RequiredString(jwk, name));
    }
  } else {
    return Status(ErrorCode::kInvalidArgument, "unsupported JWK kty \"" + kty + "\"");
  }
  return Base64UrlEncode(Sha256(canonical.dump()));
}

Result<std::string> JwkThumbprint(const PrivateKey& key) {
  CK_ASSIGN_OR_RETURN(json jwk, PublicJwk(key));
  return JwkThumbprint(jwk);
}

Result<std::string> SignJwsInput(const PrivateKey& key, std::string_view signing_input) {
  if (key.get() == nullptr) return Status(ErrorCode::kInvalidArgument, "no key");
  const EVP_MD* md = key.type() == KeyType::kEc384 ? EVP_sha384() : EVP_sha256();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return Status(ErrorCode::kInternal, "cannot sign the JWS");
  }
  std::string sig(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return Status(ErrorCode::kInternal, "cannot sign the JWS");
  }
  sig.resize(size);
  if (!key.is_ec()) return sig;

  // OpenSSL yields a DER ECDSA-Sig-Value; JWS wants fixed-width r||s.
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  std::unique_ptr<ECDSA_SIG, SigFree> ecdsa(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!ecdsa) return Status(ErrorCode::kInternal, "cannot decode the ECDSA signature");
  size_t width = EcCoordinateSize(key.type());
  std::string raw(2 * width, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), out, static_cast<int>(width)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), out + width,
                   static_cast<int>(width)) < 0) {
    return Status(ErrorCode::kInternal, "ECDSA signature value too large");
  }
  return raw;
}

Result<json> SignJws(const PrivateKey& key, const JwsHeader& header,
                     std::string_view payload) {
  json protected_header = json::object();
  protected_header["alg"] = JwsAlgorithm(key.type());
  protected_header["url"] = header.url;
  if (header.nonce) protected_header["nonce"] = *header.nonce;
  // RFC 8555 §6.2: exactly one of "jwk" and "kid".
  if (header.kid.empty()) {
    CK_ASSIGN_OR_RETURN(protected_header["jwk"], PublicJwk(key));
  } else {
    protected_header["kid"] = header.kid;
  }
  std::string protected_b64 = Base64UrlEncode(protected_header.dump());
  std::string payload_b64 = Base64UrlEncode(payload);
  CK_ASSIGN_OR_RETURN(std::string signature,
                      SignJwsInput(key, protected_b64 + "." + payload_b64));
  json jws = json::object();
  jws["protected"] = protected_b64;
  jws["payload"] = payload_b64;
  jws["signature"] = Base64UrlEncode(signature);
  return jws;
}

std::string KeyAuthorization(std::string_view token, std::string_view thumbprint) {
  std::string out(token);
  out += '.';
  out += thumbprint;
  return out;
}

std::string Dns01TxtValue(std::string_view key_authorization) {
  return Base64UrlEncode(Sha256(key_authorization));
}

}  // namespace certkeeper::acme
