// The challtestsrv provider: writes TXT records through the management API of
// pebble-challtestsrv, the fake DNS server of the Pebble test environment.
//   POST /set-txt   {"host": fqdn, "value": v}   adds one value at host
//   POST /clear-txt {"host": fqdn}               removes every value at host
// The API cannot remove one value of several, so CleanUp clears the host and
// sets again the values this provider still holds there (a wildcard and its base
// name share one host). Values that someone else set at the same host are lost
// by a CleanUp: give each test environment its own challtestsrv.
#ifndef CERTKEEPER_CHALLENGES_DNS_PROVIDER_CHALLTESTSRV_H_
#define CERTKEEPER_CHALLENGES_DNS_PROVIDER_CHALLTESTSRV_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "challenges/dns_provider.h"

namespace certkeeper::challenges {

struct ChalltestsrvOptions {
  std::string url = "http://127.0.0.1:8055";  // management API, plain http only
  std::chrono::milliseconds timeout{10000};
};

class ChalltestsrvDnsProvider : public DnsProvider {
 public:
  // Fails with kInvalidArgument unless url is http://host:port with no path.
  static Result<std::unique_ptr<ChalltestsrvDnsProvider>> Create(ChalltestsrvOptions options);

  std::string name() const override { return "challtestsrv"; }
  Status Present(std::string_view fqdn, std::string_view value) override;
  Status CleanUp(std::string_view fqdn, std::string_view value) override;
  // Clears the TXT values of a reserved name that nothing uses
  // ("_certkeeper-check.invalid."): the API answers, no live record changes.
  Status Check() override;

 private:
  explicit ChalltestsrvDnsProvider(ChalltestsrvOptions options) : options_(std::move(options)) {}
  Status Post(std::string_view path, const std::string& body);

  ChalltestsrvOptions options_;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;  // host -> values
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_DNS_PROVIDER_CHALLTESTSRV_H_
