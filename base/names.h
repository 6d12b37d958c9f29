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

// A managed certificate's name: 1-64 characters of [A-Za-z0-9._-], not starting
// with '.' or '-'. It is used as a path component, so this is the only gate.
Status ValidateCertificateName(std::string_view name);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_NAMES_H_
