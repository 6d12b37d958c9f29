// The powerdns provider: writes TXT records through the HTTP API of the
// PowerDNS Authoritative Server (/api/v1, "api=yes" and "webserver=yes" in
// pdns.conf), authenticated with its API key (the X-API-Key header).
//
// The API replaces whole RRsets, so one value is added or removed by reading
// the TXT RRset at the name and writing it back with that value added or
// taken out (PATCH .../zones/ZONE with changetype REPLACE, or DELETE when no
// value remains). Values that others put at the name are kept as they were.
// Two writers changing the same name at the same moment can lose a value:
// one certkeeper run at a time (the run lock) never races with itself.
#ifndef CERTKEEPER_CHALLENGES_DNS_PROVIDER_POWERDNS_H_
#define CERTKEEPER_CHALLENGES_DNS_PROVIDER_POWERDNS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "challenges/dns_provider.h"
#include "challenges/rest_client.h"

namespace certkeeper::challenges {

struct PowerDnsOptions {
  std::string api_url;                // normalized base, e.g. "http://127.0.0.1:8081"
  std::string server_id = "localhost";
  std::string api_key;                // from api_key_file; never logged or shown
  std::string zone;                   // canonical; empty: found through the API
  uint32_t ttl = 60;
  std::chrono::milliseconds timeout{10000};
};

// Checks and normalizes the base URL of the API: http or https, a host, an
// optional port and path prefix (a reverse proxy's), no user, query or
// fragment; a trailing "/" or "/api/v1" is dropped. Plain http is accepted
// only for a loopback host (127.0.0.0/8, [::1], localhost): anywhere else the
// API key would cross the network in clear text.
Result<std::string> NormalizePowerDnsUrl(std::string_view url);

// Reads the API key: the file's content without surrounding whitespace, one
// line of printable ASCII. A file that group or others can read is accepted;
// a warning is appended to `warnings`. Errors never contain the key.
Result<std::string> LoadPowerDnsApiKey(const std::string& file,
                                       std::vector<std::string>* warnings);

// RFC 1035 §5.1 presentation of a TXT value as PowerDNS stores record content:
// quoted character-strings of at most 255 octets, '"' and '\' escaped with a
// backslash, other bytes outside printable ASCII as \DDD.
std::string TxtPresentation(std::string_view value);
// The value of a TXT record content in presentation format: its quoted (or
// bare) character-strings unescaped and joined. Malformed content is an error.
Result<std::string> ParseTxtPresentation(std::string_view content);

class PowerDnsProvider : public DnsProvider {
 public:
  // options.api_url must come from NormalizePowerDnsUrl.
  PowerDnsProvider(PowerDnsOptions options, std::unique_ptr<RestClient> http)
      : options_(std::move(options)), http_(std::move(http)) {}

  std::string name() const override { return "powerdns"; }
  Status Present(std::string_view fqdn, std::string_view value) override;
  Status CleanUp(std::string_view fqdn, std::string_view value) override;
  // GET /api/v1/servers/SERVER_ID (the API answers and accepts the key), and
  // when a zone is configured, that the server has it. Nothing is changed.
  Status Check() override;
  std::vector<std::string> TakeNotes() override;

  // The zone that holds fqdn: the configured one, or the longest zone the
  // server has that is fqdn or one of its parents (asked with ?zone=, walking
  // up), cached per name.
  Result<std::string> ZoneFor(std::string_view fqdn);

 private:
  struct Zone {
    std::string name;  // canonical
    std::string id;    // the API's id, used in URLs
  };
  std::string ServerUrl() const;
  Result<Zone> ResolveZone(std::string_view fqdn);
  Result<std::vector<Zone>> ZonesNamed(std::string_view name);
  // One request; statuses other than `expected` (and 200 for 204) are errors
  // that carry the URL, the status, PowerDNS's "error" and a hint.
  Result<RestResponse> Call(std::string_view op, const std::string& method,
                            const std::string& url, const std::string& body, int expected);
  // The TXT RRset at fqdn: its records (as the API gives them) and its TTL.
  Status ReadTxt(const Zone& zone, std::string_view fqdn, std::string_view op,
                 nlohmann::json* records, uint32_t* ttl);
  Status WriteTxt(const Zone& zone, std::string_view fqdn, const nlohmann::json& records,
                  uint32_t ttl, std::string_view op);

  PowerDnsOptions options_;
  std::unique_ptr<RestClient> http_;
  std::map<std::string, Zone, std::less<>> zones_;
  std::vector<std::string> notes_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_DNS_PROVIDER_POWERDNS_H_
