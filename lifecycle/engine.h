// The lifecycle engine: decides what is due, issues with challenge failover,
// records every attempt, deploys, and reports. The CLI is one user of it; a
// daemon or another program could drive it the same way.
//
// Contract:
//  - Mutating operations (Issue, Renew, Revoke, Deploy, account changes) take
//    the run lease first (store/lease.h; by default the state directory's run
//    lock); a second process gets kLocked, before any request to the CA.
//  - Nothing is lost: a new version's files are written completely under
//    archive/<name>/<n>/ before the version is recorded, and live/<name> is
//    switched to it only after that; a failure leaves the previous version live.
//  - Every attempt is recorded with its steps, also when it fails.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/http.h"
#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/config.h"
#include "lifecycle/import_plan.h"

namespace certkeeper::lifecycle {

struct EngineParts;  // lifecycle/engine_parts.h

struct StepView {
  std::string kind;  // "order", "self-check", "validation", "deploy", ...
  std::string challenge;
  std::string identifier;
  std::string result;  // "ok", "failed", "skipped"
  std::string error;
  std::string output;
  TimePoint time;
};

struct AttemptView {
  int64_t id = 0;
  std::string certificate;
  TimePoint started_at;
  std::optional<TimePoint> finished_at;
  std::string server;
  std::string reason;   // why it was attempted
  std::string outcome;  // running, success, failed, deferred
  std::string error_type;
  std::string error_detail;
  std::optional<TimePoint> retry_after;
  std::vector<StepView> steps;
  std::string challenge;  // the challenge type that last succeeded or was tried
  // The host that ran it (Config::host; empty when recorded before hosts
  // were), and the version it produced or delivered (0: none).
  std::string host;
  int version = 0;
};

struct VersionView {
  int n = 0;
  std::string serial;
  TimePoint not_before;
  TimePoint not_after;
  std::string issuer;
  std::string fingerprint;
  std::string state;  // issued, deployed, deploy_failed, revoked
  std::vector<std::string> domains;
  std::string directory;
  TimePoint created_at;
  // The CA that issued it: its [[ca]] name (empty for the unnamed [acme] CA)
  // and directory URL (empty when unknown: imported or recorded before).
  std::string ca;
  std::string server;
  std::string profile;  // the ACME profile its order asked for; empty: the default
};

struct CertificateView {
  std::string name;
  std::vector<std::string> domains;
  std::string key_type;
  std::vector<std::string> challenges;
  std::vector<std::string> deploy;
  std::string status;  // valid, due, failing, expired, pending
  std::string status_reason;
  std::optional<VersionView> live;
  std::optional<TimePoint> next_attempt;
  std::string next_attempt_reason;
  std::optional<AttemptView> last_attempt;
  // When renewal becomes due (the renewal time the schedule, ARI or the
  // lifetime rule gives); unset without a live version.
  std::optional<TimePoint> renew_at;
  int consecutive_failures = 0;
  // When the newest successful attempt finished; unset when none did.
  std::optional<TimePoint> last_success;
  // The newest version when it is newer than the live one (a delivery that
  // failed or was rolled back; state deploy_failed): what did not go live.
  std::optional<VersionView> newest;
  // The CA's renewal information (RFC 9773) for the live version, when it
  // offers it and a fetch succeeded.
  struct RenewalInfo {
    TimePoint window_start;
    TimePoint window_end;
    TimePoint renew_at;  // the time chosen inside the window
    TimePoint next_fetch;
    std::string explanation_url;
  };
  std::optional<RenewalInfo> renewal_info;
  std::vector<VersionView> versions;  // Show() only, newest first
  std::string live_directory;         // STATE/live/<name>
  // Show() only: the pins of the live version's key and, with next_key on,
  // of the staged next key (lifecycle/next_key.h). spki_sha256 is the base64
  // pin-sha256 (RFC 7469), tlsa the hex TLSA 3 1 1 data (RFC 6698).
  struct KeyPinsView {
    std::string spki_sha256;
    std::string tlsa;
  };
  std::optional<KeyPinsView> current_key;
  std::optional<KeyPinsView> next_key;
  // Show() only: why a pin above is missing although it applies; empty when
  // nothing failed.
  std::string key_pins_error;
  bool has_key_pins = false;  // Show() looked the pins up (List() does not)
  // A fleet only (several hosts share the inventory, docs/fleet.md); empty
  // and false on a single host.
  bool fleet = false;
  // The host of the attempt that produced the live version.
  std::string renewed_by;
  // What each host delivered, by host (store::HostDeployment).
  struct HostView {
    std::string host;
    int version = 0;
    std::string state;  // "deployed" or "failed"
    TimePoint at;
    std::string error;
  };
  std::vector<HostView> hosts;
};

struct RenewOptions {
  bool all = false;
  std::vector<std::string> names;
  bool force = false;    // ignore backoff and budgets for named certificates
  bool dry_run = false;  // report only; no request that changes state
  int jobs = 1;
};

struct CertificateOutcome {
  std::string name;
  // "renewed", "issued", "deployed", "not-due", "deferred", "failed",
  // "would-renew"; in a fleet also "skipped" (another host holds the claim).
  std::string outcome;
  std::string reason;
  Status error;
  std::optional<VersionView> version;
  // renew only (lifecycle/planner.h): the plan's decision ("deploy-pending",
  // "not-due", "due", "deferred", "blocked"), when it becomes due or the hold
  // ends, and what holds it ("budget: ...", "ca-limit:account", ...).
  std::string decision;
  std::optional<TimePoint> until;
  std::string limit;
  // renew in a fleet: the host whose claim on the certificate kept this host
  // from working on it (outcome "skipped"); empty otherwise.
  std::string held_by;
};

struct RunReport {
  std::vector<CertificateOutcome> certificates;
  // Certificates skipped because another host (or another job) held their
  // claim: a lease conflict, not a failure.
  int lease_conflicts = 0;
  bool any_failed() const;
};

struct AccountView {
  std::string server;
  std::string url;
  std::string status;
  std::string email;
  std::string key_path;
  std::string key_type;
};

struct MonitorSnapshot;  // lifecycle/monitor.h
struct ProbeView;
struct RevocationView;

struct CheckFinding {
  std::string certificate;
  std::string severity;  // "error", "warning"
  std::string message;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // The default wiring (DefaultParts, lifecycle/engine_parts.h): opens (and
  // migrates) the SQLite inventory under config.state_dir, the state
  // directory's run lock as the lease, libcurl to the CA.
  static Result<std::unique_ptr<Engine>> Open(const Config& config, Clock* clock);
  // The same, with every request to the CA sent through `http` instead of a
  // libcurl transport built from config.acme (tests inject a scripted CA here).
  static Result<std::unique_ptr<Engine>> Open(const Config& config, Clock* clock,
                                              std::shared_ptr<acme::HttpClient> http);
  // An engine built from the given parts (every one set, else
  // kInvalidArgument naming the missing one). config.state_dir still holds
  // the keys, archive/ and live/; it is prepared here.
  static Result<std::unique_ptr<Engine>> Assemble(Config config, EngineParts parts);

  // Adds `spec` to the inventory (or updates it) and issues now, regardless of
  // whether it is due.
  virtual Result<CertificateOutcome> Issue(const CertificateSpec& spec) = 0;
  virtual Result<RunReport> Renew(const RenewOptions& options) = 0;
  virtual Result<std::vector<CertificateView>> List() = 0;
  virtual Result<CertificateView> Show(const std::string& name) = 0;
  virtual Result<std::vector<AttemptView>> History(const std::string& name) = 0;
  // reason: RFC 5280 reason name (unspecified, keyCompromise, superseded,
  // cessationOfOperation, affiliationChanged) or code.
  virtual Status Revoke(const std::string& name, const std::string& reason) = 0;
  virtual Result<CertificateOutcome> Deploy(const std::string& name) = 0;
  virtual Result<std::vector<CheckFinding>> Check() = 0;
  virtual Result<std::vector<std::string>> Import(const std::vector<std::string>& paths) = 0;
  // Writes what `import --from` found (import_plan.h): each account for its
  // CA unless the inventory has one, and each certificate not in the
  // inventory yet with every version, the last one live. Sends nothing to a
  // CA and runs no deploy target.
  virtual Result<ImportReport> ApplyImport(const ImportPlan& plan) = 0;

  // Monitoring (lifecycle/monitor.h). Snapshot reads only: no lease, no
  // request, nothing written.
  virtual Result<MonitorSnapshot> Snapshot() = 0;
  // Probes every [[endpoint]] and records the results; then, under the run
  // lease when it is free, evaluates the alerts and rewrites the metrics
  // textfile. A probe that fails is a result, not an error.
  virtual Result<std::vector<ProbeView>> Probe() = 0;
  // Asks OCSP and CRL about every live certificate whose stored answer is
  // stale (force: every one) and records the answers; a revoked one becomes
  // due. Returns the current answers.
  virtual Result<std::vector<RevocationView>> CheckRevocation(bool force) = 0;

  // Requests sent to the CA so far by this engine, by kind ("newOrder",
  // "challenge", ...): for benchmarks and diagnostics.
  virtual std::map<std::string, int64_t> RequestCounts() = 0;

  virtual Result<AccountView> RegisterAccount() = 0;
  virtual Result<AccountView> ShowAccount() = 0;
  virtual Result<AccountView> RolloverAccountKey() = 0;
  virtual Result<AccountView> DeactivateAccount() = 0;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_H_
