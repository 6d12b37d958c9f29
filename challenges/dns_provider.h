// DnsProvider: how the DNS-01 solver writes and removes TXT records. One
// implementation per way of reaching a DNS zone (a program, RFC 2136 UPDATE,
// pebble-challtestsrv, a shared-library plugin).
#ifndef CERTKEEPER_CHALLENGES_DNS_PROVIDER_H_
#define CERTKEEPER_CHALLENGES_DNS_PROVIDER_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace certkeeper::challenges {

// Contract:
//  - fqdn is canonical: lower case with a trailing dot, e.g.
//    "_acme-challenge.example.com.". value is the 43-character base64url
//    digest of RFC 8555 §8.4 (callers may pass other printable ASCII).
//  - Present MUST add a TXT record with exactly `value` at fqdn and MUST NOT
//    remove other TXT values at that name: a wildcard and its base name put two
//    values at one name, and both must be served at once. Presenting a value that
//    is already present is not an error.
//  - CleanUp MUST remove exactly that value (other values at fqdn stay). It is
//    called even when Present failed, so removing a value that is not there is
//    not an error.
//  - Check SHOULD find out cheaply, without changing any record, whether the
//    provider can work now (the API answers, the name server is reachable). The
//    default says yes.
//  - Errors name the provider and the place (URL, server, program) and carry a
//    hint. Output worth keeping (a program's stdout/stderr, the server's reply)
//    goes into TakeNotes().
//  - One thread at a time per instance.
class DnsProvider {
 public:
  virtual ~DnsProvider() = default;
  // "exec", "rfc2136", "challtestsrv", "plugin:<name>"
  virtual std::string name() const = 0;
  virtual Status Present(std::string_view fqdn, std::string_view value) = 0;
  virtual Status CleanUp(std::string_view fqdn, std::string_view value) = 0;
  virtual Status Check() { return Status::Ok(); }
  // Notes gathered since the last call, one line each.
  virtual std::vector<std::string> TakeNotes() { return {}; }
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_DNS_PROVIDER_H_
