// Sending DNS messages: the network seam of DNS-01. Everything the solver and the
// RFC 2136 provider send goes through DnsClient::Exchange, so unit tests inject a
// scripted server and the real transport (NetDnsClient) is one small class.
#ifndef CERTKEEPER_CHALLENGES_DNS_CLIENT_H_
#define CERTKEEPER_CHALLENGES_DNS_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges::dns {

struct ServerAddress {
  std::string ip;  // IPv4 or IPv6 literal
  uint16_t port = 53;
  // "192.0.2.1:53", "[2001:db8::1]:53"
  std::string ToString() const;
  bool operator==(const ServerAddress&) const = default;
};

// Parses "ip", "ip:port", "[ipv6]" or "[ipv6]:port"; host names are refused
// (the solver must not depend on the resolver it is checking).
Result<ServerAddress> ParseServerAddress(std::string_view text);

// The first usable "nameserver" of a resolv.conf file (default /etc/resolv.conf).
Result<ServerAddress> SystemResolver(const std::string& path = "/etc/resolv.conf");

// Contract: Exchange sends one encoded message to server and returns the encoded
// response. Implementations MUST only return a response whose ID and question
// section equal the query's (others are ignored as spoofed or stale), MUST
// bound the wait by timeout, and MUST retry over TCP when a UDP response has the
// TC bit set (RFC 1035 §4.2.1, RFC 7766). Safe to call from several threads.
class DnsClient {
 public:
  virtual ~DnsClient() = default;
  virtual Result<std::string> Exchange(const ServerAddress& server, std::string_view query,
                                       std::chrono::milliseconds timeout) = 0;
};

// The UDP/TCP implementation over plain sockets.
class NetDnsClient : public DnsClient {
 public:
  Result<std::string> Exchange(const ServerAddress& server, std::string_view query,
                               std::chrono::milliseconds timeout) override;
};

// A fresh random message ID (from the OpenSSL CSPRNG, RFC 5452 §9.2).
uint16_t RandomMessageId();

// True when response answers query: same ID, QR set, same question section.
bool ResponseMatches(const Message& query, const Message& response);

// Builds a query for (name, type), sends it and decodes the answer. An rcode
// other than NOERROR/NXDOMAIN is returned as a message, not an error: callers
// decide. rd asks the server to recurse.
Result<Message> Query(DnsClient& client, const ServerAddress& server, std::string_view name,
                      uint16_t type, bool rd, std::chrono::milliseconds timeout);

}  // namespace certkeeper::challenges::dns

#endif  // CERTKEEPER_CHALLENGES_DNS_CLIENT_H_
