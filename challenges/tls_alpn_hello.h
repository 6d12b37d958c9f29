// The two ClientHello extensions the TLS-ALPN-01 listener reads before it
// chooses a certificate (RFC 8737 §3): ALPN (RFC 7301 §3.1) and server_name
// (RFC 6066 §3), and the handshake callbacks that use them. All of it handles
// bytes straight from a network peer, so it is kept apart from the listener's
// sockets to be fuzzed on its own (tests/fuzz/).
#ifndef CERTKEEPER_CHALLENGES_TLS_ALPN_HELLO_H_
#define CERTKEEPER_CHALLENGES_TLS_ALPN_HELLO_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "challenges/tls_alpn_cert.h"

namespace certkeeper::challenges {

// Finds a protocol in a wire-format ALPN protocol list (length-prefixed names,
// without the list's own 2-octet length); returns its offset, or -1 when it is
// absent or the list is malformed. Reads only list[0, len).
long FindAlpn(const unsigned char* list, size_t len, std::string_view proto);

// The host_name of a server_name extension body (with its 2-octet list
// length), lower case; empty when absent or malformed. Reads only p[0, len).
std::string SniFromExtension(const unsigned char* p, size_t len);

// The challenge certificate to answer a ClientHello for `sni` (lower case), or
// null when that name is not being validated. Runs inside the handshake; it
// MUST be safe against names being added and removed meanwhile.
using ChallengeCertLookup = std::function<std::shared_ptr<ChallengeCert>(const std::string& sni)>;

// Sets up `ctx` as the TLS-ALPN-01 listener's server context: TLS >= 1.2, no
// session cache, tickets or renegotiation; a ClientHello callback that refuses
// a client without ALPN "acme-tls/1" (no_application_protocol) or with an SNI
// `lookup` has no certificate for (unrecognized_name) and otherwise serves that
// certificate and key; an ALPN callback that selects "acme-tls/1" (RFC 8737
// §3). `lookup` MUST outlive `ctx`.
void SetUpChallengeContext(SSL_CTX* ctx, const ChallengeCertLookup* lookup);

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_TLS_ALPN_HELLO_H_
