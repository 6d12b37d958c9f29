// MonitorStore: what certkeeper observed about its certificates beyond the
// renewals themselves, kept between runs so that metrics, the status page and
// alerts see the same facts as the run that observed them:
//   - endpoint probes (history of what each TLS termination point served);
//   - revocation answers (OCSP and CRL) per issued version;
//   - alert conditions and their notification state;
//   - a summary of each run, and each CA's reachability and request counters.
//
// Part of store::Inventory (store/inventory.h), whose general contract
// (atomicity, thread-safety, kNotFound vs kIo) applies to every method here.
#ifndef CERTKEEPER_STORE_MONITOR_STORE_H_
#define CERTKEEPER_STORE_MONITOR_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::store {

// One TLS connection to an [[endpoint]] and what it served.
struct ProbeRecord {
  int64_t id = 0;          // set by AddProbe
  std::string endpoint;    // the endpoint's key: "address" or "address/sni"
  std::string address;     // host:port
  std::string sni;         // may be empty
  std::string certificate; // the inventory name it should serve; may be empty
  TimePoint at;
  bool ok = false;         // connected and completed the handshake
  std::string error;       // why not ok, or why the served chain is bad
  int64_t handshake_us = 0;
  // The served leaf (empty / unset when no handshake).
  std::string serial;       // lower-case hex
  std::string fingerprint;  // SHA-256 of the DER, lower-case hex
  std::string issuer;
  std::vector<std::string> names;  // the leaf's DNS and IP SANs
  std::optional<TimePoint> not_before;
  std::optional<TimePoint> not_after;
  bool names_match = false;  // the SNI (or address host) is covered by names
  bool chain_valid = false;  // verified against the system or configured roots
  // "yes" / "no" whether it is the live version of `certificate`; "" when no
  // certificate is named or it has no live version.
  std::string live_match;
};

// A revocation answer for one issued version.
struct RevocationRecord {
  std::string certificate;
  int version = 0;
  std::string method;  // "ocsp" or "crl"
  std::string status;  // "good", "revoked", "unknown" (responder said so), "error"
  std::string url;     // responder or distribution point asked
  TimePoint checked_at;
  std::optional<TimePoint> this_update;
  std::optional<TimePoint> next_update;  // the answer may be reused until then
  std::optional<TimePoint> revoked_at;
  std::string reason;  // RFC 5280 reason name when revoked
  std::string error;   // when status is "error"
};

// Of a RevocationRecord, what its freshness depends on.
struct RevocationState {
  std::string certificate;
  int version = 0;
  std::string method;
  std::string status;
  TimePoint checked_at;
  std::optional<TimePoint> next_update;
};

// One condition of one [[alert]] (e.g. ("ops-mail", "expiring", "web")) and
// where its notification stands.
struct AlertState {
  std::string alert;    // the [[alert]] name
  std::string event;    // "expiring", "renewal-failing", ...
  std::string subject;  // certificate name, endpoint key or CA name
  std::string state;    // "firing" or "resolved"
  TimePoint since;      // when the condition started
  std::optional<TimePoint> ended_at;  // when it ended (state "resolved")
  std::string detail;   // for people: what the condition is
  // The current state was delivered to the target.
  bool notified = false;
  int failures = 0;     // deliveries of the current state that failed
  std::optional<TimePoint> next_try_at;  // backoff after a failed delivery
  std::string last_error;
};

// The summary of one run of `renew` or `probe`.
struct RunRecord {
  int64_t id = 0;     // set by AddRun
  std::string kind;   // "renew", "probe"
  TimePoint started_at;
  TimePoint finished_at;
  std::map<std::string, int> outcomes;  // "renewed" -> 3, "failed" -> 1, ...
};

// What the runs learned about one CA.
struct CaStatusRecord {
  std::string ca;      // [[ca]] name; "" for the unnamed [acme] CA
  std::string server;  // directory URL
  std::optional<TimePoint> last_ok_at;       // last request that got an answer
  std::optional<TimePoint> last_failure_at;  // last time it could not be reached
  std::string last_error;
  int unreachable_runs = 0;  // consecutive runs that could not reach it
};

class MonitorStore {
 public:
  virtual ~MonitorStore() = default;

  // Probes
  virtual Result<int64_t> AddProbe(const ProbeRecord& probe) = 0;
  // The newest probe of each endpoint, ordered by endpoint.
  virtual Result<std::vector<ProbeRecord>> LatestProbes() = 0;
  // The probes of one endpoint, newest first, at most `limit`.
  virtual Result<std::vector<ProbeRecord>> ListProbes(std::string_view endpoint, int limit) = 0;
  // Deletes probes older than `before`, always keeping each endpoint's newest.
  virtual Result<int64_t> PruneProbes(TimePoint before) = 0;

  // Revocation answers, one per (certificate, version, method): Put replaces.
  virtual Status PutRevocation(const RevocationRecord& record) = 0;
  virtual Result<std::vector<RevocationRecord>> ListRevocations() = 0;
  // What decides whether a stored answer is fresh (RevocationState), of
  // every answer, in the order of ListRevocations: a timer run over thousands
  // of certificates decodes no URL or error text.
  virtual Result<std::vector<RevocationState>> ListRevocationStates() = 0;

  // Alert state, one per (alert, event, subject): Put replaces.
  virtual Status PutAlertState(const AlertState& state) = 0;
  virtual Status DeleteAlertState(std::string_view alert, std::string_view event,
                                  std::string_view subject) = 0;
  virtual Result<std::vector<AlertState>> ListAlertStates() = 0;

  // Runs
  virtual Result<int64_t> AddRun(const RunRecord& run) = 0;
  // The newest run of `kind`; nullopt when there was none.
  virtual Result<std::optional<RunRecord>> LatestRun(std::string_view kind) = 0;

  // CA status, one per server: Put replaces.
  virtual Status PutCaStatus(const CaStatusRecord& status) = 0;
  virtual Result<std::vector<CaStatusRecord>> ListCaStatus() = 0;
  // Adds to the cumulative request counters of `server` ("newOrder" -> 2, ...).
  virtual Status AddCaRequests(std::string_view server,
                               const std::map<std::string, int64_t>& counts) = 0;
  // server -> kind -> count since the inventory was created.
  virtual Result<std::map<std::string, std::map<std::string, int64_t>>> CaRequestTotals() = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_MONITOR_STORE_H_
