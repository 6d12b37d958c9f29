#include "lifecycle/config.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace certkeeper::lifecycle {

const CertificateSpec* Config::FindCertificate(const std::string& name) const {
  for (const CertificateSpec& c : certificates) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const hooks::TargetConfig* Config::FindDeploy(const std::string& name) const {
  for (const hooks::TargetConfig& d : deploy) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::vector<AcmeSettings> Config::Cas() const {
  if (!cas.empty()) return cas;
  if (acme.server.empty()) return {};
  return {acme};
}

const AcmeSettings* Config::FindCa(const std::string& name) const {
  if (cas.empty()) return name.empty() && !acme.server.empty() ? &acme : nullptr;
  for (const AcmeSettings& ca : cas) {
    if (ca.name == name) return &ca;
  }
  return nullptr;
}

std::vector<const AcmeSettings*> Config::CasFor(const CertificateSpec& spec) const {
  std::vector<const AcmeSettings*> out;
  if (cas.empty()) {
    if (!acme.server.empty()) out.push_back(&acme);
    return out;
  }
  if (spec.cas.empty()) {
    for (const AcmeSettings& ca : cas) out.push_back(&ca);
    return out;
  }
  for (const std::string& name : spec.cas) {
    if (const AcmeSettings* ca = FindCa(name)) out.push_back(ca);
  }
  return out;
}

bool Config::DeliversHere(const CertificateSpec& spec) const {
  return spec.hosts.empty() ||
         std::find(spec.hosts.begin(), spec.hosts.end(), host) != spec.hosts.end();
}

BudgetSettings EffectiveBudgets(const AcmeSettings& ca, const RenewalSettings& renewal) {
  if (ca.budgets) return *ca.budgets;
  if (renewal.budgets) return *renewal.budgets;
  // https://letsencrypt.org/docs/rate-limits/ and
  // https://letsencrypt.org/docs/staging-environment/ (staging's are higher).
  if (ca.server == kLetsEncryptProduction) return BudgetSettings{};
  if (ca.server == kLetsEncryptStaging) return BudgetSettings{1500, 200, 30000, 30000};
  return BudgetSettings{0, 0, 0, 0};
}

std::string DefaultStateDir() {
  if (geteuid() == 0) return "/var/lib/certkeeper";
  const char* xdg = getenv("XDG_STATE_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/certkeeper";
  const char* home = getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.local/state/certkeeper";
}

std::string DefaultHostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace certkeeper::lifecycle
