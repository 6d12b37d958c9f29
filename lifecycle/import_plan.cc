// What the certbot and lego importers share (import_plan.h).
#include <algorithm>
#include <map>

#include "base/names.h"
#include "lifecycle/import_plan.h"

namespace certkeeper::lifecycle {

Result<CertInfo> CheckImportedVersion(const ImportedVersion& version) {
  CK_ASSIGN_OR_RETURN(CertInfo info, ParseCertificatePem(version.cert_pem));
  if (CertificateIdentifiers(info).empty()) {
    return Status(ErrorCode::kInvalidArgument, "the certificate has no DNS names or IP addresses")
        .Where(version.source);
  }
  if (!version.chain_pem.empty()) {
    CK_RETURN_IF_ERROR(SplitPemCertificates(version.chain_pem).status().Annotate("chain")
                           .Where(version.source));
  }
  auto key = PrivateKey::FromPem(version.key_pem);
  if (!key.ok()) return key.status().Annotate("private key").Where(version.source);
  CK_RETURN_IF_ERROR(KeyMatchesCertificate(*key, version.cert_pem).Where(version.source));
  return info;
}

Result<ImportedVersion> VersionFromFullchain(std::string_view fullchain, std::string key_pem,
                                             std::string source) {
  auto certs = SplitPemCertificates(fullchain);
  if (!certs.ok()) return certs.status().Where(source);
  if (certs->empty()) return Status(ErrorCode::kInvalidArgument, "no certificate").Where(source);
  ImportedVersion v;
  v.cert_pem = certs->front();
  for (size_t i = 1; i < certs->size(); ++i) v.chain_pem += (*certs)[i];
  v.key_pem = std::move(key_pem);
  v.source = std::move(source);
  return v;
}

Result<KeyType> KeyTypeOfPem(std::string_view key_pem) {
  CK_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromPem(key_pem));
  return key.type();
}

Result<std::string> ImportName(std::string_view proposed,
                               const std::vector<std::string>& identifiers) {
  if (ValidateCertificateName(proposed).ok()) return std::string(proposed);
  if (identifiers.empty()) {
    return Status(ErrorCode::kInvalidArgument, "no valid name for the certificate");
  }
  std::string name = identifiers.front();
  std::replace(name.begin(), name.end(), ':', '_');
  std::replace(name.begin(), name.end(), '*', '_');
  CK_RETURN_IF_ERROR(ValidateCertificateName(name));
  return name;
}

namespace {

std::string SolverKey(const SolverSettings& s) {
  std::string key = s.listen + '\n' + s.webroot + '\n' + s.provider;
  for (const std::string& a : s.command) key += '\n' + a;
  return key;
}

std::string Describe(const SolverSettings& s) {
  if (!s.webroot.empty()) return "webroot " + s.webroot;
  if (!s.listen.empty()) return "standalone on " + s.listen;
  if (!s.provider.empty()) return "dns-01 " + s.provider + " provider";
  return s.type;
}

}  // namespace

void ChooseSolvers(const std::vector<SolverCandidate>& candidates, ImportPlan& plan) {
  std::map<std::string, std::vector<const SolverCandidate*>> by_type;
  for (const SolverCandidate& c : candidates) by_type[c.settings.type].push_back(&c);
  for (const auto& [type, list] : by_type) {
    // Count each distinct setting, in first-seen order.
    std::vector<std::pair<const SolverCandidate*, int>> counts;
    for (const SolverCandidate* c : list) {
      auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& p) {
        return SolverKey(p.first->settings) == SolverKey(c->settings);
      });
      if (it == counts.end()) {
        counts.emplace_back(c, 1);
      } else {
        ++it->second;
      }
    }
    // A web server serving a webroot usually holds port 80, which a
    // standalone solver could then not bind: on a tie webroot wins.
    const auto better = [](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second > b.second;
      return !a.first->settings.webroot.empty() && b.first->settings.webroot.empty();
    };
    auto chosen = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it) {
      if (better(*it, *chosen)) chosen = it;
    }
    const SolverSettings& settings = chosen->first->settings;
    plan.solvers[type] = settings;
    for (const SolverCandidate* c : list) {
      if (SolverKey(c->settings) == SolverKey(settings)) continue;
      plan.unmapped.push_back(
          {c->certificate, c->setting, c->value,
           "certkeeper has one [solvers." + type + "] per config; this certificate is renewed "
           "with the one chosen for most certificates (" + Describe(settings) +
           "); make sure that route works for its names too"});
    }
  }
}

namespace {

std::string AddTarget(ImportPlan& plan, std::vector<std::string> argv) {
  for (const hooks::TargetConfig& t : plan.deploy) {
    if (t.command == argv) return t.name;
  }
  hooks::TargetConfig t;
  t.name = plan.from + "-hook-" + std::to_string(plan.deploy.size() + 1);
  t.type = hooks::TargetType::kCommand;
  t.command = std::move(argv);
  plan.deploy.push_back(t);
  return t.name;
}

}  // namespace

std::string AddHookTarget(ImportPlan& plan, const std::string& hook_text) {
  // Only certkeeper's own variables are expanded, by the shell, at run time:
  // no name or path is pasted into the script text. The live directory holds
  // cert.pem, chain.pem, fullchain.pem and privkey.pem, as certbot's does.
  static const std::string kPrologue =
      "RENEWED_LINEAGE=\"${CERTKEEPER_CERT_PATH%/*}\"; RENEWED_DOMAINS=\"$CERTKEEPER_DOMAINS\"; "
      "export RENEWED_LINEAGE RENEWED_DOMAINS; ";
  return AddTarget(plan, {"/bin/sh", "-c", kPrologue + hook_text});
}

std::string AddProgramTarget(ImportPlan& plan, const std::string& path) {
  return AddTarget(plan, {path});
}

}  // namespace certkeeper::lifecycle
