// The rfc2136 provider: adds and deletes TXT records with DNS UPDATE (RFC 2136)
// sent to the zone's primary server, signed with TSIG (RFC 8945) when a key is
// configured. The server's signature on the response is verified.
#ifndef CERTKEEPER_CHALLENGES_DNS_PROVIDER_RFC2136_H_
#define CERTKEEPER_CHALLENGES_DNS_PROVIDER_RFC2136_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "challenges/dns_client.h"
#include "challenges/dns_provider.h"
#include "challenges/dns_tsig.h"

namespace certkeeper::challenges {

struct Rfc2136Options {
  dns::ServerAddress nameserver;      // the primary that accepts UPDATE
  std::string zone;                   // canonical; empty: found by SOA queries
  std::optional<dns::TsigKey> key;    // none: unsigned updates (ACL by address)
  uint32_t ttl = 60;
  std::chrono::milliseconds timeout{10000};
};

// Reads and checks the TSIG pieces of the configuration: the algorithm must be
// supported and the secret file must exist and hold base64. A secret file that
// group or others can read is accepted; a warning is appended to `warnings`.
Result<dns::TsigKey> LoadTsigKey(std::string_view key_name, std::string_view algorithm,
                                 const std::string& secret_file,
                                 std::vector<std::string>* warnings);

class Rfc2136DnsProvider : public DnsProvider {
 public:
  // client and clock must outlive the provider (clock signs TSIG times).
  Rfc2136DnsProvider(Rfc2136Options options, dns::DnsClient* client, Clock* clock)
      : options_(std::move(options)), client_(client), clock_(clock) {}

  std::string name() const override { return "rfc2136"; }
  // RFC 2136 §2.5.1: add the TXT RR to the zone.
  Status Present(std::string_view fqdn, std::string_view value) override;
  // RFC 2136 §2.5.4: delete that one RR (class NONE).
  Status CleanUp(std::string_view fqdn, std::string_view value) override;
  // The nameserver answers a SOA query for the zone (or for the root when no
  // zone is configured). Nothing is changed.
  Status Check() override;
  std::vector<std::string> TakeNotes() override;

  // The zone that holds fqdn: the configured one, or discovered (and cached).
  Result<std::string> ZoneFor(std::string_view fqdn);

 private:
  Status Update(std::string_view action, std::string_view fqdn, dns::ResourceRecord rr);

  Rfc2136Options options_;
  dns::DnsClient* client_;
  Clock* clock_;
  std::map<std::string, std::string, std::less<>> zones_;
  std::vector<std::string> notes_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_DNS_PROVIDER_RFC2136_H_
