// The two ClientHello extensions the TLS-ALPN-01 listener reads before it
// chooses a certificate (RFC 8737 §3): ALPN (RFC 7301 §3.1) and server_name
// (RFC 6066 §3). Both parse bytes straight from a network peer, so they are
// kept apart from the listener to be fuzzed on their own (tests/fuzz/).
#ifndef CERTKEEPER_CHALLENGES_TLS_ALPN_HELLO_H_
#define CERTKEEPER_CHALLENGES_TLS_ALPN_HELLO_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace certkeeper::challenges {

// Finds a protocol in a wire-format ALPN protocol list (length-prefixed names,
// without the list's own 2-octet length); returns its offset, or -1 when it is
// absent or the list is malformed. Reads only list[0, len).
long FindAlpn(const unsigned char* list, size_t len, std::string_view proto);

// The host_name of a server_name extension body (with its 2-octet list
// length), lower case; empty when absent or malformed. Reads only p[0, len).
std::string SniFromExtension(const unsigned char* p, size_t len);

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_TLS_ALPN_HELLO_H_
