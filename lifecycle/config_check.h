// The engine's own rules for a Config, whoever built it: the CLI from
// certkeeper.toml and the command line, a daemon or another program in code.
// Parsing (TOML syntax, key names, value types, line numbers) belongs to the
// front end; what makes a parsed Config unusable by the engine is checked here,
// once, with the same messages for every front end.
#ifndef CERTKEEPER_LIFECYCLE_CONFIG_CHECK_H_
#define CERTKEEPER_LIFECYCLE_CONFIG_CHECK_H_

#include <memory>

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
//  - deploy targets: hooks::Validate for each, and no name used twice.
// When config.source is set, every message but the server URL's starts with it
// ("certkeeper.toml: certificate \"web\" ..."). Pure: touches neither the file
// system nor the network, so it is cheap to call again on merged settings.
[[nodiscard]] Status CheckConfig(const Config& config);

// The monitoring settings (config_check_monitor.cc): alert names unique,
// each alert's type and its keys, known events; endpoint addresses, SNI
// names and certificate names; [serve] listen and periods; [revocation]
// bounds. `prefix` starts every message.
[[nodiscard]] Status CheckMonitoringConfig(const Config& config, const std::string& prefix);

// The rules for one certificate, against the solvers and targets of `config`:
// a valid name (base/names.h), at least one domain, every domain in the form
// CanonicalDnsName returns, every challenge type known, every deploy name a
// target in config.deploy. CheckConfig applies it to every [[certificate]]; a
// front end MUST call it on a spec it builds itself before Engine::Issue (`issue
// NAME -d ...`). Its messages do not start with config.source: the spec may
// not come from the file.
[[nodiscard]] Status CheckCertificateSpec(const Config& config, const CertificateSpec& spec);

// CheckConfig, then Engine::Open: the way for a program that builds a Config
// itself to open the engine, so that no unchecked Config reaches it.
Result<std::unique_ptr<Engine>> OpenCheckedEngine(const Config& config, Clock* clock);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_CONFIG_CHECK_H_
