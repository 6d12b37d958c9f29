// JSON Web Signature as ACME uses it (RFC 8555 §6.2): flattened JSON
// serialization (RFC 7515 §7.2.2) with ES256, ES384 or RS256; JWK (RFC 7517),
// thumbprints (RFC 7638) and key authorizations (RFC 8555 §8.1).
#ifndef CERTKEEPER_ACME_JWS_H_
#define CERTKEEPER_ACME_JWS_H_

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/status.h"

namespace certkeeper::acme {

// "ES256" for P-256, "ES384" for P-384, "RS256" for RSA (RFC 7518 §3.1).
std::string_view JwsAlgorithm(KeyType type);

// The public JWK: EC {"crv","kty","x","y"} with coordinates padded to the field
// size (RFC 7518 §6.2.1), RSA {"e","kty","n"} (RFC 7518 §6.3.1). Only the
// members the RFC 7638 thumbprint needs; never private members.
Result<nlohmann::json> PublicJwk(const PrivateKey& key);

// RFC 7638 §3: base64url(SHA-256(the required members in lexicographic order,
// no whitespace)). Fails with kInvalidArgument for unknown "kty" or a missing
// member.
Result<std::string> JwkThumbprint(const nlohmann::json& jwk);
Result<std::string> JwkThumbprint(const PrivateKey& key);

// The JWS Signature of signing_input: for EC the fixed-width r||s (64 bytes for
// ES256, 96 for ES384, RFC 7518 §3.4), for RSA PKCS#1 v1.5 with SHA-256.
Result<std::string> SignJwsInput(const PrivateKey& key, std::string_view signing_input);

struct JwsHeader {
  std::string url{};                 // "url" (RFC 8555 §6.4), always present
  std::optional<std::string> nonce{};  // "nonce"; absent only in the inner
                                     // key-change JWS (RFC 8555 §7.3.5)
  std::string kid{};                 // account URL; empty: embed "jwk" instead
};

// Signs payload (already serialized JSON, or "" for POST-as-GET, RFC 8555 §6.3)
// and returns {"protected","payload","signature"}.
Result<nlohmann::json> SignJws(const PrivateKey& key, const JwsHeader& header,
                               std::string_view payload);

// RFC 8555 §7.3.4: the externalAccountBinding JWS, {"protected","payload",
// "signature"} with protected {"alg","kid","url"}, payload the account's public
// JWK and an HMAC (alg HS256, HS384 or HS512, RFC 7518 §3.2) under mac_key.
// kInvalidArgument for another alg or an empty kid or key.
Result<nlohmann::json> SignExternalAccountBinding(const nlohmann::json& account_jwk,
                                                  std::string_view kid,
                                                  std::string_view mac_key,
                                                  std::string_view alg,
                                                  std::string_view url);

// token "." thumbprint (RFC 8555 §8.1).
std::string KeyAuthorization(std::string_view token, std::string_view thumbprint);
// base64url(SHA-256(key authorization)): the DNS-01 TXT value (RFC 8555 §8.4).
std::string Dns01TxtValue(std::string_view key_authorization);

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_JWS_H_
