#include "lifecycle/config.h"

#include <unistd.h>

#include <cstdlib>

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

std::string DefaultStateDir() {
  if (geteuid() == 0) return "/var/lib/certkeeper";
  const char* xdg = getenv("XDG_STATE_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/certkeeper";
  const char* home = getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.local/state/certkeeper";
}

}  // namespace certkeeper::lifecycle
