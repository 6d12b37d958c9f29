// The engine's own rules for a Config, whoever built it: the CLI from
// certkeeper.toml and the command line, a daemon or another program in code.
// Parsing (TOML syntax, key names, value types, line numbers) belongs to the
// front end; what makes a parsed Config unusable by the engine is checked here,
// once, with the same messages for every front end.
#ifndef CERTKEEPER_LIFECYCLE_CONFIG_CHECK_H_
#define CERTKEEPER_LIFECYCLE_CONFIG_CHECK_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/config.h"
#include "lifecycle/engine.h"

namespace certkeeper::lifecycle {

// OK, or kInvalidArgument for the first rule broken, saying what and where
// (the certificate, solver or deploy target by name) with a hint. The rules:
//  - acme: a server URL, when set, that acme::CheckDirectoryUrl accepts (https,
//    or http with allow_insecure_http); a request timeout in (0, 10 minutes];
//  - solvers: every key is a challenge type (base/challenge_type.h) equal to its
//    settings' type; http-01 sets listen or webroot, not both; dns-01 names a
//    provider (the provider checks its own keys when it is built);
//  - certificates: CheckCertificateSpec for each, and no name used twice;
//  - deploy targets: hooks::Validate for each, and no name used twice;
//  - the fleet: CheckFleetConfig.
// When config.source is set, every message but the server URL's starts with it
// ("certkeeper.toml: certificate \"web\" ..."). Pure: touches neither the file
// system nor the network, so it is cheap to call again on merged settings.
[[nodiscard]] Status CheckConfig(const Config& config);

// The monitoring settings (config_check_monitor.cc): alert names unique,
// each alert's type and its keys, known events; endpoint addresses, SNI
// names and certificate names; [serve] listen and periods; [revocation]
// bounds. `prefix` starts every message.
[[nodiscard]] Status CheckMonitoringConfig(const Config& config, const std::string& prefix);

// The fleet settings (config_check_store.cc): `host`, when set, passes
// CheckHostName; [store]: a url, when set, passes CheckStoreUrl and comes with
// an encryption_key_file; password_file and encryption_key_file are absolute
// paths; lease_ttl passes CheckLeaseTtl. Touches no file: whether the files
// exist and are owner-only is for the store that opens them. `prefix` starts
// every message.
[[nodiscard]] Status CheckFleetConfig(const Config& config, const std::string& prefix);

// A host name (Config::host, CertificateSpec::hosts): 1-64 of [A-Za-z0-9._-],
// starting with a letter or digit. It appears in metrics labels, tables and
// file names, so nothing else is let through. The message shows the name
// escaped (EscapeForTerminal) and cut to 80 bytes.
[[nodiscard]] Status CheckHostName(std::string_view name);

// A [store] url: postgresql:// or postgres:// (libpq's URI forms), printable
// ASCII only, and no password in it, neither user:password@ nor a password=
// parameter (percent-encoded names included). MUST NOT echo the url: a
// rejected one may hold the password. The message names no key; callers do.
[[nodiscard]] Status CheckStoreUrl(std::string_view url);

// [store] lease_ttl: between 10s and 1h. The message names no key.
[[nodiscard]] Status CheckLeaseTtl(Duration ttl);

// `spec.hosts` (part of CheckCertificateSpec): only with a [store] url (one
// host alone is every host), each entry a host name, none twice. `where`
// starts every message.
[[nodiscard]] Status CheckCertificateHosts(const Config& config, const CertificateSpec& spec,
                                           const std::string& where);

// The rules for one certificate, against the solvers and targets of `config`:
// a valid name (base/names.h), at least one domain, every domain in the form
// CanonicalDnsName returns, every challenge type known, every deploy name a
// target in config.deploy, its hosts as CheckCertificateHosts says.
// CheckConfig applies it to every [[certificate]]; a front end MUST call it on
// a spec it builds itself before Engine::Issue (`issue NAME -d ...`). Its
// messages do not start with config.source: the spec may not come from the
// file.
[[nodiscard]] Status CheckCertificateSpec(const Config& config, const CertificateSpec& spec);

// CheckConfig, then Engine::Open: the way for a program that builds a Config
// itself to open the engine, so that no unchecked Config reaches it.
Result<std::unique_ptr<Engine>> OpenCheckedEngine(const Config& config, Clock* clock);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_CONFIG_CHECK_H_
