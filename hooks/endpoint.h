// "host:port" endpoints named in a target's `verify` list.
#ifndef CERTKEEPER_HOOKS_ENDPOINT_H_
#define CERTKEEPER_HOOKS_ENDPOINT_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace certkeeper::hooks {

struct Endpoint {
  std::string host;  // name or address; IPv6 without the brackets
  int port = 0;
  std::string ToString() const;  // "host:port", "[::1]:443"
};

// Accepts "host:port" and "[v6-address]:port"; the port must be 1-65535.
Result<Endpoint> ParseEndpoint(std::string_view text);

// The SNI name used to ask for the certificate of `domain`: the domain itself,
// or for a wildcard "*.example.com" a concrete name it covers,
// "certkeeper-verify.example.com" (SNI carries no wildcards, RFC 6066 §3).
std::string SniNameFor(std::string_view domain);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_ENDPOINT_H_
