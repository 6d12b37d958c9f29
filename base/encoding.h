// Byte encodings and digests used across modules (JWS, fingerprints, DNS-01).
#ifndef CERTKEEPER_BASE_ENCODING_H_
#define CERTKEEPER_BASE_ENCODING_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace certkeeper {

// RFC 4648 §5 base64url without padding (RFC 7515 §2).
std::string Base64UrlEncode(std::string_view bytes);
// Rejects padding, whitespace and characters outside the base64url alphabet.
Result<std::string> Base64UrlDecode(std::string_view text);
bool IsBase64Url(std::string_view text);
std::string Base64Encode(std::string_view bytes);  // standard, padded
Result<std::string> Base64Decode(std::string_view text);
std::string HexEncode(std::string_view bytes);       // lower case
std::string Sha256(std::string_view data);            // 32 raw bytes

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_ENCODING_H_
