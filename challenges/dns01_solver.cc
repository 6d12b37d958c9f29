#include "challenges/dns01_solver.h"

#include <algorithm>
#include <set>

#include "base/encoding.h"
#include "base/log.h"
#include "base/names.h"
#include "challenges/dns_lookup.h"

namespace certkeeper::challenges {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string Millis(Duration d) {
  return std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
}

}  // namespace

std::string Dns01TxtValue(std::string_view key_authorization) {
  return Base64UrlEncode(Sha256(key_authorization));
}

Result<std::string> Dns01RecordName(std::string_view identifier) {
  if (identifier.substr(0, 2) == "*.") identifier.remove_prefix(2);
  return dns::CanonicalName("_acme-challenge." + std::string(identifier));
}

Dns01Solver::Dns01Solver(std::unique_ptr<DnsProvider> provider, Dns01Options options,
                         std::shared_ptr<dns::DnsClient> client, Clock* clock)
    : client_(std::move(client)),
      provider_(std::move(provider)),
      options_(std::move(options)),
      clock_(clock) {}

Result<dns::ServerAddress> Dns01Solver::Resolver() {
  if (options_.resolver) return *options_.resolver;
  if (!system_resolver_) {
    CK_ASSIGN_OR_RETURN(dns::ServerAddress a, dns::SystemResolver(options_.resolv_conf));
    system_resolver_ = a;
  }
  return *system_resolver_;
}

Result<std::string> Dns01Solver::Target(const std::string& identifier) {
  CK_ASSIGN_OR_RETURN(std::string name, Dns01RecordName(identifier));
  if (auto it = targets_.find(name); it != targets_.end()) return it->second;
  CK_ASSIGN_OR_RETURN(dns::ServerAddress resolver, Resolver());
  dns::DnsLookup lookup(client_.get(), options_.query_timeout);
  Result<std::string> target = lookup.FollowCname(resolver, name, true);
  if (!target.ok()) return Status(target.status()).Annotate("dns-01: CNAME lookup of " + name);
  if (*target != name) {
    notes_.push_back({identifier, name + " is a CNAME: writing the TXT record at " + *target});
  }
  targets_.emplace(name, *target);
  return target;
}

Result<std::vector<dns::ServerAddress>> Dns01Solver::ServersToCheck(
    const std::string& fqdn, TimePoint deadline) {
  CK_ASSIGN_OR_RETURN(dns::ServerAddress resolver, Resolver());
  if (options_.resolver) return std::vector<dns::ServerAddress>{resolver};
  dns::DnsLookup lookup(client_.get(), options_.query_timeout, clock_, deadline);
  CK_ASSIGN_OR_RETURN(std::string zone, lookup.FindZone(resolver, fqdn, true));
  return lookup.AuthoritativeServers(resolver, zone);
}

namespace {

// RFC 8738 §7: dns-01 MUST NOT be used for IP identifiers. Refused before any
// provider call, so that failover moves on at no cost at the CA.
Status RefuseIpIdentifiers(const std::vector<ChallengeTask>& tasks) {
  for (const ChallengeTask& task : tasks) {
    if (!IsIpAddress(task.identifier)) continue;
    return Status(ErrorCode::kInvalidArgument,
                  "dns-01 cannot validate an IP address (RFC 8738 §7); use http-01 or "
                  "tls-alpn-01")
        .Where(task.identifier)
        .Hint("list http-01 or tls-alpn-01 among the challenges of this certificate");
  }
  return Status::Ok();
}

}  // namespace

Status Dns01Solver::SelfCheck(const std::vector<ChallengeTask>& tasks) {
  CK_RETURN_IF_ERROR(RefuseIpIdentifiers(tasks));
  Status check = provider_->Check();
  CollectProviderNotes();
  if (!check.ok()) return Status(check).Annotate("dns-01 self-check: provider " + provider_->name());
  for (const ChallengeTask& task : tasks) {
    Result<std::string> target = Target(task.identifier);
    if (!target.ok()) return Status(target.status()).Annotate("dns-01 self-check");
  }
  return Status::Ok();
}

Status Dns01Solver::Present(const std::vector<ChallengeTask>& tasks) {
  CK_RETURN_IF_ERROR(RefuseIpIdentifiers(tasks));
  std::vector<Record> records;
  for (const ChallengeTask& task : tasks) {
    CK_ASSIGN_OR_RETURN(std::string fqdn, Target(task.identifier));
    Record r{task.identifier, fqdn, Dns01TxtValue(task.key_authorization)};
    bool duplicate = std::any_of(records.begin(), records.end(), [&](const Record& o) {
      return o.fqdn == r.fqdn && o.value == r.value;
    });
    if (!duplicate) records.push_back(std::move(r));
  }
  for (const Record& r : records) {
    // Remembered before the call: CleanUp must also undo a half-done Present.
    bool known = std::any_of(presented_.begin(), presented_.end(), [&](const Record& o) {
      return o.fqdn == r.fqdn && o.value == r.value;
    });
    if (!known) presented_.push_back(r);
    Status s = provider_->Present(r.fqdn, r.value);
    CollectProviderNotes();
    if (!s.ok()) {
      notes_.push_back({r.identifier, "provider " + provider_->name() + " failed to write TXT " +
                                          r.fqdn + ": " + s.message()});
      return Status(s).Annotate("dns-01 present " + r.identifier);
    }
    log::Info("dns-01 TXT record written", {{"name", r.fqdn}, {"provider", provider_->name()}});
  }
  return WaitForPropagation(records);
}

Status Dns01Solver::WaitForPropagation(const std::vector<Record>& records) {
  struct Pending {
    const Record* record;
    dns::ServerAddress server;
    std::string last_seen;
  };
  // One deadline for everything the check sends, the lookup of the servers to
  // ask included.
  TimePoint start = clock_->Now();
  TimePoint deadline = start + options_.propagation_timeout;
  std::vector<Pending> pending;
  std::map<std::string, std::vector<dns::ServerAddress>> servers_by_name;
  for (const Record& r : records) {
    auto it = servers_by_name.find(r.fqdn);
    if (it == servers_by_name.end()) {
      Result<std::vector<dns::ServerAddress>> servers = ServersToCheck(r.fqdn, deadline);
      if (!servers.ok()) {
        return Status(servers.status()).Annotate("dns-01 propagation check of " + r.fqdn);
      }
      it = servers_by_name.emplace(r.fqdn, *servers).first;
    }
    for (const dns::ServerAddress& s : it->second) pending.push_back({&r, s, "nothing yet"});
  }
  bool recursive = options_.resolver.has_value();
  dns::DnsLookup lookup(client_.get(), options_.query_timeout, clock_, deadline);
  Duration interval = options_.first_poll_interval;
  while (true) {
    for (auto it = pending.begin(); it != pending.end();) {
      Result<std::vector<std::string>> values = lookup.TxtValues(it->server, it->record->fqdn,
                                                                 recursive);
      bool seen = values.ok() && std::find(values->begin(), values->end(),
                                           it->record->value) != values->end();
      if (!seen) {
        it->last_seen = values.ok() ? std::to_string(values->size()) + " other TXT value(s)"
                                    : values.status().message();
        ++it;
        continue;
      }
      notes_.push_back({it->record->identifier, "TXT " + it->record->fqdn + " visible at " +
                                                    it->server.ToString() + " after " +
                                                    Millis(clock_->Now() - start)});
      it = pending.erase(it);
    }
    if (pending.empty()) return Status::Ok();
    TimePoint now = clock_->Now();
    if (now >= deadline) break;
    clock_->SleepFor(std::min<Duration>(interval, deadline - now));
    interval = std::min<Duration>(interval * 2, options_.max_poll_interval);
  }
  std::string missing;
  for (const Pending& p : pending) {
    if (!missing.empty()) missing += "; ";
    missing += p.record->fqdn + " at " + p.server.ToString() + " (" + p.last_seen + ")";
  }
  return Status(ErrorCode::kDeadlineExceeded,
                "dns-01: TXT record not visible after " + Millis(options_.propagation_timeout) +
                    ": " + missing)
      .Hint(recursive ? "check that the resolver sees the zone the provider writes to, or "
                        "raise propagation_timeout"
                      : "check that the provider writes to the zone's primary and that the "
                        "secondaries transfer it, or raise propagation_timeout");
}

Status Dns01Solver::CleanUp(const std::vector<ChallengeTask>& tasks) {
  std::set<std::string> values;
  for (const ChallengeTask& task : tasks) values.insert(Dns01TxtValue(task.key_authorization));
  Status first_error;
  for (auto it = presented_.begin(); it != presented_.end();) {
    if (values.count(it->value) == 0) {
      ++it;
      continue;
    }
    Status s = provider_->CleanUp(it->fqdn, it->value);
    CollectProviderNotes();
    if (!s.ok()) {
      notes_.push_back({it->identifier, "cleanup of TXT " + it->fqdn + " failed: " + s.message()});
      if (first_error.ok()) first_error = Status(s).Annotate("dns-01 cleanup " + it->identifier);
      ++it;
      continue;
    }
    it = presented_.erase(it);
  }
  return first_error;
}

void Dns01Solver::CollectProviderNotes() {
  for (std::string& line : provider_->TakeNotes()) notes_.push_back({"", std::move(line)});
}

std::vector<SolverNote> Dns01Solver::TakeNotes() {
  CollectProviderNotes();
  return std::exchange(notes_, {});
}

}  // namespace certkeeper::challenges
