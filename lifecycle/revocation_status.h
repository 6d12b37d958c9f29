// What OCSP (lifecycle/ocsp.h) and CRL (lifecycle/crl.h) checks share: the
// answer a verified response or list gives for one certificate, the parsed
// certificate pair it is about, and the URLs a certificate names for them.
// Pure OpenSSL, no I/O.
#ifndef CERTKEEPER_LIFECYCLE_REVOCATION_STATUS_H_
#define CERTKEEPER_LIFECYCLE_REVOCATION_STATUS_H_

#include <openssl/asn1.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/openssl_ptr.h"
#include "base/status.h"

namespace certkeeper::lifecycle {

// Clock skew tolerated between this host and a responder or CRL signer when
// thisUpdate/nextUpdate are compared with now (OCSP_check_validity's nsec).
inline constexpr Duration kRevocationSkew = std::chrono::minutes(5);

// The revocation state of one certificate as a verified answer states it.
struct RevocationStatus {
  std::string status;  // "good", "revoked", "unknown" (OCSP only)
  std::optional<TimePoint> this_update;
  std::optional<TimePoint> next_update;  // nullopt: the answer names none
  std::optional<TimePoint> revoked_at;
  std::string reason;  // RFC 5280 §5.3.1 reason name when revoked
};

// A leaf and the certificate that issued it, parsed once.
struct CertPair {
  X509Ptr leaf;
  X509Ptr issuer;  // nullptr when the chain holds none
};

// Parses the leaf (PEM) and finds its issuer among chain_pem's certificates:
// the first one whose subject is the leaf's issuer and whose key verifies the
// leaf's signature. kInvalidArgument when the leaf does not parse; a chain
// without its issuer leaves pair.issuer null (see NeedIssuer).
Result<CertPair> LoadCertPair(std::string_view leaf_pem, std::string_view chain_pem);
// kFailedPrecondition with a hint unless pair.issuer is set: every answer is
// verified with the issuer's key.
Status NeedIssuer(const CertPair& pair);

// The OCSP responder URLs of the leaf's Authority Information Access
// (RFC 5280 §4.2.2.1, id-ad-ocsp), in order; only http:// and https:// ones.
std::vector<std::string> OcspUrls(X509* leaf);
// The URIs of the leaf's CRL Distribution Points (RFC 5280 §4.2.1.13) that
// are full names; only http:// and https:// ones (no LDAP).
std::vector<std::string> CrlUrls(X509* leaf);

// ASN1_TIME -> TimePoint; kProtocol naming `field` when it is not a valid
// time or is outside the representable years.
Result<TimePoint> AsnTimeToTime(const ASN1_TIME* t, std::string_view field);

// The RFC 5280 §5.3.1 name of a CRLReason code ("keyCompromise", ...);
// "unspecified" for 0 and "reason N" for a code without a name.
std::string CrlReasonName(int code);

// The thisUpdate/nextUpdate checks of RFC 6960 §4.2.2.1 and RFC 5280
// §6.3.3 (a) against `now` (an injected clock, unlike OCSP_check_validity):
// thisUpdate not after now + skew, nextUpdate (when given) not before
// now - skew and not before thisUpdate. `what` names the answer in errors.
Status CheckUpdateTimes(TimePoint this_update, const std::optional<TimePoint>& next_update,
                        TimePoint now, std::string_view what);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_REVOCATION_STATUS_H_
