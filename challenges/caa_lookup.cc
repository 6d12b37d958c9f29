// LookupCaa: the RFC 8659 §3 climb from a name towards the root through the
// same DNS client and wire code as the dns-01 propagation check.
#include <algorithm>
#include <chrono>

#include "base/names.h"
#include "challenges/caa.h"
#include "challenges/dns_lookup.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string WithoutRootDot(std::string_view name) {
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  return std::string(name);
}

Status LookupFailure(Status s, std::string_view name, const dns::ServerAddress& server) {
  return std::move(s.Annotate("CAA lookup for " + WithoutRootDot(name) + " at resolver " +
                              server.ToString()));
}

// The CAA records that answer `qname` in m: those at qname, or at the end of a
// CNAME chain from qname inside the answer section (the recursive resolver
// followed it, RFC 8659 §3).
Result<std::vector<CaaRecord>> RecordsFor(const dns::Message& m, const std::string& qname) {
  std::string current = qname;
  for (int hop = 0; hop < dns::kMaxCnameChain; ++hop) {
    auto it = std::find_if(m.answers.begin(), m.answers.end(), [&](const dns::ResourceRecord& rr) {
      return rr.type == dns::kTypeCname && rr.name == current;
    });
    if (it == m.answers.end()) break;
    CK_ASSIGN_OR_RETURN(current, dns::DecodeNameRdata(it->rdata));
  }
  std::vector<CaaRecord> out;
  for (const dns::ResourceRecord& rr : m.answers) {
    if (rr.type != dns::kTypeCaa || rr.name != current) continue;
    if (out.size() == kMaxCaaRecords) {
      return Status(ErrorCode::kProtocol, "more than " + std::to_string(kMaxCaaRecords) +
                                              " CAA records at " + WithoutRootDot(current));
    }
    CK_ASSIGN_OR_RETURN(dns::CaaRdata caa, dns::DecodeCaaRdata(rr.rdata));
    out.push_back({caa.flags, std::move(caa.tag), std::move(caa.value)});
  }
  return out;
}

}  // namespace

Result<CaaSet> LookupCaa(dns::DnsClient& client, const dns::ServerAddress& server,
                         std::string_view name, Duration timeout) {
  std::string_view base = name;
  // RFC 8659 §3: the relevant RRset of "*.X" is that of X.
  if (base.substr(0, 2) == "*.") base.remove_prefix(2);
  if (IsIpAddress(base)) return CaaSet{};
  Result<std::string> canonical = dns::CanonicalName(base);
  if (!canonical.ok()) return LookupFailure(canonical.status(), name, server);
  // Capped so that the deadline cannot overflow; no climb needs a day.
  timeout = std::min(timeout, Duration(std::chrono::hours(24)));
  SteadyClock::time_point deadline =
      SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(timeout);
  for (std::string current = *canonical; current != "."; current = dns::ParentName(current)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                      SteadyClock::now());
    if (left.count() <= 0) {
      return LookupFailure(Status(ErrorCode::kDeadlineExceeded,
                                  "no answer for " + WithoutRootDot(current) + " in time")
                               .Hint("check that the resolver answers CAA queries"),
                           name, server);
    }
    Result<dns::Message> m = dns::Query(client, server, current, dns::kTypeCaa, true, left);
    if (!m.ok()) return LookupFailure(m.status(), name, server);
    uint16_t rcode = m->header.rcode;
    if (rcode != dns::kRcodeNoError && rcode != dns::kRcodeNxDomain) {
      // RFC 8659 §3: a failed lookup does not mean "no CAA".
      return LookupFailure(Status(ErrorCode::kUnavailable,
                                  "CAA query for " + WithoutRootDot(current) + " answered " +
                                      dns::RcodeName(rcode))
                               .Hint("the resolver could not answer; retry later or set "
                                     "another resolver"),
                           name, server);
    }
    Result<std::vector<CaaRecord>> records = RecordsFor(*m, current);
    if (!records.ok()) return LookupFailure(records.status(), name, server);
    if (!records->empty()) return CaaSet{WithoutRootDot(current), std::move(*records)};
  }
  return CaaSet{};
}

Result<CaaSet> LookupCaa(std::string_view name, const std::string& resolver, Duration timeout) {
  Result<dns::ServerAddress> server =
      resolver.empty() ? dns::SystemResolver() : dns::ParseServerAddress(resolver);
  if (!server.ok()) {
    Status s = server.status();
    return std::move(s.Annotate("CAA lookup for " + std::string(name)));
  }
  dns::NetDnsClient client;
  return LookupCaa(client, *server, name, timeout);
}

}  // namespace certkeeper::challenges
