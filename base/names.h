// Validation of the strings users and CAs hand us: DNS names and the names of
// managed certificates (which become directory names under the state directory).
#ifndef CERTKEEPER_BASE_NAMES_H_
#define CERTKEEPER_BASE_NAMES_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace certkeeper {

// Returns the canonical form (lower case, no trailing dot) of a DNS name fit for an
// ACME "dns" identifier, or kInvalidArgument saying why not. Labels are LDH
// (RFC 1123), 1-63 octets, the name at most 253; at least two labels; no IP
// addresses; Unicode must be given in its punycode form (xn--). With
// allow_wildcard, a single leading "*." label is accepted (RFC 8555 §7.1.3).
Result<std::string> CanonicalDnsName(std::string_view name, bool allow_wildcard = true);
bool IsWildcard(std::string_view name);

// IP address identifiers (RFC 8738). The canonical form of an IPv4 address is
// its dotted quad without leading zeros; of an IPv6 address, RFC 5952's (lower
// case, no leading zeros, the first longest run of 2+ zero groups as "::",
// never a dotted IPv4 tail: "::102:304", as CAs print it). Refused with
// kInvalidArgument: other IPv4 spellings inet_aton would take ("127.1",
// "0x7f.0.0.1", "010.0.0.1", "1.2.3.4."), zone ids ("fe80::1%eth0"), brackets,
// IPv4-mapped IPv6 addresses ("::ffff:192.0.2.1": give the IPv4 address), and
// anything else that is not an address.
Result<std::string> CanonicalIpAddress(std::string_view text);
// The text is an IP address attempt rather than a DNS name: only digits and
// dots (a DNS name's last label is never all digits), or it contains ':'.
bool LooksLikeIpAddress(std::string_view text);
// A valid canonical or non-canonical IPv4/IPv6 address.
bool IsIpAddress(std::string_view text);
// CanonicalIpAddress for what LooksLikeIpAddress, else CanonicalDnsName.
Result<std::string> CanonicalIdentifier(std::string_view text, bool allow_wildcard = true);
// The reverse-mapping name of an IP address (RFC 1035 §3.5 in-addr.arpa,
// RFC 3596 §2.5 ip6.arpa), without a trailing dot: what TLS-ALPN-01 sends as
// SNI for an IP identifier (RFC 8738 §6). Empty unless CanonicalIpAddress
// accepts `ip`.
std::string ReverseDnsName(std::string_view ip);

// A managed certificate's name: 1-64 characters of [A-Za-z0-9._-], not starting
// with '.' or '-'. It is used as a path component, so this is the only gate.
Status ValidateCertificateName(std::string_view name);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_NAMES_H_
