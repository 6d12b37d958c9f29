#include "cli/config_file.h"

#include <optional>
#include <set>

#include <toml++/toml.h>

#include "acme/client.h"
#include "base/challenge_type.h"
#include "base/fs.h"
#include "base/names.h"
#include "cli/config_reader.h"
#include "lifecycle/config_check.h"

namespace certkeeper::cli {

namespace {


// An unknown type is kept with its keys unread: lifecycle::CheckConfig rejects
// the type itself, with the list of known ones.
Status ParseSolver(const std::string& key, const toml::table& table, const std::string& source,
                   lifecycle::SolverSettings& out) {
  TableReader r(table, "solvers." + key, source);
  out.type = key;
  std::optional<ChallengeType> type = ParseChallengeType(key);
  if (!type) return Status::Ok();
  switch (*type) {
    case ChallengeType::kHttp01:
      CK_RETURN_IF_ERROR(r.String("listen", out.listen));
      CK_RETURN_IF_ERROR(r.String("webroot", out.webroot));
      if (out.listen.empty() && out.webroot.empty()) out.listen = "0.0.0.0:80";
      break;
    case ChallengeType::kTlsAlpn01:
      CK_RETURN_IF_ERROR(r.String("listen", out.listen));
      if (out.listen.empty()) out.listen = "0.0.0.0:443";
      break;
    case ChallengeType::kDns01:
      CK_RETURN_IF_ERROR(r.String("provider", out.provider));
      CK_RETURN_IF_ERROR(r.String("resolver", out.resolver));
      CK_RETURN_IF_ERROR(r.DurationValue("propagation_timeout", out.propagation_timeout));
      CK_RETURN_IF_ERROR(r.StringList("command", out.command));
      // The provider's own keys are checked by the provider, which names them.
      CK_RETURN_IF_ERROR(r.RemainingAsOptions(out.options));
      break;
  }
  return r.Finish();
}

Status ParseCertificate(const toml::table& table, const std::string& source, size_t index,
                        lifecycle::CertificateSpec& out) {
  TableReader r(table, "certificate[" + std::to_string(index) + "]", source);
  CK_RETURN_IF_ERROR(r.String("name", out.name));
  std::vector<std::string> domains;
  CK_RETURN_IF_ERROR(r.StringList("domains", domains));
  std::string key_type = "ec256";
  CK_RETURN_IF_ERROR(r.String("key_type", key_type));
  CK_RETURN_IF_ERROR(r.StringList("challenges", out.challenges));
  CK_RETURN_IF_ERROR(r.StringList("deploy", out.deploy));
  CK_RETURN_IF_ERROR(r.StringList("cas", out.cas));
  CK_RETURN_IF_ERROR(r.Bool("next_key", out.next_key));
  CK_RETURN_IF_ERROR(r.StringList("hosts", out.hosts));
  CK_RETURN_IF_ERROR(r.Finish());
  std::string where = source + ": certificate \"" + out.name + "\"";
  for (const std::string& d : domains) {
    auto canonical = CanonicalIdentifier(d);
    if (!canonical.ok()) return canonical.status().Annotate(where);
    out.domains.push_back(*canonical);
  }
  auto kt = ParseKeyType(key_type);
  if (!kt.ok()) return kt.status().Annotate(where);
  out.key_type = *kt;
  return Status::Ok();
}

Status ParseDeploy(const toml::table& table, const std::string& source, size_t index,
                   hooks::TargetConfig& out) {
  TableReader r(table, "deploy[" + std::to_string(index) + "]", source);
  CK_RETURN_IF_ERROR(r.String("name", out.name));
  std::string type = "files";
  CK_RETURN_IF_ERROR(r.String("type", type));
  auto tt = hooks::ParseTargetType(type);
  if (!tt.ok()) return tt.status().Annotate(source + ": deploy \"" + out.name + "\"");
  out.type = *tt;
  CK_RETURN_IF_ERROR(r.String("directory", out.directory));
  const toml::table* files = nullptr;
  CK_RETURN_IF_ERROR(r.Table("files", files));
  if (files) {
    for (const auto& [k, v] : *files) {
      auto kind = hooks::ParseMaterialKind(k.str());
      if (!kind.ok()) {
        return Status(ErrorCode::kInvalidArgument,
                      source + ":" + std::to_string(k.source().begin.line) +
                          ": deploy \"" + out.name + "\": files: " + kind.status().message());
      }
      if (!v.is_string()) {
        return r.Error(v, "files." + std::string(k.str()), "must be a file name string");
      }
      out.files[*kind] = *v.value<std::string>();
    }
  }
  CK_RETURN_IF_ERROR(r.String("pkcs12_passphrase_file", out.pkcs12_passphrase_file));
  std::string mode;
  CK_RETURN_IF_ERROR(r.String("mode", mode));
  if (!mode.empty()) {
    auto m = hooks::ParseFileMode(mode);
    if (!m.ok()) return m.status().Annotate(source + ": deploy \"" + out.name + "\": mode");
    out.mode = *m;
  }
  CK_RETURN_IF_ERROR(r.String("owner", out.owner));
  CK_RETURN_IF_ERROR(r.String("group", out.group));
  CK_RETURN_IF_ERROR(r.StringList("reload", out.reload));
  CK_RETURN_IF_ERROR(r.StringList("verify", out.verify));
  Duration verify_timeout = out.verify_timeout;
  CK_RETURN_IF_ERROR(r.DurationValue("verify_timeout", verify_timeout));
  out.verify_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(verify_timeout);
  CK_RETURN_IF_ERROR(r.StringList("command", out.command));
  Duration timeout = out.timeout;
  CK_RETURN_IF_ERROR(r.DurationValue("timeout", timeout));
  out.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  CK_RETURN_IF_ERROR(r.String("host", out.ssh.host));
  CK_RETURN_IF_ERROR(r.Int("port", out.ssh.port, 1, 65535));
  CK_RETURN_IF_ERROR(r.String("user", out.ssh.user));
  CK_RETURN_IF_ERROR(r.String("identity_file", out.ssh.identity_file));
  CK_RETURN_IF_ERROR(r.String("known_hosts", out.ssh.known_hosts));
  CK_RETURN_IF_ERROR(r.String("remote_directory", out.ssh.remote_directory));
  CK_RETURN_IF_ERROR(r.StringList("remote_reload", out.ssh.remote_reload));
  return r.Finish();
}

Status ParseBudgets(const toml::table& table, const std::string& path, const std::string& source,
                    lifecycle::BudgetSettings& bs) {
  TableReader b(table, path, source);
  CK_RETURN_IF_ERROR(b.Int("new_orders_per_3h", bs.new_orders_per_3h, 0, 1000000));
  CK_RETURN_IF_ERROR(b.Int("failed_validations_per_identifier_per_hour",
                           bs.failed_validations_per_identifier_per_hour, 0, 1000000));
  CK_RETURN_IF_ERROR(b.Int("certificates_per_registered_domain_per_week",
                           bs.certificates_per_registered_domain_per_week, 0, 1000000));
  CK_RETURN_IF_ERROR(b.Int("duplicate_certificates_per_week", bs.duplicate_certificates_per_week,
                           0, 1000000));
  return b.Finish();
}

// [acme]. The server URL and the timeout are checked here too, so that a
// mistake names its line (the engine checks the merged settings again).
Status ParseAcme(const toml::table& table, const std::string& path, const std::string& source,
                 lifecycle::AcmeSettings& out) {
  TableReader a(table, path, source);
  const bool named = path != "acme";
  if (named) {
    CK_RETURN_IF_ERROR(a.String("name", out.name));
    CK_RETURN_IF_ERROR(a.String("eab_kid", out.eab_kid));
    CK_RETURN_IF_ERROR(a.String("eab_hmac_file", out.eab_hmac_file));
    CK_RETURN_IF_ERROR(a.String("eab_alg", out.eab_alg));
    CK_RETURN_IF_ERROR(a.String("profile", out.profile));
    CK_RETURN_IF_ERROR(a.String("preferred_chain", out.preferred_chain));
    CK_RETURN_IF_ERROR(a.StringList("caa_identities", out.caa_identities));
    const toml::table* budgets = nullptr;
    CK_RETURN_IF_ERROR(a.Table("budgets", budgets));
    if (budgets) {
      CK_RETURN_IF_ERROR(
          ParseBudgets(*budgets, path + ".budgets", source, out.budgets.emplace()));
    }
  }
  CK_RETURN_IF_ERROR(a.String("server", out.server));
  CK_RETURN_IF_ERROR(a.String("ca_bundle", out.ca_bundle));
  CK_RETURN_IF_ERROR(a.String("issuer_roots", out.issuer_roots));
  CK_RETURN_IF_ERROR(a.String("email", out.email));
  CK_RETURN_IF_ERROR(a.Bool("agree_tos", out.agree_tos));
  CK_RETURN_IF_ERROR(a.Bool("allow_insecure_http", out.allow_insecure_http));
  Duration timeout = out.timeout;
  CK_RETURN_IF_ERROR(a.DurationValue("timeout", timeout));
  if (const toml::node* n = table.get("timeout")) {
    // Zero would mean "no timeout" to libcurl: one hung connection would stall
    // every certificate after it.
    if (timeout <= Duration::zero() || timeout > acme::kMaxRequestTimeout) {
      return a.Error(*n, "timeout", "must be more than 0 and at most 10 minutes");
    }
  }
  out.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  if (const toml::node* n = table.get("server"); n && !out.server.empty()) {
    Status url = acme::CheckDirectoryUrl(out.server, out.allow_insecure_http);
    if (!url.ok()) {
      return a.Error(*n, "server", url.message())
          .Hint(out.server.rfind("http://", 0) == 0
                    ? "use the CA's https:// URL; for a test CA only, set "
                      "allow_insecure_http = true in [" + path + "]"
                    : url.hint());
    }
  }
  return a.Finish();
}

}  // namespace

Result<lifecycle::Config> ParseConfig(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Status(ErrorCode::kInvalidArgument,
                  source + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()))
        .Hint("the config file is TOML; see the README's \"Config file\" section");
  }
  lifecycle::Config config;
  config.source = source;
  TableReader r(root, "", source);
  CK_RETURN_IF_ERROR(r.String("state_dir", config.state_dir));
  CK_RETURN_IF_ERROR(ParseFleet(r, root, source, config));

  const toml::table* acme = nullptr;
  CK_RETURN_IF_ERROR(r.Table("acme", acme));
  if (acme) CK_RETURN_IF_ERROR(ParseAcme(*acme, "acme", source, config.acme));
  std::vector<const toml::table*> cas;
  CK_RETURN_IF_ERROR(r.ArrayOfTables("ca", cas));
  for (size_t i = 0; i < cas.size(); ++i) {
    lifecycle::AcmeSettings ca;
    CK_RETURN_IF_ERROR(ParseAcme(*cas[i], "ca[" + std::to_string(i) + "]", source, ca));
    config.cas.push_back(std::move(ca));
  }
  const toml::table* caa = nullptr;
  CK_RETURN_IF_ERROR(r.Table("caa", caa));
  if (caa) {
    TableReader c(*caa, "caa", source);
    config.caa.enabled = true;
    CK_RETURN_IF_ERROR(c.Bool("check", config.caa.enabled));
    CK_RETURN_IF_ERROR(c.String("resolver", config.caa.resolver));
    CK_RETURN_IF_ERROR(c.DurationValue("timeout", config.caa.timeout));
    CK_RETURN_IF_ERROR(c.Finish());
  }

  const toml::table* solvers = nullptr;
  CK_RETURN_IF_ERROR(r.Table("solvers", solvers));
  if (solvers) {
    for (const auto& [k, v] : *solvers) {
      std::string type(k.str());
      const toml::table* t = v.as_table();
      if (!t) return r.Error(v, "solvers." + type, "must be a table ([solvers." + type + "])");
      lifecycle::SolverSettings settings;
      CK_RETURN_IF_ERROR(ParseSolver(type, *t, source, settings));
      config.solvers[type] = std::move(settings);
    }
  }

  const toml::table* renewal = nullptr;
  CK_RETURN_IF_ERROR(r.Table("renewal", renewal));
  if (renewal) {
    TableReader rr(*renewal, "renewal", source);
    int days = -1;
    CK_RETURN_IF_ERROR(rr.Int("renew_before_days", days, 0, 3650));
    if (days >= 0) config.renewal.renew_before = std::chrono::hours(24 * days);
    CK_RETURN_IF_ERROR(rr.Bool("return_to_preferred", config.renewal.return_to_preferred));
    const toml::table* budgets = nullptr;
    CK_RETURN_IF_ERROR(rr.Table("budgets", budgets));
    if (budgets) {
      CK_RETURN_IF_ERROR(
          ParseBudgets(*budgets, "renewal.budgets", source, config.renewal.budgets.emplace()));
    }
    CK_RETURN_IF_ERROR(rr.Finish());
  }

  std::vector<const toml::table*> certs;
  CK_RETURN_IF_ERROR(r.ArrayOfTables("certificate", certs));
  for (size_t i = 0; i < certs.size(); ++i) {
    lifecycle::CertificateSpec spec;
    CK_RETURN_IF_ERROR(ParseCertificate(*certs[i], source, i, spec));
    config.certificates.push_back(std::move(spec));
  }

  std::vector<const toml::table*> deploys;
  CK_RETURN_IF_ERROR(r.ArrayOfTables("deploy", deploys));
  for (size_t i = 0; i < deploys.size(); ++i) {
    hooks::TargetConfig target;
    CK_RETURN_IF_ERROR(ParseDeploy(*deploys[i], source, i, target));
    config.deploy.push_back(std::move(target));
  }
  CK_RETURN_IF_ERROR(ParseMonitoring(r, root, source, config));
  CK_RETURN_IF_ERROR(r.Finish());
  // The engine's rules (names unique, references resolve, targets valid) are
  // the same for every front end.
  CK_RETURN_IF_ERROR(lifecycle::CheckConfig(config));
  return config;
}

Result<lifecycle::Config> LoadConfigFile(const std::string& path) {
  auto text = fs::ReadFile(path);
  if (!text.ok()) {
    return text.status().Annotate("cannot load config file").Hint(
        "pass an existing file with -c, or set CERTKEEPER_CONFIG");
  }
  return ParseConfig(*text, path);
}

}  // namespace certkeeper::cli
