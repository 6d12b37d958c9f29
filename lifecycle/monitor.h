// What monitoring sees: one consistent snapshot of the inventory's
// certificates, CAs, last runs, endpoint probes and revocation answers, built
// by the engine (Engine::Snapshot) and read by metrics (lifecycle/metrics.h),
// alerts (lifecycle/alerts.h), the status page and /healthz (cli/serve*).
// Plain values; nothing here does I/O.
#ifndef CERTKEEPER_LIFECYCLE_MONITOR_H_
#define CERTKEEPER_LIFECYCLE_MONITOR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "lifecycle/engine.h"

namespace certkeeper::lifecycle {

// One probe of an [[endpoint]] (lifecycle/prober.h).
struct ProbeView {
  std::string endpoint;     // EndpointSettings::Key()
  std::string address;
  std::string sni;
  std::string certificate;  // the inventory name it should serve; may be empty
  TimePoint at;
  bool ok = false;          // handshake completed
  std::string error;        // why not ok, or what is wrong with the served chain
  double handshake_seconds = 0;
  std::string serial;
  std::string fingerprint;  // SHA-256 of the leaf DER, hex
  std::string issuer;
  std::vector<std::string> names;
  std::optional<TimePoint> not_before;
  std::optional<TimePoint> not_after;
  bool names_match = false;
  bool chain_valid = false;
  std::string live_match;  // "yes", "no", "" (unknown)
};

// The newest revocation answer of one method for a live version
// (lifecycle/revocation.h).
struct RevocationView {
  std::string certificate;
  int version = 0;
  std::string method;  // "ocsp", "crl"
  std::string status;  // "good", "revoked", "unknown", "error"
  std::string url;
  TimePoint checked_at;
  std::optional<TimePoint> this_update;
  std::optional<TimePoint> next_update;
  std::optional<TimePoint> revoked_at;
  std::string reason;
  std::string error;
};

// One configured CA as the runs saw it.
struct CaStatusView {
  std::string ca;      // [[ca]] name; "" for the unnamed [acme] CA
  std::string server;  // directory URL
  // Reachable at the last contact; unknown (true) until a run contacted it.
  bool up = true;
  std::optional<TimePoint> last_ok_at;
  std::optional<TimePoint> last_failure_at;
  std::string last_error;
  int unreachable_runs = 0;
  std::map<std::string, int64_t> requests;  // cumulative, by kind ("newOrder", ...)
  // The furthest CA-imposed wait (Retry-After) in force for this CA, if any.
  std::optional<TimePoint> retry_after_until;
};

// The last run of a kind ("renew", "probe").
struct RunView {
  std::string kind;
  TimePoint started_at;
  TimePoint finished_at;
  std::map<std::string, int> outcomes;  // by outcome kind ("renewed", "failed", ...)
};

// One condition of one [[alert]] and where its notification stands
// (lifecycle/alerts.h keeps them).
struct AlertStateView {
  std::string alert;
  std::string event;
  std::string subject;  // certificate name, endpoint key or CA name
  std::string state;    // "firing" or "resolved" (resolved: not yet notified)
  TimePoint since;
  std::optional<TimePoint> ended_at;
  std::string detail;
  bool notified = false;  // the current state reached the target
  int failures = 0;       // failed deliveries of the current state
  std::optional<TimePoint> next_try_at;
  std::string last_error;
};

struct MonitorSnapshot {
  TimePoint now;
  std::vector<CertificateView> certificates;  // as List(), in its order
  std::vector<CaStatusView> cas;              // every configured CA, config order
  std::optional<RunView> last_renew;
  std::optional<RunView> last_probe;
  std::vector<ProbeView> probes;              // newest per endpoint
  std::vector<RevocationView> revocations;    // every stored answer
  std::vector<AlertStateView> alerts;         // every tracked alert condition
  // This host's name in a fleet (docs/fleet.md); empty on a single host.
  std::string host;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_MONITOR_H_
