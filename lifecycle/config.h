// The settings the engine runs with: what the config file and the command line
// say, after validation. The CLI builds a Config (cli/config_file.h); a daemon or
// another program could build one directly.
#ifndef CERTKEEPER_LIFECYCLE_CONFIG_H_
#define CERTKEEPER_LIFECYCLE_CONFIG_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/crypto.h"
#include "hooks/target_config.h"

namespace certkeeper::lifecycle {

struct AcmeSettings {
  std::string server;     // ACME directory URL
  std::string ca_bundle;  // extra PEM trust anchors for the server's TLS; optional
  // PEM roots that issued chains must verify to before they are deployed
  // (a private or test CA); empty: the system trust store.
  std::string issuer_roots;
  std::string email;      // account contact; optional
  bool agree_tos = false;
  // Per HTTP request; MUST be in (0, acme::kMaxRequestTimeout] (10 minutes).
  std::chrono::milliseconds timeout{30000};
  // A plain http:// server URL is refused unless this is set (a test CA only).
  bool allow_insecure_http = false;
};

// One [solvers.<type>] table. Which fields apply depends on the type.
struct SolverSettings {
  std::string type;     // "http-01", "dns-01", "tls-alpn-01"
  std::string listen;   // http-01 standalone, tls-alpn-01: "host:port"
  std::string webroot;  // http-01 webroot mode (instead of listen)
  // dns-01
  std::string provider;  // exec | rfc2136 | challtestsrv | plugin
  std::string resolver;  // "ip:port" where propagation is checked; optional
  Duration propagation_timeout = std::chrono::seconds(120);
  std::vector<std::string> command;           // exec provider argv
  std::map<std::string, std::string> options;  // other provider keys
};

// Rate-limit budgets for one CA (defaults: Let's Encrypt's published limits).
struct BudgetSettings {
  int new_orders_per_3h = 300;
  int failed_validations_per_identifier_per_hour = 5;
  int certificates_per_registered_domain_per_week = 50;
  int duplicate_certificates_per_week = 5;
};

struct RenewalSettings {
  // Renew when less than this is left; unset: when 1/3 of the lifetime is left.
  std::optional<Duration> renew_before;
  BudgetSettings budgets;
};

struct CertificateSpec {
  std::string name;
  std::vector<std::string> domains;  // canonical, first is the subject CN
  KeyType key_type = KeyType::kEc256;
  std::vector<std::string> challenges;  // failover order; empty: all configured
  std::vector<std::string> deploy;      // names of [[deploy]] targets
};

struct Config {
  std::string source;  // the config file's path, for messages; may be empty
  std::string state_dir;
  AcmeSettings acme;
  std::map<std::string, SolverSettings> solvers;  // by type
  RenewalSettings renewal;
  std::vector<CertificateSpec> certificates;
  std::vector<hooks::TargetConfig> deploy;

  const CertificateSpec* FindCertificate(const std::string& name) const;
  const hooks::TargetConfig* FindDeploy(const std::string& name) const;
};

// The default state directory: /var/lib/certkeeper as root, else
// $XDG_STATE_HOME/certkeeper (~/.local/state/certkeeper).
std::string DefaultStateDir();

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_CONFIG_H_
