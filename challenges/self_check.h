// Pieces shared by the standalone solvers (HTTP-01, TLS-ALPN-01) and the webroot
// solver: listen address parsing, binding a listener with clear errors, checks of
// challenge tokens, and whether a name points at this host.
#ifndef CERTKEEPER_CHALLENGES_SELF_CHECK_H_
#define CERTKEEPER_CHALLENGES_SELF_CHECK_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "challenges/solver.h"

namespace certkeeper::challenges {

// Where a standalone solver listens. Only numeric addresses are accepted so that
// the address bound is exactly the address configured.
struct ListenAddress {
  std::string host;  // numeric IPv4 or IPv6 (without brackets)
  int port = 0;      // 0 picks a free port when binding (used by tests)
  bool ipv6 = false;

  // True for 0.0.0.0 and ::, i.e. every address of this host.
  bool IsWildcard() const;
  // "127.0.0.1:80", "[::1]:443".
  std::string ToString() const;
  // The same address with another port (the one actually bound for port 0).
  ListenAddress WithPort(int other_port) const {
    ListenAddress copy = *this;
    copy.port = other_port;
    return copy;
  }
  // Where a client on this host reaches the listener: the host itself, or the
  // loopback address of the same family for a wildcard address.
  std::string ConnectHost() const;
};

// Parses "host:port", "[ipv6]:port" or ":port" (":port" means 0.0.0.0, every
// IPv4 address; write "[::]:port" for every IPv4 and IPv6 address). Errors name
// the text and the accepted forms.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// Creates a TCP socket bound to address and listening (SO_REUSEADDR, so that
// connections of an earlier listener in TIME_WAIT do not block the port; never
// SO_REUSEPORT, so that a port held by another program is reported as taken).
// Returns the file descriptor (close-on-exec), owned by the caller. The error
// reads "<solver_type>: cannot listen on <address>: address in use" with a hint.
Result<int> BindListener(const ListenAddress& address, std::string_view solver_type);

// Binds and releases at once: can a listener be started right now?
Status CheckCanBind(const ListenAddress& address, std::string_view solver_type);

// The error for a failed bind or listen with errno err; shared so that servers
// binding by other means report the same way.
Status ListenError(const ListenAddress& address, std::string_view solver_type, int err);

// The port a bound socket listens on.
Result<int> BoundPort(int fd);

// A challenge token is base64url (RFC 8555 §8.1, RFC 4648 §5) and 1-256
// characters; nothing else may become a URL path or a file name.
Status ValidateToken(std::string_view token);

// The key authorization is token "." base64url(thumbprint) (RFC 8555 §8.1).
Status ValidateKeyAuthorization(std::string_view token, std::string_view key_authorization);

// Checks what every HTTP-01 / TLS-ALPN-01 task needs: a valid DNS name that is
// not a wildcard (CAs validate wildcard names with dns-01 only) or an IP address
// in its canonical form (RFC 8738; base/names.h CanonicalIpAddress), a valid
// token and key authorization.
Status ValidateTask(const ChallengeTask& task, std::string_view solver_type);

// True when the identifier is an IP address (RFC 8738 §3) rather than a name.
bool IsIpIdentifier(std::string_view identifier);

// The identifier as the host of a URL or an HTTP Host header: IPv6 addresses
// in brackets (RFC 3986 §3.2.2, RFC 8738 §5), anything else unchanged.
std::string UrlHost(std::string_view identifier);

// The numeric addresses name resolves to (getaddrinfo), empty when it does not
// resolve.
std::vector<std::string> ResolveAddresses(const std::string& name);

// True when the numeric address is a loopback address or an address of one of
// this host's interfaces (getifaddrs).
bool IsLocalAddress(const std::string& numeric_address);

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_SELF_CHECK_H_
