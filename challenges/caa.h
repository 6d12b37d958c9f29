// CAA (Certification Authority Authorization, RFC 8659, with the RFC 8657
// accounturi and validationmethods parameters): which CAs a domain allows to
// issue for it, so that certkeeper can skip a CA the records forbid before it
// orders anything. LookupCaa finds the relevant record set through a recursive
// resolver; EvaluateCaa is a pure function of that set and one CA's identities.
#ifndef CERTKEEPER_CHALLENGES_CAA_H_
#define CERTKEEPER_CHALLENGES_CAA_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "challenges/dns_client.h"

namespace certkeeper::challenges {

// The issuer-critical flag (RFC 8659 §4.1).
inline constexpr uint8_t kCaaCritical = 128;

struct CaaRecord {
  uint8_t flags = 0;
  std::string tag;    // as published; tags compare case-insensitively
  std::string value;  // raw octets from the network: may hold anything
};

struct CaaSet {
  // The name (lower case, no trailing dot) whose RRset applies; empty when
  // records is empty.
  std::string owner;
  // Empty: no CAA record at the name or any parent, so any CA may issue.
  std::vector<CaaRecord> records;
};

// At most this many CAA records are kept from one answer; a set with more is
// an error (fail closed) rather than something to scan without bound.
inline constexpr size_t kMaxCaaRecords = 64;

// RFC 8659 §3: the relevant RRset of name: the CAA RRset of the name, else of
// its parent, climbing to (not including) the root. CNAMEs are followed by the
// recursive resolver (the CAA records of the chain's target, in the same answer,
// count as the name's). A wildcard "*.x" is looked up as x (§3). An IP address
// has no CAA (RFC 8659 is about domain names): it yields an empty set without a
// query. `resolver` is "ip:port" (or an IP, port 53); empty means the first
// nameserver of /etc/resolv.conf. `timeout` bounds the whole climb; each query
// gets the time left. Errors — SERVFAIL or another failure rcode, timeout, a
// malformed answer — are Status values naming the name and the resolver: the
// caller MUST treat them as "not known to be allowed" (RFC 8659 §3 forbids
// issuance when the lookup fails), never as an empty set.
Result<CaaSet> LookupCaa(std::string_view name, const std::string& resolver, Duration timeout);
// The same over an injected DNS client and a parsed server (unit tests).
Result<CaaSet> LookupCaa(dns::DnsClient& client, const dns::ServerAddress& server,
                         std::string_view name, Duration timeout);

struct CaaVerdict {
  bool allowed = true;
  // For people, e.g. "CAA at example.com allows only letsencrypt.org". Values
  // from the records are quoted with control characters escaped and cut short.
  std::string reason;
  // RFC 8657 §4 validationmethods: the challenge types the records allow this
  // CA to use (lower case, no duplicates); empty means any. The caller MUST use
  // only configured types that appear here, and skip the CA when none does.
  std::vector<std::string> challenge_types;
};

// RFC 8659 §4: decides whether a CA whose CAA identities are ca_identities
// (issuer domain names such as "letsencrypt.org", compared case-insensitively,
// a trailing dot ignored) may issue for the set's name; `wildcard` when the
// certificate asks for "*.name".
//  - No records, or no issue/issuewild that applies: allowed (§4.2, §4.3).
//  - A record with the critical flag and a tag other than issue, issuewild or
//    iodef: forbidden (§4.1).
//  - For a wildcard, the issuewild records apply when there is one, else the
//    issue records (§4.3).
//  - A record authorizes the CA when its issuer domain name is one of
//    ca_identities, its parameters parse (§4.2: tag=value;...), and an
//    accounturi, when present, equals account_url exactly (RFC 8657 §3; an empty
//    account_url matches no accounturi). A value that does not parse, or ";"
//    with no issuer, authorizes nobody. A repeated accounturi or
//    validationmethods parameter makes the record authorize nobody.
//  - challenge_types: the union of validationmethods of the records that
//    authorize the CA; empty when one of them has none.
CaaVerdict EvaluateCaa(const CaaSet& set, bool wildcard,
                       const std::vector<std::string>& ca_identities,
                       std::string_view account_url);

// A record value made safe to print: control and non-ASCII octets as \xNN,
// at most max_length characters of the value (then "...").
std::string PrintableCaaValue(std::string_view value, size_t max_length = 80);

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_CAA_H_
