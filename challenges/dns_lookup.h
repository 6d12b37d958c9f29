// The lookups DNS-01 needs on top of single queries: CNAME chains, the zone cut
// of a name, the addresses of a zone's authoritative servers, TXT values.
#ifndef CERTKEEPER_CHALLENGES_DNS_LOOKUP_H_
#define CERTKEEPER_CHALLENGES_DNS_LOOKUP_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "challenges/dns_client.h"

namespace certkeeper::challenges::dns {

// Longest CNAME chain followed before giving up.
inline constexpr int kMaxCnameChain = 8;
// The most NS hosts of a zone whose addresses are looked up, and the most
// authoritative addresses checked: the NS set is whatever the zone says.
inline constexpr size_t kMaxNsHosts = 8;
inline constexpr size_t kMaxNsAddresses = 16;

class DnsLookup {
 public:
  // client must outlive this object; timeout bounds each query.
  DnsLookup(DnsClient* client, std::chrono::milliseconds timeout)
      : client_(client), timeout_(timeout) {}
  // The same, and no query runs past deadline on clock (which must outlive
  // this object): each query's timeout is cut to the time left, and once none
  // is left a query fails with kDeadlineExceeded without being sent.
  DnsLookup(DnsClient* client, std::chrono::milliseconds timeout, const Clock* clock,
            TimePoint deadline)
      : client_(client), timeout_(timeout), clock_(clock), deadline_(deadline) {}

  // Follows CNAME records from name (asking server, recursion desired when rd)
  // and returns the last name of the chain, name itself when it has no CNAME.
  // Errors: a loop, a chain longer than kMaxCnameChain, a server failure.
  Result<std::string> FollowCname(const ServerAddress& server, std::string_view name, bool rd);

  // The apex of the zone that holds name: SOA queries walking up from name,
  // taking the owner of a SOA in the answer or the authority section.
  Result<std::string> FindZone(const ServerAddress& server, std::string_view name, bool rd);

  // Addresses (port 53) of the zone's NS hosts, from glue or A/AAAA lookups at
  // resolver: of the first kMaxNsHosts hosts, at most kMaxNsAddresses
  // addresses. An error when the zone has no NS record or no address resolves.
  Result<std::vector<ServerAddress>> AuthoritativeServers(const ServerAddress& resolver,
                                                          std::string_view zone);

  // Every TXT value at name (strings of one record joined); empty for NXDOMAIN
  // or no data. Server failures (SERVFAIL, REFUSED, ...) are errors.
  Result<std::vector<std::string>> TxtValues(const ServerAddress& server, std::string_view name,
                                             bool rd);

 private:
  Result<Message> Ask(const ServerAddress& server, std::string_view name, uint16_t type, bool rd);

  DnsClient* client_;
  std::chrono::milliseconds timeout_;
  const Clock* clock_ = nullptr;  // with deadline_: see the constructor
  TimePoint deadline_;
};

}  // namespace certkeeper::challenges::dns

#endif  // CERTKEEPER_CHALLENGES_DNS_LOOKUP_H_
