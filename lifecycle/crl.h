// CRLs (RFC 5280 §5): verification of a certificate revocation list as its
// issuer's complete list and the lookup of one certificate in it. Pure
// OpenSSL, no I/O: lifecycle/revocation_sources.h fetches and caches CRLs.
#ifndef CERTKEEPER_LIFECYCLE_CRL_H_
#define CERTKEEPER_LIFECYCLE_CRL_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/revocation_status.h"

namespace certkeeper::lifecycle {

// Larger CRLs are refused (the fetch stops at this size). Let's Encrypt's
// sharded CRLs are well under a MiB; the largest public CRLs are tens of MiB.
inline constexpr size_t kMaxCrlBytes = 16 << 20;

// The DER of a CRL given as DER or as one PEM "X509 CRL" block; kProtocol
// when it is neither or over kMaxCrlBytes.
Result<std::string> CrlDer(std::string_view bytes);

// Verifies crl (DER or PEM) as a complete CRL of pair.issuer at `now` and
// looks pair.leaf's serial up in it:
//  - the CRL's issuer name is the leaf's issuer (no indirect CRLs);
//  - its signature verifies with the issuer's public key, and the issuer may
//    sign CRLs (keyUsage cRLSign when the extension is present, §4.2.1.3);
//  - it is not a delta CRL and its Issuing Distribution Point does not limit
//    it to CA certificates, attribute certificates or some reasons (§5.2.5):
//    such a list cannot say that a certificate is good;
//  - thisUpdate/nextUpdate sane (CheckUpdateTimes, §6.3.3 (a));
//  - "revoked" with the revocation date and reason (§5.3.1) when listed
//    (a removeFromCRL entry of a delta is not a revocation), else "good".
// kProtocol for anything that fails, with what failed in the message.
Result<RevocationStatus> CheckCrl(std::string_view crl, const CertPair& pair, TimePoint now);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_CRL_H_
