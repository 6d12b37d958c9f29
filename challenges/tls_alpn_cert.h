// The challenge certificate of TLS-ALPN-01 (RFC 8737 §3).
#ifndef CERTKEEPER_CHALLENGES_TLS_ALPN_CERT_H_
#define CERTKEEPER_CHALLENGES_TLS_ALPN_CERT_H_

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/openssl_error.h"
#include "base/openssl_ptr.h"
#include "base/status.h"

namespace certkeeper::challenges {

// kTls "tls-alpn-01: <what>: <OpenSSL errors>" (base/openssl_error.h).
Status SslError(std::string what);

// The certificate and key answering for one identifier.
struct ChallengeCert {
  X509Ptr cert;
  PkeyPtr key;
  std::string der;
};

// The acmeIdentifier extension's extnValue: DER of OCTET STRING (SIZE (32))
// holding SHA-256 of the key authorization (RFC 8737 §3).
std::string AcmeIdentifierValue(std::string_view key_authorization);

// A fresh self-signed EC P-256 certificate whose only subjectAltName is the
// identifier — a dNSName for a DNS name, an iPAddress for an IP address
// (RFC 8737 §3, RFC 8738 §6) — with the critical acmeIdentifier extension for
// key_authorization.
Result<std::shared_ptr<ChallengeCert>> MakeChallengeCert(const std::string& identifier,
                                                         const std::string& key_authorization);

// Checks the acmeIdentifier extension the way a validating server does: ""
// when it is present, critical and holds digest_der, else what is wrong.
std::string CheckAcmeIdentifier(X509* cert, std::string_view key_authorization_digest_der);

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_TLS_ALPN_CERT_H_
