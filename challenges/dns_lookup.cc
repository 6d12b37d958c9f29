#include "challenges/dns_lookup.h"

#include <algorithm>
#include <set>

namespace certkeeper::challenges::dns {
namespace {

Status ServerFailure(const Message& m, const ServerAddress& server, std::string_view name,
                     uint16_t type) {
  return Status(ErrorCode::kUnavailable, "DNS query " + TypeName(type) + " " +
                                             std::string(name) + " answered " +
                                             RcodeName(m.header.rcode))
      .Where(server.ToString())
      .Hint(m.header.rcode == kRcodeRefused
                ? "the server does not serve this name; set `resolver` to a resolver that "
                  "can answer for it"
                : "check the DNS server's logs");
}

bool NoData(const Message& m) {
  return m.header.rcode == kRcodeNoError || m.header.rcode == kRcodeNxDomain;
}

}  // namespace

Result<Message> DnsLookup::Ask(const ServerAddress& server, std::string_view name, uint16_t type,
                               bool rd) {
  std::chrono::milliseconds timeout = timeout_;
  if (clock_ != nullptr) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - clock_->Now());
    if (left.count() <= 0) {
      return Status(ErrorCode::kDeadlineExceeded,
                    "DNS query " + TypeName(type) + " " + std::string(name) +
                        " not sent: the time for the check is up")
          .Where(server.ToString());
    }
    timeout = std::min(timeout, left);
  }
  return Query(*client_, server, name, type, rd, timeout);
}

Result<std::string> DnsLookup::FollowCname(const ServerAddress& server, std::string_view name,
                                           bool rd) {
  CK_ASSIGN_OR_RETURN(std::string current, CanonicalName(name));
  std::set<std::string> seen = {current};
  for (int hop = 0; hop <= kMaxCnameChain; ++hop) {
    CK_ASSIGN_OR_RETURN(Message m, Ask(server, current, kTypeCname, rd));
    // NOTIMP: servers such as pebble-challtestsrv know no CNAMEs at all.
    if (m.header.rcode == kRcodeNotImp) return current;
    if (!NoData(m)) return ServerFailure(m, server, current, kTypeCname);
    auto it = std::find_if(m.answers.begin(), m.answers.end(), [&](const ResourceRecord& rr) {
      return rr.type == kTypeCname && rr.name == current;
    });
    if (it == m.answers.end()) return current;
    CK_ASSIGN_OR_RETURN(std::string target, DecodeNameRdata(it->rdata));
    if (!seen.insert(target).second) {
      return Status(ErrorCode::kFailedPrecondition,
                    "CNAME loop at " + target + " while following " + std::string(name))
          .Where(server.ToString())
          .Hint("fix the CNAME records of the _acme-challenge name");
    }
    if (hop == kMaxCnameChain) break;
    current = target;
  }
  return Status(ErrorCode::kFailedPrecondition,
                "CNAME chain from " + std::string(name) + " longer than " +
                    std::to_string(kMaxCnameChain) + " links")
      .Where(server.ToString())
      .Hint("point _acme-challenge directly at the zone that holds the TXT record");
}

Result<std::string> DnsLookup::FindZone(const ServerAddress& server, std::string_view name,
                                        bool rd) {
  CK_ASSIGN_OR_RETURN(std::string current, CanonicalName(name));
  std::string last_failure;
  while (true) {
    CK_ASSIGN_OR_RETURN(Message m, Ask(server, current, kTypeSoa, rd));
    if (NoData(m)) {
      for (const ResourceRecord& rr : m.answers) {
        if (rr.type == kTypeSoa && rr.name == current) return current;
      }
      for (const ResourceRecord& rr : m.authorities) {
        if (rr.type == kTypeSoa && IsSubdomain(current, rr.name)) return rr.name;
      }
    } else {
      last_failure = RcodeName(m.header.rcode);
    }
    if (current == ".") break;
    current = ParentName(current);
  }
  return Status(ErrorCode::kNotFound, "no zone (SOA record) found above " + std::string(name))
      .Where(server.ToString())
      .Hint((last_failure.empty() ? std::string() : "the server answered " + last_failure +
                                                        "; ") +
            "configure `zone`, or a `resolver` that can answer for the domain");
}

Result<std::vector<ServerAddress>> DnsLookup::AuthoritativeServers(const ServerAddress& resolver,
                                                                   std::string_view zone) {
  CK_ASSIGN_OR_RETURN(std::string apex, CanonicalName(zone));
  CK_ASSIGN_OR_RETURN(Message m, Ask(resolver, apex, kTypeNs, true));
  if (!NoData(m)) return ServerFailure(m, resolver, apex, kTypeNs);
  std::vector<std::string> hosts;
  for (const ResourceRecord& rr : m.answers) {
    if (rr.type != kTypeNs || rr.name != apex) continue;
    CK_ASSIGN_OR_RETURN(std::string host, DecodeNameRdata(rr.rdata));
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
    if (hosts.size() == kMaxNsHosts) break;
  }
  if (hosts.empty()) {
    return Status(ErrorCode::kNotFound, "zone " + apex + " has no NS records")
        .Where(resolver.ToString());
  }
  std::vector<ServerAddress> out;
  auto add = [&](const std::string& ip) {
    ServerAddress a{ip, 53};
    if (out.size() < kMaxNsAddresses && std::find(out.begin(), out.end(), a) == out.end()) {
      out.push_back(a);
    }
  };
  std::string failures;
  for (const std::string& host : hosts) {
    if (out.size() >= kMaxNsAddresses) break;
    bool found = false;
    for (const ResourceRecord& rr : m.additionals) {
      if (rr.name != host || (rr.type != kTypeA && rr.type != kTypeAaaa)) continue;
      CK_ASSIGN_OR_RETURN(std::string ip, DecodeAddressRdata(rr.type, rr.rdata));
      add(ip);
      found = true;
    }
    if (found) continue;
    for (uint16_t type : {kTypeA, kTypeAaaa}) {
      Result<Message> a = Ask(resolver, host, type, true);
      if (!a.ok()) {
        failures += " " + host + ": " + a.status().message() + ";";
        continue;
      }
      for (const ResourceRecord& rr : a->answers) {
        if (rr.type != type) continue;
        CK_ASSIGN_OR_RETURN(std::string ip, DecodeAddressRdata(rr.type, rr.rdata));
        add(ip);
      }
    }
  }
  if (out.empty()) {
    return Status(ErrorCode::kNotFound,
                  "no address found for the name servers of " + apex + failures)
        .Where(resolver.ToString())
        .Hint("set `resolver` to check propagation at one resolver instead");
  }
  return out;
}

Result<std::vector<std::string>> DnsLookup::TxtValues(const ServerAddress& server,
                                                      std::string_view name, bool rd) {
  CK_ASSIGN_OR_RETURN(std::string owner, CanonicalName(name));
  CK_ASSIGN_OR_RETURN(Message m, Ask(server, owner, kTypeTxt, rd));
  if (!NoData(m)) return ServerFailure(m, server, owner, kTypeTxt);
  std::vector<std::string> values;
  for (const ResourceRecord& rr : m.answers) {
    if (rr.type != kTypeTxt || rr.name != owner) continue;
    CK_ASSIGN_OR_RETURN(std::string v, DecodeTxtRdata(rr.rdata));
    values.push_back(std::move(v));
  }
  return values;
}

}  // namespace certkeeper::challenges::dns
