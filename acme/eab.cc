// External account binding (RFC 8555 §7.3.4): the MAC key as a CA hands it
// out, and the HMAC-signed JWS that binds a new ACME account to it.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>

#include "acme/client.h"
#include "acme/jws.h"
#include "base/encoding.h"

namespace certkeeper::acme {

namespace {

const EVP_MD* HmacDigest(std::string_view alg) {
  if (alg == "HS256") return EVP_sha256();
  if (alg == "HS384") return EVP_sha384();
  if (alg == "HS512") return EVP_sha512();
  return nullptr;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

Result<std::string> DecodeEabMacKey(std::string_view file_text) {
  while (!file_text.empty() && IsSpace(file_text.front())) file_text.remove_prefix(1);
  while (!file_text.empty() && IsSpace(file_text.back())) file_text.remove_suffix(1);
  // base64url padding is optional (RFC 7515 §2 drops it; some CAs show it).
  size_t padding = 0;
  while (!file_text.empty() && file_text.back() == '=' && padding < 2) {
    file_text.remove_suffix(1);
    ++padding;
  }
  auto refuse = [](std::string why) {
    return Status(ErrorCode::kInvalidArgument, "the EAB MAC key " + std::move(why))
        .Hint("put the MAC key exactly as the CA gives it (base64url, e.g. "
              "\"zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W\") alone "
              "in the eab_hmac_file");
  };
  if (file_text.empty()) return refuse("file is empty");
  for (char c : file_text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return refuse(c == '+' || c == '/'
                        ? "is standard base64 ('+' or '/'), not base64url ('-' and '_')"
                    : c == '='
                        ? "has '=' padding other than one or two at the end"
                        : "contains a character outside the base64url alphabet");
    }
  }
  if (padding > 0 && file_text.size() % 4 != 4 - padding) {
    return refuse("has padding that does not fit its length");
  }
  if (file_text.size() % 4 == 1) return refuse("has a length no base64url text has");
  auto key = Base64UrlDecode(file_text);
  if (!key.ok() || key->empty()) return refuse("is not base64url");
  return key;
}

Result<nlohmann::json> SignExternalAccountBinding(const nlohmann::json& account_jwk,
                                                  std::string_view kid,
                                                  std::string_view mac_key,
                                                  std::string_view alg,
                                                  std::string_view url) {
  const EVP_MD* digest = HmacDigest(alg);
  if (digest == nullptr) {
    return Status(ErrorCode::kInvalidArgument,
                  "unknown external account binding algorithm \"" +
                      std::string(alg.substr(0, 16)) + "\"")
        .Hint("set eab_alg to HS256, HS384 or HS512 (HS256 unless the CA says otherwise)");
  }
  if (kid.empty() || mac_key.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "external account binding needs both a key identifier and a MAC key")
        .Hint("set eab_kid and eab_hmac_file in the CA's [[ca]] block (the CA gives both)");
  }
  // §7.3.4: protected {"alg","kid","url"} (no nonce), payload the account's
  // public JWK, signature the MAC over the signing input.
  nlohmann::json header = {{"alg", alg}, {"kid", kid}, {"url", url}};
  std::string protected64 = Base64UrlEncode(header.dump());
  std::string payload64 = Base64UrlEncode(account_jwk.dump());
  std::string input = protected64 + "." + payload64;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(digest, mac_key.data(), static_cast<int>(mac_key.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
           &mac_len) == nullptr) {
    return Status(ErrorCode::kInternal, "external account binding: HMAC failed");
  }
  return nlohmann::json{
      {"protected", protected64},
      {"payload", payload64},
      {"signature",
       Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), mac_len))}};
}

}  // namespace certkeeper::acme
