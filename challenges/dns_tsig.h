// TSIG transaction signatures (RFC 8945) with HMAC-SHA256 (also SHA-512 and
// SHA-1), used to authenticate RFC 2136 UPDATE messages and their responses.
#ifndef CERTKEEPER_CHALLENGES_DNS_TSIG_H_
#define CERTKEEPER_CHALLENGES_DNS_TSIG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace certkeeper::challenges::dns {

struct TsigKey {
  std::string name;       // canonical key name, e.g. "certkeeper."
  std::string algorithm;  // canonical algorithm name, e.g. "hmac-sha256."
  std::string secret;     // raw key bytes (decoded from base64)
};

// Accepts "hmac-sha256", "hmac-sha512", "hmac-sha1" (case-insensitive, with or
// without the trailing dot) and returns the canonical algorithm name; anything
// else is kInvalidArgument listing the accepted names.
Result<std::string> CanonicalTsigAlgorithm(std::string_view name);

// Builds a key from a name, an algorithm and the text of a secret file: either
// the bare base64 secret or a BIND/Knot style line containing `secret "..."` or
// `secret: ...`. `where` names the file for error messages.
Result<TsigKey> MakeTsigKey(std::string_view name, std::string_view algorithm,
                            std::string_view secret_text, std::string_view where);

struct SignedMessage {
  std::string wire;  // message with the TSIG record appended, ARCOUNT updated
  std::string mac;   // the MAC, needed to verify the response (RFC 8945 §5.3)
};

// Signs an encoded message (RFC 8945 §4.3.3, §5.1): the MAC covers the message
// as given, then the TSIG variables. time_signed is seconds since the epoch.
Result<SignedMessage> SignMessage(std::string_view wire, const TsigKey& key,
                                  uint64_t time_signed, uint16_t fudge = 300);

// Verifies the TSIG record that must be the last record of `wire` (RFC 8945
// §5.2/§5.3). request_mac is empty when verifying a request and the request's
// MAC when verifying the response to it. Errors say what failed: no TSIG record,
// unknown key or algorithm, an error code set by the server (BADSIG, BADKEY,
// BADTIME), a MAC mismatch, or a time outside the fudge window.
Status VerifyMessage(std::string_view wire, const TsigKey& key, std::string_view request_mac,
                     uint64_t now);

}  // namespace certkeeper::challenges::dns

#endif  // CERTKEEPER_CHALLENGES_DNS_TSIG_H_
