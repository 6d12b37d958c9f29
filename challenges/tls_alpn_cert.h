// The challenge certificate of TLS-ALPN-01 (RFC 8737 §3) and the OpenSSL
// ownership helpers the listener and its self-check share.
#ifndef CERTKEEPER_CHALLENGES_TLS_ALPN_CERT_H_
#define CERTKEEPER_CHALLENGES_TLS_ALPN_CERT_H_

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/openssl_error.h"
#include "base/status.h"

namespace certkeeper::challenges {

struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

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

// A fresh self-signed EC P-256 certificate whose only subjectAltName is name,
// with the critical acmeIdentifier extension for key_authorization.
Result<std::shared_ptr<ChallengeCert>> MakeChallengeCert(const std::string& name,
                                                         const std::string& key_authorization);

// Checks the acmeIdentifier extension the way a validating server does: ""
// when it is present, critical and holds digest_der, else what is wrong.
std::string CheckAcmeIdentifier(X509* cert, std::string_view key_authorization_digest_der);

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_TLS_ALPN_CERT_H_
