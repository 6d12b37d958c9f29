// Monitoring snapshots for the serve tests: certificates in chosen states at
// chosen times, without an inventory.
#ifndef CERTKEEPER_TESTS_UNIT_CLI_SERVE_FIXTURES_H_
#define CERTKEEPER_TESTS_UNIT_CLI_SERVE_FIXTURES_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "lifecycle/monitor.h"

namespace certkeeper::cli::testing {

inline TimePoint Day(int n) {
  return FromUnixSeconds(1798761600 + int64_t{n} * 86400);  // 2027-01-01 + n days
}

// A certificate with a live version issued at day `issued` for 90 days,
// renewal time at issued + 60 days.
inline lifecycle::CertificateView Cert(const std::string& name, const std::string& status,
                                       int issued, std::vector<std::string> domains = {}) {
  lifecycle::CertificateView c;
  c.name = name;
  c.status = status;
  c.key_type = "ec256";
  c.domains = domains.empty() ? std::vector<std::string>{name + ".example.com"} : domains;
  lifecycle::VersionView v;
  v.n = 1;
  v.serial = "01";
  v.not_before = Day(issued);
  v.not_after = Day(issued + 90);
  v.issuer = "CN=Test Intermediate";
  c.live = v;
  c.renew_at = Day(issued + 60);
  c.next_attempt = Day(issued + 60);
  c.next_attempt_reason = "renewal time";
  return c;
}

inline lifecycle::MonitorSnapshot Snapshot(std::vector<lifecycle::CertificateView> certs,
                                           TimePoint now = Day(0)) {
  lifecycle::MonitorSnapshot s;
  s.now = now;
  s.certificates = std::move(certs);
  return s;
}

}  // namespace certkeeper::cli::testing

#endif  // CERTKEEPER_TESTS_UNIT_CLI_SERVE_FIXTURES_H_
