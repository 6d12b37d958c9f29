#include "lifecycle/config_check.h"

#include <set>
#include <string>

#include "acme/client.h"
#include "base/challenge_type.h"
#include "base/names.h"
#include "hooks/target_config.h"

namespace certkeeper::lifecycle {

namespace {

// "certkeeper.toml: " when the config names its file, else nothing.
std::string SourcePrefix(const Config& config) {
  return config.source.empty() ? std::string() : config.source + ": ";
}

// `where` names the block in messages; the [acme] URL's error is its own.
Status CheckCa(const AcmeSettings& ca, const std::string& where) {
  if (!ca.server.empty()) {
    Status url = acme::CheckDirectoryUrl(ca.server, ca.allow_insecure_http);
    if (!url.ok()) return ca.name.empty() ? url : url.Annotate(where);
  }
  // Zero would mean "no timeout" to libcurl: one hung connection would stall
  // every certificate after it.
  CK_RETURN_IF_ERROR(acme::CheckRequestTimeout(ca.timeout).Annotate(where + ".timeout"));
  if (ca.eab_kid.empty() != ca.eab_hmac_file.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  where + ": set both eab_kid and eab_hmac_file, or neither")
        .Hint("the CA gives a key identifier and a MAC key for external account binding");
  }
  if (ca.eab_alg != "HS256" && ca.eab_alg != "HS384" && ca.eab_alg != "HS512") {
    return Status(ErrorCode::kInvalidArgument,
                  where + ": eab_alg must be HS256, HS384 or HS512, not \"" + ca.eab_alg + "\"");
  }
  for (const std::string& id : ca.caa_identities) {
    auto canonical = CanonicalDnsName(id, false);
    if (!canonical.ok()) return canonical.status().Annotate(where + ".caa_identities");
  }
  return Status::Ok();
}

Status CheckCas(const Config& config, const std::string& prefix) {
  CK_RETURN_IF_ERROR(CheckCa(config.acme, prefix + "acme"));
  if (config.cas.empty()) return Status::Ok();
  if (!config.acme.server.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  prefix + "[acme] server and [[ca]] blocks cannot be combined")
        .Hint("move the [acme] settings into a [[ca]] block with a name");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < config.cas.size(); ++i) {
    const AcmeSettings& ca = config.cas[i];
    const std::string where = prefix + "ca[" + std::to_string(i) + "]";
    if (ca.name.empty()) {
      return Status(ErrorCode::kInvalidArgument, where + ": name is required")
          .Hint("certificates list CAs by name: cas = [\"name\", ...]");
    }
    CK_RETURN_IF_ERROR(ValidateCertificateName(ca.name).Annotate(where + ": CA name"));
    if (!names.insert(ca.name).second) {
      return Status(ErrorCode::kInvalidArgument,
                    prefix + "CA \"" + ca.name + "\" is defined twice");
    }
    if (ca.server.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    prefix + "CA \"" + ca.name + "\": server is required")
          .Hint("set server to the CA's ACME directory URL");
    }
    CK_RETURN_IF_ERROR(CheckCa(ca, prefix + "CA \"" + ca.name + "\""));
  }
  return Status::Ok();
}

Status CheckSolver(const std::string& prefix, const std::string& key, const SolverSettings& s) {
  std::optional<ChallengeType> type = ParseChallengeType(key);
  if (!type) {
    return Status(ErrorCode::kInvalidArgument,
                  prefix + "unknown solver type \"solvers." + key + "\"")
        .Hint("solver types are " + ChallengeTypeList());
  }
  const std::string where = prefix + "solvers." + key;
  if (s.type != key) {
    return Status(ErrorCode::kInvalidArgument,
                  where + ": the settings are for type \"" + s.type + "\"")
        .Hint("key Config::solvers by the settings' own type");
  }
  switch (*type) {
    case ChallengeType::kHttp01:
      if (!s.listen.empty() && !s.webroot.empty()) {
        return Status(ErrorCode::kInvalidArgument,
                      where + ": set either listen or webroot, not both");
      }
      break;
    case ChallengeType::kDns01:
      if (s.provider.empty()) {
        return Status(ErrorCode::kInvalidArgument, where + ": provider is required")
            .Hint("set provider = \"exec\", \"rfc2136\", \"powerdns\", \"challtestsrv\" or \"plugin\"");
      }
      break;
    case ChallengeType::kTlsAlpn01:
      break;
  }
  return Status::Ok();
}

// `prefix` is what every message starts with ("certkeeper.toml: " or nothing).
Status CheckSpec(const Config& config, const CertificateSpec& spec, const std::string& prefix) {
  const std::string where = prefix + "certificate \"" + spec.name + "\"";
  CK_RETURN_IF_ERROR(ValidateCertificateName(spec.name).Annotate(where));
  if (spec.domains.empty()) {
    return Status(ErrorCode::kInvalidArgument, where + ": domains must not be empty");
  }
  for (const std::string& d : spec.domains) {
    auto canonical = CanonicalIdentifier(d);
    if (!canonical.ok()) return canonical.status().Annotate(where);
    // The inventory, the state directory and the order all use this form.
    if (*canonical != d) {
      return Status(ErrorCode::kInvalidArgument,
                    where + ": domain \"" + d + "\" is not in canonical form \"" + *canonical +
                        "\"")
          .Hint("pass domains through CanonicalIdentifier (base/names.h)");
    }
  }
  for (const std::string& c : spec.challenges) {
    if (!ParseChallengeType(c)) {
      return Status(ErrorCode::kInvalidArgument, where + ": unknown challenge \"" + c + "\"")
          .Hint("challenges are " + ChallengeTypeList());
    }
  }
  std::set<std::string> cas;
  for (const std::string& c : spec.cas) {
    if (!config.FindCa(c) || config.cas.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    where + " names CA \"" + c + "\", which is not defined")
          .Hint("add a [[ca]] block with name = \"" + c + "\"");
    }
    if (!cas.insert(c).second) {
      return Status(ErrorCode::kInvalidArgument, where + " lists CA \"" + c + "\" twice");
    }
  }
  for (const std::string& d : spec.deploy) {
    if (!config.FindDeploy(d)) {
      return Status(ErrorCode::kInvalidArgument,
                    where + " names deploy target \"" + d + "\", which is not defined")
          .Hint("add a [[deploy]] table with name = \"" + d + "\"");
    }
  }
  return CheckCertificateHosts(config, spec, where);
}

}  // namespace

Status CheckConfig(const Config& config) {
  const std::string prefix = SourcePrefix(config);
  CK_RETURN_IF_ERROR(CheckFleetConfig(config, prefix));
  CK_RETURN_IF_ERROR(CheckCas(config, prefix));
  for (const auto& [key, settings] : config.solvers) {
    CK_RETURN_IF_ERROR(CheckSolver(prefix, key, settings));
  }
  std::set<std::string> names;
  for (const CertificateSpec& spec : config.certificates) {
    CK_RETURN_IF_ERROR(CheckSpec(config, spec, prefix));
    if (!names.insert(spec.name).second) {
      return Status(ErrorCode::kInvalidArgument,
                    prefix + "certificate \"" + spec.name + "\" is defined twice");
    }
  }
  std::set<std::string> targets;
  for (const hooks::TargetConfig& target : config.deploy) {
    CK_RETURN_IF_ERROR(hooks::Validate(target).Annotate(config.source));
    if (!targets.insert(target.name).second) {
      return Status(ErrorCode::kInvalidArgument,
                    prefix + "deploy target \"" + target.name + "\" is defined twice");
    }
  }
  return CheckMonitoringConfig(config, prefix);
}

Status CheckCertificateSpec(const Config& config, const CertificateSpec& spec) {
  return CheckSpec(config, spec, "");
}

Result<std::unique_ptr<Engine>> OpenCheckedEngine(const Config& config, Clock* clock) {
  CK_RETURN_IF_ERROR(CheckConfig(config));
  return Engine::Open(config, clock);
}

}  // namespace certkeeper::lifecycle
