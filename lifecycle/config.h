// The settings the engine runs with: what the config file and the command line
// say, after validation. The CLI builds a Config (cli/config_file.h); a daemon or
// another program could build one directly.
#ifndef CERTKEEPER_LIFECYCLE_CONFIG_H_
#define CERTKEEPER_LIFECYCLE_CONFIG_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/crypto.h"
#include "hooks/target_config.h"

namespace certkeeper::lifecycle {

// Let's Encrypt's ACME directories: production is the CA a command line uses
// when nothing names one (as certbot and lego do), staging is `--staging`.
inline constexpr std::string_view kLetsEncryptProduction =
    "https://acme-v02.api.letsencrypt.org/directory";
inline constexpr std::string_view kLetsEncryptStaging =
    "https://acme-staging-v02.api.letsencrypt.org/directory";

// Rate-limit budgets for one CA. 0 disables a budget. BudgetSettings{} holds
// Let's Encrypt's published limits for production; EffectiveBudgets says which
// apply to a CA.
struct BudgetSettings {
  int new_orders_per_3h = 300;
  int failed_validations_per_identifier_per_hour = 5;
  int certificates_per_registered_domain_per_week = 50;
  int duplicate_certificates_per_week = 5;
};

// One CA: the [acme] table (the unnamed CA of a single-CA config) or one
// [[ca]] block.
struct AcmeSettings {
  // The CA's name in [[ca]] (what `cas = [...]` lists and the inventory
  // records as the issuing CA); empty for [acme].
  std::string name;
  std::string server;     // ACME directory URL
  std::string ca_bundle;  // extra PEM trust anchors for the server's TLS; optional
  // PEM roots that issued chains must verify to before they are deployed
  // (a private or test CA); empty: the system trust store.
  std::string issuer_roots;
  std::string email;      // account contact; optional
  bool agree_tos = false;
  // External account binding (RFC 8555 §7.3.4): the key identifier the CA
  // gave, and a file (0600) holding its base64url MAC key. Both or neither.
  std::string eab_kid;
  std::string eab_hmac_file;
  std::string eab_alg = "HS256";  // HS256, HS384 or HS512
  // A name from the directory's meta.profiles sent in newOrder; optional.
  std::string profile;
  // Choose the chain whose top certificate's issuer common name is this
  // (RFC 8555 §7.4.2 alternates); the default chain when none matches.
  std::string preferred_chain;
  // The CAA issuer domains (RFC 8659 §4.2) of this CA, used when its
  // directory publishes no meta.caaIdentities.
  std::vector<std::string> caa_identities;
  // This CA's budgets; unset: [renewal.budgets] when the config has it, else
  // Let's Encrypt's limits for Let's Encrypt's directories and none for any
  // other CA (EffectiveBudgets).
  std::optional<BudgetSettings> budgets;
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

struct RenewalSettings {
  // Renew when less than this is left; unset: when 1/3 of the lifetime is left.
  std::optional<Duration> renew_before;
  // [renewal.budgets]: the budgets of every CA without its own; unset when
  // the config has none (EffectiveBudgets).
  std::optional<BudgetSettings> budgets;
  // Each renewal starts again from the first CA of the certificate's list
  // that is not held back; false: from the CA that issued the live version.
  bool return_to_preferred = true;
};

// [caa]: look up the names' CAA records (RFC 8659) before choosing a CA.
struct CaaSettings {
  bool enabled = false;  // [caa] is present
  std::string resolver;  // "ip:port"; empty: the first nameserver of /etc/resolv.conf
  Duration timeout = std::chrono::seconds(5);
};

// [metrics]
struct MetricsSettings {
  // node_exporter textfile collector file that `renew` and `probe` rewrite
  // (atomically) at the end of each run; empty: none.
  std::string textfile;
};

// [serve]: `certkeeper serve`.
struct ServeSettings {
  std::string listen = "127.0.0.1:9150";  // host:port; --listen overrides
  // A file holding the bearer token every request must carry; required for
  // any listen address other than loopback.
  std::string token_file;
  // Run the renewal (as `renew --all`) and the endpoint probes this often,
  // jittered; unset: never (a systemd timer runs `renew --all`).
  std::optional<Duration> renew_every;
  std::optional<Duration> probe_every;
};

// One [[alert]] block: where notifications go and which ones.
struct AlertSettings {
  std::string name;  // unique; the alert state in the inventory is kept by it
  std::string type;  // "command", "webhook", "email"
  // command: argv, run with execve; the JSON event on stdin.
  std::vector<std::string> command;
  // webhook: URL (https, or http to loopback), body format "generic" or
  // "alertmanager" (Prometheus Alertmanager /api/v2/alerts), optional file
  // with a bearer token, extra PEM roots for its TLS.
  std::string url;
  std::string format = "generic";
  std::string token_file;
  std::string ca_bundle;
  // email: recipients and sender, through /usr/sbin/sendmail -t (or `sendmail`).
  std::vector<std::string> to;
  std::string from;
  std::string sendmail = "/usr/sbin/sendmail";
  // Which events ("expiring", "renewal-failing", "deploy-failed",
  // "rolled-back", "revoked", "ca-unreachable", "endpoint-mismatch",
  // "probe-failing"); empty: all.
  std::vector<std::string> events;
  // Which certificates (inventory names); empty: all.
  std::vector<std::string> certificates;
  // renewal-failing fires after this many failed attempts in a row.
  int failures = 3;
  // ca-unreachable fires after this many runs in a row could not reach a CA.
  int ca_unreachable_runs = 3;
  // expiring fires past renew_at + expiring_grace, or with less than
  // expiring_fraction of the lifetime left.
  Duration expiring_grace = std::chrono::hours(24);
  double expiring_fraction = 0.1;
  // No notification before this time (a maintenance window); conditions are
  // still tracked, and what is still true afterwards is sent then.
  std::optional<TimePoint> quiet_until;
  Duration timeout = std::chrono::seconds(10);  // per delivery
};

// One [[endpoint]] block: a TLS termination point to probe.
struct EndpointSettings {
  std::string address;      // host:port
  std::string sni;          // server name sent; empty: none (or the host)
  std::string certificate;  // the inventory name it should serve; optional
  std::string ca_bundle;    // PEM roots the served chain must verify to; empty: system
  Duration timeout = std::chrono::seconds(10);
  // "address" or "address/sni": the key of its probe history.
  std::string Key() const { return sni.empty() ? address : address + "/" + sni; }
};

// [revocation]: OCSP and CRL checks of live certificates.
struct RevocationSettings {
  bool enabled = true;
  Duration timeout = std::chrono::seconds(10);  // per responder / CRL fetch
  // The longest an answer is reused when it names no nextUpdate.
  Duration max_cache = std::chrono::hours(24);
  // Write the DER OCSP response next to each live certificate (ocsp.der).
  bool staple_file = true;
};

struct CertificateSpec {
  std::string name;
  std::vector<std::string> domains;  // canonical, first is the subject CN
  KeyType key_type = KeyType::kEc256;
  std::vector<std::string> challenges;  // failover order; empty: all configured
  std::vector<std::string> deploy;      // names of [[deploy]] targets
  // Names of [[ca]] blocks in order of preference; empty: every configured
  // CA in config order (the one CA of an [acme] config).
  std::vector<std::string> cas;
  // Keep a pre-generated next private key (staged), publish its pins, and
  // use it at the next renewal.
  bool next_key = false;
  // The hosts of a fleet (Config::host names) that deliver this certificate:
  // materialize its live/ files and run its deploy targets. Empty: every host.
  std::vector<std::string> hosts;
};

// [store]: where the inventory lives. An empty url keeps the embedded SQLite
// inventory in the state directory (the default); a postgresql:// url shares
// one inventory between the hosts of a fleet (docs/fleet.md).
struct StoreSettings {
  // postgresql://[user@]host[:port]/dbname[?param=value...]. MUST NOT hold a
  // password: the password comes from password_file (or libpq's own
  // ~/.pgpass / PGPASSFILE), so it never appears in argv, logs or --json.
  std::string url;
  std::string password_file;  // optional; owner-only (0600 or 0400)
  // 32 random bytes (raw, or 64 hex digits) that seal the private keys kept in
  // a shared inventory (AES-256-GCM). Required with a url; owner-only.
  std::string encryption_key_file;
  // How long a host's claim on a certificate lasts without being renewed; a
  // host killed mid-renewal loses its claims this long after its last renewal
  // of them. Renewed every lease_ttl / 3 while working.
  Duration lease_ttl = std::chrono::seconds(60);
  bool shared() const { return !url.empty(); }
};

struct Config {
  std::string source;  // the config file's path, for messages; may be empty
  std::string state_dir;
  // This host's name in a fleet: `host = "..."` at the top of the config,
  // else the machine's hostname (DefaultHostName). Recorded on attempts and
  // deployments; matched against CertificateSpec::hosts.
  std::string host;
  StoreSettings store;
  // The unnamed CA of [acme] (and of --server). A config with [[ca]] blocks
  // MUST leave acme.server empty; Cas() is what the engine uses.
  AcmeSettings acme;
  std::vector<AcmeSettings> cas;  // [[ca]] blocks, names unique
  std::map<std::string, SolverSettings> solvers;  // by type
  RenewalSettings renewal;
  CaaSettings caa;
  std::vector<CertificateSpec> certificates;
  std::vector<hooks::TargetConfig> deploy;
  MetricsSettings metrics;
  ServeSettings serve;
  std::vector<AlertSettings> alerts;
  std::vector<EndpointSettings> endpoints;
  RevocationSettings revocation;

  const CertificateSpec* FindCertificate(const std::string& name) const;
  const hooks::TargetConfig* FindDeploy(const std::string& name) const;
  // `cas` when there are [[ca]] blocks, else {acme} (empty when acme.server
  // is empty too).
  std::vector<AcmeSettings> Cas() const;
  const AcmeSettings* FindCa(const std::string& name) const;
  // The CAs `spec` may use, in its order of preference.
  std::vector<const AcmeSettings*> CasFor(const CertificateSpec& spec) const;
  // Whether this host delivers `spec` (materializes its live/ files, runs its
  // deploy targets): spec.hosts is empty (every host) or lists `host`.
  bool DeliversHere(const CertificateSpec& spec) const;
};

// The budgets that apply to `ca`: its own, else renewal.budgets, else Let's
// Encrypt's published limits for a Let's Encrypt directory (production and
// staging differ), else none (every budget 0).
BudgetSettings EffectiveBudgets(const AcmeSettings& ca, const RenewalSettings& renewal);

// The default state directory: /var/lib/certkeeper as root, else
// $XDG_STATE_HOME/certkeeper (~/.local/state/certkeeper).
std::string DefaultStateDir();

// The machine's hostname (gethostname), or "localhost" when it has none.
std::string DefaultHostName();

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_CONFIG_H_
