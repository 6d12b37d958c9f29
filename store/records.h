// The rows of the inventory, as plain values. Every backend (SQLite now,
// PostgreSQL later) stores and returns exactly these; no backend type leaks out.
//
// Times are certkeeper::TimePoint and are stored as whole seconds since the Unix
// epoch: sub-second parts are dropped on the way in.
#ifndef CERTKEEPER_STORE_RECORDS_H_
#define CERTKEEPER_STORE_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::store {

// An ACME account (RFC 8555 §7.1.2) registered with one server.
struct Account {
  std::string server;       // ACME directory URL
  std::string account_url;  // the account's URL, used as "kid" (RFC 8555 §6.2)
  std::string key_path;     // the account key file under STATE/accounts/
  std::string email;        // may be empty
  std::string status;       // "valid", "deactivated" or "revoked"
  TimePoint created_at;     // set by the inventory on first insert
};

// What the user asked to be managed; changed only by `issue` and the config.
struct CertificateSpec {
  std::string name;  // validated by ValidateCertificateName (base/names.h)
  std::vector<std::string> domains;         // ordered; the first is the subject
  std::string key_type;                     // "ec256", "rsa2048", ...
  std::vector<std::string> challenges;      // ordered failover list
  std::vector<std::string> deploy_targets;  // names of [[deploy]] entries
  std::string server;                       // ACME directory URL

  friend bool operator==(const CertificateSpec&, const CertificateSpec&) = default;
};

// When the engine may try a certificate next, and why it is waiting. Written by
// the engine after every attempt; shown to users by `list` and `show`.
struct Schedule {
  std::optional<TimePoint> next_attempt_at;  // unset: due as soon as renewal says so
  int consecutive_failures = 0;
  // For people: "backoff", "rate limit until ...", "budget: ...", "ari window".
  // Empty when not deferred.
  std::string deferred_reason;
  // The CA's Retry-After (RFC 8555 §6.6). Unlike next_attempt_at, --force never
  // overrides it.
  std::optional<TimePoint> ca_retry_after;
};

// An order created but not finished, so that a run killed mid-issuance resumes
// it instead of creating a new one (and spending rate limit budget).
struct PendingOrder {
  std::string order_url;
  std::string key_path;  // the certificate key generated for this order
  TimePoint created_at;
};

// The CA's renewal information (RFC 9773) for one issued version, kept so
// that a timer run asks the CA again only when next_fetch_at has come (§4.3)
// and picks the same renewal time inside an unchanged window (§4.2).
struct RenewalInfoRecord {
  int version = 0;  // Version::n the window belongs to
  // The suggested window and the time chosen inside it; unset until a fetch
  // succeeded (a failed fetch still moves next_fetch_at).
  std::optional<TimePoint> window_start;
  std::optional<TimePoint> window_end;
  std::optional<TimePoint> chosen_at;
  TimePoint next_fetch_at;
  std::string explanation_url;  // may be empty
};

struct Certificate {
  CertificateSpec spec;
  Schedule schedule;
  std::optional<RenewalInfoRecord> renewal_info;
  std::optional<PendingOrder> pending_order;
  bool removed = false;  // kept for history, no longer renewed
  TimePoint created_at;  // set by the inventory
  TimePoint updated_at;  // set by the inventory on every change
};

enum class VersionState {
  kIssued,        // files complete and recorded, not yet deployed
  kDeployed,      // installed (and verified) by every deploy target
  kDeployFailed,  // a deploy target failed; the previous version stayed live
  kRevoked,       // revoked at the CA (RFC 8555 §7.6)
};

// One issued certificate. Its files live in `directory` (STATE/archive/<name>/<n>).
struct Version {
  std::string certificate;  // CertificateSpec::name
  int n = 0;                // 1, 2, ... per certificate, no gaps
  std::string serial;       // hex
  TimePoint not_before;
  TimePoint not_after;
  std::string issuer;              // issuer distinguished name
  std::string fingerprint_sha256;  // hex of the leaf's DER
  std::vector<std::string> domains;
  std::string key_type;
  std::string directory;
  std::string order_url;
  VersionState state = VersionState::kIssued;
  std::optional<TimePoint> revoked_at;
  std::string revocation_reason;  // RFC 5280 §5.3.1 name, e.g. "keyCompromise"
  TimePoint created_at;           // set by the inventory
  // The CA that issued it: its [[ca]] name (empty for the unnamed [acme] CA
  // and for versions recorded before several CAs) and directory URL (empty
  // when unknown: an imported or an older version).
  std::string ca;
  std::string server;
  std::string profile;  // the profile its order asked for; empty: the CA's default
};

enum class AttemptOutcome { kRunning, kSuccess, kFailed, kDeferred };

enum class StepResult { kOk, kFailed, kSkipped };

// One step of an attempt: a self-check, a validation, finalize, a deploy, ...
struct AttemptStep {
  int seq = 0;  // 1, 2, ... within the attempt; assigned by AddAttemptStep
  TimePoint at;
  // "self-check", "validation", "order", "finalize", "download", "deploy",
  // "verify", "hook", ...
  std::string kind;
  std::string challenge_type;  // "http-01", ... or empty
  std::string identifier;      // DNS name, deploy target name, ... or empty
  StepResult result = StepResult::kOk;
  std::string error;
  // Output of a hook or DNS provider; cut to kMaxStepOutputBytes when stored.
  std::string output;
};

inline constexpr size_t kMaxStepOutputBytes = 16 * 1024;
// Every free-text column is stored as valid UTF-8 (invalid sequences become
// U+FFFD) and cut, on a character boundary and marked, to at most:
//  - kMaxStoredTextBytes: error details, step errors, event messages, deferral
//    and CA-limit reasons (a CA's problem detail can be of any length);
//  - kMaxStoredNameBytes: error types and step identifiers;
//  - kMaxStoredUrlBytes: the renewal-information explanation URL, which is
//    dropped rather than cut when longer, since a cut URL points elsewhere.
inline constexpr size_t kMaxStoredTextBytes = 8 * 1024;
inline constexpr size_t kMaxStoredNameBytes = 1024;
inline constexpr size_t kMaxStoredUrlBytes = 2048;

// One run of the engine for one certificate: issuance, renewal or a deferral.
struct Attempt {
  int64_t id = 0;
  std::string certificate;
  TimePoint started_at;
  std::optional<TimePoint> finished_at;  // unset while running
  std::string server;
  std::string reason;  // "not yet issued", "expires in 10d", "forced", ...
  AttemptOutcome outcome = AttemptOutcome::kRunning;
  // ACME problem type (urn:ietf:params:acme:error:...) or a certkeeper error
  // code name (ErrorCodeName); empty on success.
  std::string error_type;
  std::string error_detail;
  std::optional<TimePoint> retry_after;
  std::optional<int> version;  // the Version::n this attempt produced
  std::vector<AttemptStep> steps;  // in seq order
  std::string host;  // the host that ran it (Config::host); may be empty
};

// How an attempt ended; see Inventory::FinishAttempt.
struct AttemptEnd {
  TimePoint finished_at;
  AttemptOutcome outcome = AttemptOutcome::kSuccess;
  std::string error_type;
  std::string error_detail;
  std::optional<TimePoint> retry_after;
  std::optional<int> version;
};

// The audit trail: one row per thing a user may later ask "when and why".
struct Event {
  int64_t id = 0;  // assigned by the inventory
  TimePoint at;
  std::optional<std::string> certificate;
  std::string kind;  // "issued", "deployed", "revoked", "removed", ...
  std::string message;
};

// Requests that count against a CA's rate limits, for local budgets.
enum class RequestKind { kNewOrder, kFailedValidation, kCertificate };

struct RequestRecord {
  std::string server;
  std::string account_url;
  RequestKind kind = RequestKind::kNewOrder;
  std::string key;  // identifier or registered domain; may be empty
  TimePoint at;
};

// A Retry-After the CA imposed on a whole scope, honoured across runs.
struct CaLimit {
  std::string server;
  std::string scope;  // AccountScope(...) or CertificateScope(...)
  TimePoint until;
  std::string reason;
};

// What the inventory remembers of a CA's directory (RFC 8555 §7.1.1) between
// runs, so that a run with nothing to do needs no request to learn whether
// the CA offers renewal information.
struct CaDirectory {
  std::string server;
  std::string renewal_info_url;  // empty: the CA offers none
  TimePoint fetched_at;
  // The directory's JSON as the CA sent it (RFC 8555 §7.1.1), reused instead
  // of a fetch while fresh; empty when not kept.
  std::string document;
};

std::string AccountScope(std::string_view account_url);   // "account:<url>"
std::string CertificateScope(std::string_view name);      // "certificate:<name>"

// Stable lower-case names, stored in the database and printed in --json output.
std::string_view VersionStateName(VersionState state);        // "issued", ...
std::string_view AttemptOutcomeName(AttemptOutcome outcome);  // "running", ...
std::string_view StepResultName(StepResult result);           // "ok", ...
std::string_view RequestKindName(RequestKind kind);  // "new-order", ...
Result<VersionState> ParseVersionState(std::string_view name);
Result<AttemptOutcome> ParseAttemptOutcome(std::string_view name);
Result<StepResult> ParseStepResult(std::string_view name);
Result<RequestKind> ParseRequestKind(std::string_view name);

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_RECORDS_H_
