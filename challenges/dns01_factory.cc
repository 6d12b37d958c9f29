// Validation of [solvers.dns-01] and construction of the provider and solver.
#include <set>

#include "base/fs.h"
#include "base/log.h"
#include "challenges/dns01_solver.h"
#include "challenges/dns_provider_challtestsrv.h"
#include "challenges/dns_provider_exec.h"
#include "challenges/dns_provider_plugin.h"
#include "challenges/dns_provider_powerdns.h"
#include "challenges/dns_provider_rfc2136.h"

namespace certkeeper::challenges {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

Status BadKey(const Dns01Config& c, const std::string& key, std::string why) {
  return Status(ErrorCode::kInvalidArgument,
                "[solvers.dns-01] provider " + c.provider + ": " + key + ": " + why)
      .Where("solvers.dns-01." + key);
}

Status CheckKeys(const Dns01Config& c, const std::set<std::string>& allowed) {
  for (const auto& [key, value] : c.options) {
    if (allowed.count(key) != 0) continue;
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return BadKey(c, key, "unknown key").Hint("keys accepted by provider " + c.provider + ": " +
                                              (list.empty() ? "none" : list));
  }
  if (c.provider != "exec" && !c.command.empty()) {
    return BadKey(c, "command", "only the exec provider takes a command");
  }
  return Status::Ok();
}

std::string Get(const Dns01Config& c, const std::string& key, std::string fallback = "") {
  auto it = c.options.find(key);
  return it == c.options.end() ? fallback : it->second;
}

Result<milliseconds> GetDuration(const Dns01Config& c, const std::string& key,
                                 milliseconds fallback) {
  auto it = c.options.find(key);
  if (it == c.options.end()) return fallback;
  Result<Duration> d = ParseDuration(it->second);
  if (!d.ok() || d->count() <= 0) {
    return BadKey(c, key, "'" + it->second + "' is not a positive duration")
        .Hint("write a duration such as \"30s\" or \"2m\"");
  }
  return duration_cast<milliseconds>(*d);
}

Result<uint32_t> GetTtl(const Dns01Config& c, uint32_t fallback) {
  std::string ttl = Get(c, "ttl");
  if (ttl.empty()) return fallback;
  if (ttl.find_first_not_of("0123456789") != std::string::npos || ttl.size() > 9) {
    return BadKey(c, "ttl", "'" + ttl + "' is not a number of seconds")
        .Hint("write the TTL in seconds as a string, e.g. ttl = \"60\"");
  }
  return static_cast<uint32_t>(std::stoul(ttl));
}

Result<std::unique_ptr<DnsProvider>> MakeRfc2136(const Dns01Config& c, dns::DnsClient* client,
                                                 Clock* clock,
                                                 std::vector<std::string>* warnings) {
  CK_RETURN_IF_ERROR(CheckKeys(c, {"nameserver", "zone", "tsig_key_name", "tsig_algorithm",
                                   "tsig_secret_file", "ttl", "timeout"}));
  Rfc2136Options o;
  std::string ns = Get(c, "nameserver");
  if (ns.empty()) return BadKey(c, "nameserver", "required").Hint("nameserver = \"192.0.2.1:53\"");
  Result<dns::ServerAddress> addr = dns::ParseServerAddress(ns);
  if (!addr.ok()) return BadKey(c, "nameserver", addr.status().message()).Hint(addr.status().hint());
  o.nameserver = *addr;
  if (std::string zone = Get(c, "zone"); !zone.empty()) {
    Result<std::string> canonical = dns::CanonicalName(zone);
    if (!canonical.ok()) return BadKey(c, "zone", canonical.status().message());
    o.zone = *canonical;
  }
  std::string key_name = Get(c, "tsig_key_name");
  std::string secret_file = Get(c, "tsig_secret_file");
  if (key_name.empty() != secret_file.empty()) {
    return BadKey(c, key_name.empty() ? "tsig_key_name" : "tsig_secret_file", "required")
        .Hint("TSIG needs both tsig_key_name and tsig_secret_file");
  }
  if (!key_name.empty()) {
    Result<dns::TsigKey> key =
        LoadTsigKey(key_name, Get(c, "tsig_algorithm", "hmac-sha256"), secret_file, warnings);
    if (!key.ok()) {
      return BadKey(c, "tsig_secret_file", key.status().message())
          .Where(secret_file)
          .Hint(key.status().hint());
    }
    o.key = *key;
  } else if (c.options.count("tsig_algorithm") != 0) {
    return BadKey(c, "tsig_algorithm", "set without tsig_key_name");
  }
  CK_ASSIGN_OR_RETURN(o.ttl, GetTtl(c, o.ttl));
  CK_ASSIGN_OR_RETURN(o.timeout, GetDuration(c, "timeout", milliseconds(10000)));
  return std::unique_ptr<DnsProvider>(new Rfc2136DnsProvider(std::move(o), client, clock));
}

Result<std::unique_ptr<DnsProvider>> MakePowerDns(const Dns01Config& c,
                                                  std::vector<std::string>* warnings) {
  CK_RETURN_IF_ERROR(CheckKeys(c, {"api_url", "server_id", "api_key_file", "zone", "ttl",
                                   "timeout", "ca_file"}));
  PowerDnsOptions o;
  std::string url = Get(c, "api_url");
  if (url.empty()) return BadKey(c, "api_url", "required").Hint("api_url = \"http://127.0.0.1:8081\"");
  Result<std::string> normalized = NormalizePowerDnsUrl(url);
  if (!normalized.ok()) {
    return BadKey(c, "api_url", normalized.status().message()).Hint(normalized.status().hint());
  }
  o.api_url = *normalized;
  o.server_id = Get(c, "server_id", o.server_id);
  if (o.server_id.empty() ||
      o.server_id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789._-") != std::string::npos) {
    return BadKey(c, "server_id", "'" + o.server_id + "' is not a server id")
        .Hint("PowerDNS Authoritative calls its server \"localhost\"");
  }
  std::string key_file = Get(c, "api_key_file");
  if (key_file.empty()) {
    return BadKey(c, "api_key_file", "required")
        .Hint("api_key_file = \"/etc/certkeeper/pdns.key\", a 0600 file holding the api-key; "
              "the key itself never goes into the config");
  }
  Result<std::string> key = LoadPowerDnsApiKey(key_file, warnings);
  if (!key.ok()) {
    return BadKey(c, "api_key_file", key.status().message()).Where(key_file).Hint(key.status().hint());
  }
  o.api_key = *key;
  if (std::string zone = Get(c, "zone"); !zone.empty()) {
    Result<std::string> canonical = dns::CanonicalName(zone);
    if (!canonical.ok()) return BadKey(c, "zone", canonical.status().message());
    o.zone = *canonical;
  }
  CK_ASSIGN_OR_RETURN(o.ttl, GetTtl(c, o.ttl));
  CK_ASSIGN_OR_RETURN(o.timeout, GetDuration(c, "timeout", milliseconds(10000)));
  CurlRestOptions http;
  http.timeout = o.timeout;
  http.ca_file = Get(c, "ca_file");
  if (!http.ca_file.empty() && !fs::Exists(http.ca_file)) {
    return BadKey(c, "ca_file", "'" + http.ca_file + "' does not exist")
        .Hint("ca_file names a PEM file of the CA that signed the API's certificate");
  }
  return std::unique_ptr<DnsProvider>(new PowerDnsProvider(std::move(o), MakeCurlRestClient(http)));
}

}  // namespace

Result<std::unique_ptr<DnsProvider>> MakeDnsProvider(const Dns01Config& c, dns::DnsClient* client,
                                                     Clock* clock,
                                                     std::vector<std::string>* warnings) {
  if (c.provider == "exec") {
    CK_RETURN_IF_ERROR(CheckKeys(c, {"timeout"}));
    ExecProviderOptions o;
    o.command = c.command;
    CK_ASSIGN_OR_RETURN(o.timeout, GetDuration(c, "timeout", milliseconds(60000)));
    CK_ASSIGN_OR_RETURN(auto p, ExecDnsProvider::Create(std::move(o)));
    return std::unique_ptr<DnsProvider>(std::move(p));
  }
  if (c.provider == "rfc2136") return MakeRfc2136(c, client, clock, warnings);
  if (c.provider == "powerdns") return MakePowerDns(c, warnings);
  if (c.provider == "challtestsrv") {
    CK_RETURN_IF_ERROR(CheckKeys(c, {"url", "timeout"}));
    ChalltestsrvOptions o;
    o.url = Get(c, "url", o.url);
    CK_ASSIGN_OR_RETURN(o.timeout, GetDuration(c, "timeout", milliseconds(10000)));
    CK_ASSIGN_OR_RETURN(auto p, ChalltestsrvDnsProvider::Create(std::move(o)));
    return std::unique_ptr<DnsProvider>(std::move(p));
  }
  if (c.provider == "plugin") {
    if (!c.command.empty()) return BadKey(c, "command", "only the exec provider takes a command");
    std::string library = Get(c, "library");
    if (library.empty()) return BadKey(c, "library", "required").Hint("library = \"/path/to/plugin.so\"");
    std::map<std::string, std::string> rest = c.options;
    rest.erase("library");
    CK_ASSIGN_OR_RETURN(auto p, PluginDnsProvider::Load(library, rest));
    return std::unique_ptr<DnsProvider>(std::move(p));
  }
  return Status(ErrorCode::kInvalidArgument,
                "[solvers.dns-01] provider: unknown provider '" + c.provider + "'")
      .Where("solvers.dns-01.provider")
      .Hint("use one of exec, rfc2136, powerdns, challtestsrv, plugin");
}

Result<std::unique_ptr<Solver>> MakeDns01Solver(const Dns01Config& config,
                                                std::shared_ptr<dns::DnsClient> client,
                                                Clock* clock) {
  Dns01Options options;
  if (!config.resolver.empty()) {
    Result<dns::ServerAddress> resolver = dns::ParseServerAddress(config.resolver);
    if (!resolver.ok()) {
      return Status(resolver.status()).Annotate("[solvers.dns-01] resolver").Where("solvers.dns-01.resolver");
    }
    options.resolver = *resolver;
  }
  if (config.propagation_timeout.count() <= 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "[solvers.dns-01] propagation_timeout must be positive")
        .Where("solvers.dns-01.propagation_timeout");
  }
  options.propagation_timeout = config.propagation_timeout;
  std::vector<std::string> warnings;
  CK_ASSIGN_OR_RETURN(std::unique_ptr<DnsProvider> provider,
                      MakeDnsProvider(config, client.get(), clock, &warnings));
  for (const std::string& w : warnings) log::Warn("dns-01: " + w);
  return std::unique_ptr<Solver>(
      new Dns01Solver(std::move(provider), std::move(options), std::move(client), clock));
}

Result<std::unique_ptr<Solver>> MakeDns01Solver(const Dns01Config& config) {
  return MakeDns01Solver(config, std::make_shared<dns::NetDnsClient>(), RealClock());
}

}  // namespace certkeeper::challenges
