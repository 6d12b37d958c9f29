// OCSP (RFC 6960): the request for one certificate and the verification of
// the responder's answer. Pure OpenSSL, no I/O: lifecycle/revocation_sources.h
// sends the request.
//
// Nonce policy (RFC 6960 §4.4.1, RFC 8954): every request carries a fresh
// random nonce. A response that echoes a nonce MUST echo ours (else it is
// refused as a replay). A response without one is accepted, because most
// large responders serve pre-signed answers and ignore nonces (RFC 5019
// §2.2); replay is then bounded by the validity window instead: nextUpdate
// must not have passed, and an answer without a nextUpdate must have a
// thisUpdate within `max_age_without_nonce`.
#ifndef CERTKEEPER_LIFECYCLE_OCSP_H_
#define CERTKEEPER_LIFECYCLE_OCSP_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/revocation_status.h"

namespace certkeeper::lifecycle {

// Responses larger than this are refused unread (one SingleResponse with a
// few responder certificates is a few KiB).
inline constexpr size_t kMaxOcspResponseBytes = 64 * 1024;

// A DER OCSPRequest for the leaf's CertID (SHA-1 hashes of the issuer's name
// and key, RFC 6960 §4.1.1, which every responder indexes) with a random
// 16-byte nonce extension.
Result<std::string> BuildOcspRequest(const CertPair& pair);

// Verifies response_der as the answer to request_der (the DER BuildOcspRequest
// made) for pair.leaf at `now`:
//  - responseStatus successful (RFC 6960 §4.2.1), a basic response;
//  - signed by the issuer itself or by a delegated responder certificate that
//    the issuer signed and that carries id-kp-OCSPSigning (§4.2.2.2), its
//    chain verified to the issuer at `now` (OCSP_basic_verify);
//  - the nonce policy above;
//  - a SingleResponse for the leaf's CertID;
//  - thisUpdate/nextUpdate sane (CheckUpdateTimes).
// kProtocol for anything that fails, with what failed in the message.
Result<RevocationStatus> VerifyOcspResponse(std::string_view response_der,
                                            std::string_view request_der, const CertPair& pair,
                                            TimePoint now, Duration max_age_without_nonce);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_OCSP_H_
