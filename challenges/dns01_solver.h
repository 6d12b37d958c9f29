// The DNS-01 solver (RFC 8555 §8.4): a TXT record at "_acme-challenge.<domain>"
// holding base64url(SHA-256(key authorization)), written through a DnsProvider,
// followed through CNAME delegation, and checked for propagation before the CA
// is asked to look.
#ifndef CERTKEEPER_CHALLENGES_DNS01_SOLVER_H_
#define CERTKEEPER_CHALLENGES_DNS01_SOLVER_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "challenges/dns_client.h"
#include "challenges/dns_provider.h"
#include "challenges/solver.h"

namespace certkeeper::challenges {

// [solvers.dns-01] of the config file.
struct Dns01Config {
  std::string provider;  // "exec", "rfc2136", "powerdns", "challtestsrv" or "plugin"
  std::string resolver;  // "ip:port"; empty: /etc/resolv.conf and authoritative checks
  Duration propagation_timeout = std::chrono::seconds(120);
  // Provider keys (all values as strings; durations as "30s"):
  //   exec:         timeout (default 60s)
  //   rfc2136:      nameserver (required), zone, tsig_key_name, tsig_algorithm
  //                 (default hmac-sha256), tsig_secret_file, ttl (default 60),
  //                 timeout (default 10s)
  //   powerdns:     api_url (required), api_key_file (required), server_id
  //                 (default localhost), zone, ttl (default 60), timeout
  //                 (default 10s), ca_file
  //   challtestsrv: url (default http://127.0.0.1:8055), timeout (default 10s)
  //   plugin:       library (required); every other key goes to the plugin
  std::map<std::string, std::string> options;
  std::vector<std::string> command;  // exec only: argv prefix of the hook program
};

// base64url(SHA-256(key_authorization)), RFC 8555 §8.4.
std::string Dns01TxtValue(std::string_view key_authorization);
// "_acme-challenge.example.com." for "example.com" (also for "*.example.com").
Result<std::string> Dns01RecordName(std::string_view identifier);

// Builds the provider named by config.provider, validating every key; an unknown
// key or a bad value is kInvalidArgument naming the key.
Result<std::unique_ptr<DnsProvider>> MakeDnsProvider(const Dns01Config& config,
                                                     dns::DnsClient* client, Clock* clock,
                                                     std::vector<std::string>* warnings);

// The solver with the real network and clock.
Result<std::unique_ptr<Solver>> MakeDns01Solver(const Dns01Config& config);
// The same with injected seams (tests): client and clock must outlive the solver.
Result<std::unique_ptr<Solver>> MakeDns01Solver(const Dns01Config& config,
                                                std::shared_ptr<dns::DnsClient> client,
                                                Clock* clock);

struct Dns01Options {
  std::optional<dns::ServerAddress> resolver;  // none: system resolver + authoritative
  Duration propagation_timeout = std::chrono::seconds(120);
  std::chrono::milliseconds query_timeout{3000};
  std::chrono::milliseconds first_poll_interval{50};
  std::chrono::milliseconds max_poll_interval{5000};
  std::string resolv_conf = "/etc/resolv.conf";
};

// Present writes one TXT value per task (a wildcard and its base name give two
// values at one name, both present at once), at the end of the CNAME chain of
// the record name (at most dns::kMaxCnameChain links), then polls with growing
// intervals until every value is visible: at the configured resolver, or else at
// the zone's authoritative servers (at most dns::kMaxNsAddresses addresses of
// its first dns::kMaxNsHosts NS hosts). Every query of the check, the lookup of
// those servers included, ends by propagation_timeout. CleanUp removes every value Present
// wrote for these tasks, also after Present failed half way; it is idempotent.
class Dns01Solver : public Solver {
 public:
  Dns01Solver(std::unique_ptr<DnsProvider> provider, Dns01Options options,
              std::shared_ptr<dns::DnsClient> client, Clock* clock);

  std::string_view type() const override { return kDns01; }
  Status SelfCheck(const std::vector<ChallengeTask>& tasks) override;
  Status Present(const std::vector<ChallengeTask>& tasks) override;
  Status CleanUp(const std::vector<ChallengeTask>& tasks) override;
  std::vector<SolverNote> TakeNotes() override;

 private:
  struct Record {
    std::string identifier;
    std::string fqdn;  // where the TXT is written (after CNAMEs)
    std::string value;
  };
  Result<dns::ServerAddress> Resolver();
  Result<std::string> Target(const std::string& identifier);
  // The servers to poll; no query runs past deadline.
  Result<std::vector<dns::ServerAddress>> ServersToCheck(const std::string& fqdn,
                                                         TimePoint deadline);
  Status WaitForPropagation(const std::vector<Record>& records);
  void CollectProviderNotes();

  // Declared before provider_: a provider may hold client_.get().
  std::shared_ptr<dns::DnsClient> client_;
  std::unique_ptr<DnsProvider> provider_;
  Dns01Options options_;
  Clock* clock_;
  std::optional<dns::ServerAddress> system_resolver_;
  std::map<std::string, std::string> targets_;  // record name -> CNAME target
  std::vector<Record> presented_;
  std::vector<SolverNote> notes_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_DNS01_SOLVER_H_
