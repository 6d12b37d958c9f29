#include "lifecycle/engine_context.h"

#include <set>
#include <utility>

#include "acme/client.h"
#include "base/challenge_type.h"
#include "base/fs.h"
#include "base/log.h"

namespace certkeeper::lifecycle {

void EngineContext::AddStep(int64_t attempt_id, store::AttemptStep step) const {
  auto r = inventory->AddAttemptStep(attempt_id, step);
  if (!r.ok()) log::Warn("cannot record attempt step", {{"error", r.status().ToString()}});
}

Result<int64_t> EngineContext::StartAttempt(const std::string& certificate,
                                            std::string reason) const {
  store::Attempt attempt;
  attempt.certificate = certificate;
  attempt.started_at = clock->Now();
  attempt.server = server();
  attempt.reason = std::move(reason);
  attempt.host = host();  // shown in a fleet (list/show/history)
  return inventory->StartAttempt(attempt);
}

void EngineContext::Event(const std::string& certificate, const std::string& kind,
                          const std::string& message) const {
  store::Event e;
  e.at = clock->Now();
  e.certificate = certificate;
  e.kind = kind;
  e.message = message;
  auto r = inventory->AddEvent(e);
  if (!r.ok()) log::Warn("cannot record event", {{"error", r.status().ToString()}});
}

void RecordBestEffort(const Status& s, const std::string& name, const std::string& what) {
  if (s.ok()) return;
  log::Warn("cannot " + what, {{"certificate", name}, {"error", s.ToString()}});
}

Result<std::string> IssuerRootsPem(const Config& config) {
  std::string pem;
  std::set<std::string> seen;
  for (const AcmeSettings& ca : config.Cas()) {
    if (ca.issuer_roots.empty() || !seen.insert(ca.issuer_roots).second) continue;
    auto roots = fs::ReadFile(ca.issuer_roots);
    if (!roots.ok()) {
      return roots.status().Annotate("read issuer_roots" +
                                     (ca.name.empty() ? std::string(" of [acme]")
                                                      : " of CA \"" + ca.name + "\""));
    }
    pem += *roots;
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
  }
  return pem;
}

Config WithNormalizedCas(Config config) {
  if (config.cas.empty()) {
    if (!config.acme.server.empty()) config.cas.push_back(config.acme);
  } else {
    config.acme = config.cas.front();
  }
  return config;
}

Status CheckServerConfigured(const Config& config) {
  if (config.acme.server.empty()) {
    return Status(ErrorCode::kInvalidArgument, "no ACME server configured")
        .Hint("pass --server URL or set server in the [acme] section of the config file");
  }
  CK_RETURN_IF_ERROR(
      acme::CheckDirectoryUrl(config.acme.server, config.acme.allow_insecure_http));
  return acme::CheckRequestTimeout(config.acme.timeout);
}

Status NotManagedError(const std::string& name) {
  return Status(ErrorCode::kNotFound, "no certificate named \"" + name + "\" in the inventory")
      .Hint("`certkeeper list` shows the managed certificates");
}

Result<CertificateSpec> DeliverySpec(const Config& config, const store::Certificate& cert) {
  CK_ASSIGN_OR_RETURN(CertificateSpec spec, FromStoreSpec(cert.spec));
  if (const CertificateSpec* configured = config.FindCertificate(spec.name)) {
    spec.deploy = configured->deploy;
  }
  return spec;
}

store::CertificateSpec ToStoreSpec(const CertificateSpec& spec, const Config& config) {
  store::CertificateSpec s;
  s.name = spec.name;
  s.domains = spec.domains;
  s.key_type = std::string(KeyTypeName(spec.key_type));
  s.challenges = spec.challenges;
  // No list of its own: every configured type, in the default order, is what
  // the certificate will use; record that.
  if (s.challenges.empty()) {
    for (ChallengeType t : kChallengeTypes) {
      std::string name(ChallengeTypeName(t));
      if (config.solvers.count(name)) s.challenges.push_back(name);
    }
    if (s.challenges.empty()) {
      s.challenges.emplace_back(ChallengeTypeName(ChallengeType::kHttp01));
    }
  }
  const std::string& server = config.acme.server;
  s.deploy_targets = spec.deploy;
  s.server = server;
  return s;
}

Result<CertificateSpec> FromStoreSpec(const store::CertificateSpec& s) {
  CertificateSpec spec;
  spec.name = s.name;
  spec.domains = s.domains;
  CK_ASSIGN_OR_RETURN(spec.key_type, ParseKeyType(s.key_type));
  spec.challenges = s.challenges;
  spec.deploy = s.deploy_targets;
  return spec;
}

Result<CertificateSpec> FromStoreSpec(store::CertificateSpec&& s) {
  CertificateSpec spec;
  CK_ASSIGN_OR_RETURN(spec.key_type, ParseKeyType(s.key_type));
  spec.name = std::move(s.name);
  spec.domains = std::move(s.domains);
  spec.challenges = std::move(s.challenges);
  spec.deploy = std::move(s.deploy_targets);
  return spec;
}

store::Version VersionFromCertificate(const std::string& name, int n, const CertInfo& info,
                                      std::vector<std::string> domains, std::string key_type,
                                      std::string directory) {
  store::Version v;
  v.certificate = name;
  v.n = n;
  v.serial = info.serial_hex;
  v.not_before = info.not_before;
  v.not_after = info.not_after;
  v.issuer = info.issuer;
  v.fingerprint_sha256 = info.sha256_fingerprint;
  v.domains = std::move(domains);
  v.key_type = std::move(key_type);
  v.directory = std::move(directory);
  return v;
}

VersionView ToView(const store::Version& v) {
  VersionView view;
  view.n = v.n;
  view.serial = v.serial;
  view.not_before = v.not_before;
  view.not_after = v.not_after;
  view.issuer = v.issuer;
  view.ca = v.ca;
  view.server = v.server;
  view.profile = v.profile;
  view.fingerprint = v.fingerprint_sha256;
  view.state = std::string(store::VersionStateName(v.state));
  view.domains = v.domains;
  view.directory = v.directory;
  view.created_at = v.created_at;
  return view;
}

AttemptView ToView(const store::Attempt& a) {
  AttemptView view;
  view.id = a.id;
  view.certificate = a.certificate;
  view.started_at = a.started_at;
  view.finished_at = a.finished_at;
  view.server = a.server;
  view.reason = a.reason;
  view.outcome = std::string(store::AttemptOutcomeName(a.outcome));
  view.error_type = a.error_type;
  view.error_detail = a.error_detail;
  view.retry_after = a.retry_after;
  view.host = a.host;
  view.version = a.version.value_or(0);
  for (const store::AttemptStep& s : a.steps) {
    StepView step;
    step.kind = s.kind;
    step.challenge = s.challenge_type;
    step.identifier = s.identifier;
    step.result = std::string(store::StepResultName(s.result));
    step.error = s.error;
    step.output = s.output;
    step.time = s.at;
    if (!s.challenge_type.empty() && (s.kind == "validation" || view.challenge.empty())) {
      view.challenge = s.challenge_type;
    }
    view.steps.push_back(std::move(step));
  }
  return view;
}

}  // namespace certkeeper::lifecycle
