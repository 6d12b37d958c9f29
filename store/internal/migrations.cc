#include "store/internal/migrations.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace certkeeper::store::internal {

namespace {

// Lists (domains, challenges, deploy targets) are JSON arrays of strings.
constexpr std::string_view kFoundation = R"sql(
CREATE TABLE schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
);
CREATE TABLE accounts (
  server TEXT NOT NULL,
  account_url TEXT NOT NULL,
  key_path TEXT NOT NULL,
  email TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (server, account_url)
);
CREATE TABLE certificates (
  name TEXT PRIMARY KEY,
  domains TEXT NOT NULL,
  key_type TEXT NOT NULL,
  challenges TEXT NOT NULL,
  deploy_targets TEXT NOT NULL,
  server TEXT NOT NULL,
  removed INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE versions (
  certificate TEXT NOT NULL REFERENCES certificates (name),
  n INTEGER NOT NULL,
  serial TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  issuer TEXT NOT NULL,
  fingerprint_sha256 TEXT NOT NULL,
  domains TEXT NOT NULL,
  key_type TEXT NOT NULL,
  directory TEXT NOT NULL,
  order_url TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL
    CHECK (state IN ('issued', 'deployed', 'deploy_failed', 'revoked')),
  revoked_at INTEGER,
  revocation_reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (certificate, n)
);
CREATE TABLE attempts (
  id INTEGER PRIMARY KEY,
  certificate TEXT NOT NULL REFERENCES certificates (name),
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  server TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL
    CHECK (outcome IN ('running', 'success', 'failed', 'deferred')),
  error_type TEXT NOT NULL DEFAULT '',
  error_detail TEXT NOT NULL DEFAULT '',
  version_n INTEGER
);
CREATE INDEX attempts_by_certificate ON attempts (certificate, id);
CREATE INDEX attempts_by_outcome ON attempts (outcome);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  certificate TEXT,
  kind TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX events_by_certificate ON events (certificate, id);
)sql";

// Scheduling state per certificate, the resumable pending order, the CA's
// Retry-After per attempt, and the steps of each attempt.
constexpr std::string_view kScheduling = R"sql(
ALTER TABLE certificates ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE certificates ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN deferred_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN ca_retry_after INTEGER;
ALTER TABLE certificates ADD COLUMN pending_order_url TEXT;
ALTER TABLE certificates ADD COLUMN pending_order_key_path TEXT;
ALTER TABLE certificates ADD COLUMN pending_order_created_at INTEGER;
ALTER TABLE attempts ADD COLUMN retry_after INTEGER;
CREATE TABLE attempt_steps (
  attempt_id INTEGER NOT NULL REFERENCES attempts (id),
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  challenge_type TEXT NOT NULL DEFAULT '',
  identifier TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL CHECK (result IN ('ok', 'failed', 'skipped')),
  error TEXT NOT NULL DEFAULT '',
  output TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (attempt_id, seq)
);
)sql";

// Local rate-limit budgets and CA-imposed waits that outlive a run.
constexpr std::string_view kRateLimits = R"sql(
CREATE TABLE request_log (
  id INTEGER PRIMARY KEY,
  server TEXT NOT NULL,
  account_url TEXT NOT NULL,
  kind TEXT NOT NULL
    CHECK (kind IN ('new-order', 'failed-validation', 'certificate')),
  request_key TEXT NOT NULL DEFAULT '',
  at INTEGER NOT NULL
);
CREATE INDEX request_log_window ON request_log (server, kind, at);
CREATE TABLE ca_limits (
  server TEXT NOT NULL,
  scope TEXT NOT NULL,
  until_at INTEGER NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (server, scope)
);
)sql";

// ACME Renewal Information (RFC 9773) per certificate, and what each CA's
// directory offers, so that a run with nothing due sends no request.
constexpr std::string_view kRenewalInfo = R"sql(
ALTER TABLE certificates ADD COLUMN ari_version INTEGER;
ALTER TABLE certificates ADD COLUMN ari_window_start INTEGER;
ALTER TABLE certificates ADD COLUMN ari_window_end INTEGER;
ALTER TABLE certificates ADD COLUMN ari_chosen_at INTEGER;
ALTER TABLE certificates ADD COLUMN ari_next_fetch_at INTEGER;
ALTER TABLE certificates ADD COLUMN ari_explanation_url TEXT NOT NULL DEFAULT '';
CREATE TABLE ca_directories (
  server TEXT PRIMARY KEY,
  renewal_info_url TEXT NOT NULL DEFAULT '',
  fetched_at INTEGER NOT NULL
);
)sql";

// Several CAs: which CA issued each version, and the whole directory document
// of each CA, reused for a day instead of fetched by every run.
constexpr std::string_view kSeveralCas = R"sql(
ALTER TABLE versions ADD COLUMN ca TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN server TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN profile TEXT NOT NULL DEFAULT '';
ALTER TABLE ca_directories ADD COLUMN document TEXT NOT NULL DEFAULT '';
)sql";

// Monitoring: endpoint probes, revocation answers, alert state, run
// summaries, and what the runs learned about each CA.
constexpr std::string_view kMonitoring = R"sql(
CREATE TABLE probes (
  id INTEGER PRIMARY KEY,
  endpoint TEXT NOT NULL,
  address TEXT NOT NULL,
  sni TEXT NOT NULL DEFAULT '',
  certificate TEXT NOT NULL DEFAULT '',
  at INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  handshake_us INTEGER NOT NULL DEFAULT 0,
  serial TEXT NOT NULL DEFAULT '',
  fingerprint TEXT NOT NULL DEFAULT '',
  issuer TEXT NOT NULL DEFAULT '',
  names TEXT NOT NULL DEFAULT '[]',
  not_before INTEGER,
  not_after INTEGER,
  names_match INTEGER NOT NULL DEFAULT 0,
  chain_valid INTEGER NOT NULL DEFAULT 0,
  live_match TEXT NOT NULL DEFAULT ''
);
CREATE INDEX probes_by_endpoint ON probes (endpoint, at);
CREATE TABLE revocations (
  certificate TEXT NOT NULL,
  version INTEGER NOT NULL,
  method TEXT NOT NULL CHECK (method IN ('ocsp', 'crl')),
  status TEXT NOT NULL CHECK (status IN ('good', 'revoked', 'unknown', 'error')),
  url TEXT NOT NULL DEFAULT '',
  checked_at INTEGER NOT NULL,
  this_update INTEGER,
  next_update INTEGER,
  revoked_at INTEGER,
  reason TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (certificate, version, method)
);
CREATE TABLE alert_state (
  alert TEXT NOT NULL,
  event TEXT NOT NULL,
  subject TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
  since INTEGER NOT NULL,
  ended_at INTEGER,
  detail TEXT NOT NULL DEFAULT '',
  notified INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  next_try_at INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (alert, event, subject)
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  outcomes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_kind ON runs (kind, id);
CREATE TABLE ca_status (
  server TEXT PRIMARY KEY,
  ca TEXT NOT NULL DEFAULT '',
  last_ok_at INTEGER,
  last_failure_at INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  unreachable_runs INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE ca_requests (
  server TEXT NOT NULL,
  kind TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (server, kind)
);
)sql";

// A fleet sharing one inventory: which host ran an attempt, the files every
// host materializes (account keys, versions, a pending order's key; private
// keys sealed by the caller), per-certificate leases, and what each host
// delivered.
constexpr std::string_view kFleet = R"sql(
ALTER TABLE attempts ADD COLUMN host TEXT NOT NULL DEFAULT '';
CREATE TABLE material (
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  sealed INTEGER NOT NULL DEFAULT 0,
  content TEXT NOT NULL,
  PRIMARY KEY (owner, name)
);
CREATE TABLE leases (
  certificate TEXT PRIMARY KEY,
  holder TEXT NOT NULL DEFAULT '',
  token TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE host_deployments (
  certificate TEXT NOT NULL,
  host TEXT NOT NULL,
  version_n INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('deployed', 'failed')),
  at INTEGER NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (certificate, host)
);
)sql";

constexpr std::array<Migration, 7> kMigrations{{
    {1, "foundation", kFoundation},
    {2, "scheduling and attempt steps", kScheduling},
    {3, "rate limits", kRateLimits},
    {4, "renewal information", kRenewalInfo},
    {5, "several CAs", kSeveralCas},
    {6, "monitoring", kMonitoring},
    {7, "fleet", kFleet},
}};


Status NewerThanCode(const Database& db, int version) {
  return Status(ErrorCode::kFailedPrecondition,
                "the inventory has schema version " + std::to_string(version) +
                    " but this certkeeper knows only up to " +
                    std::to_string(LatestSchemaVersion()))
      .Where(db.path())
      .Hint(db.dialect() == Dialect::kSqlite
                ? "a newer certkeeper wrote this state directory: run that version (or "
                  "newer), or restore a backup taken before the upgrade"
                : "a newer certkeeper migrated the shared inventory: upgrade certkeeper on "
                  "this host to that version (or newer)");
}

// Applies one migration inside a write transaction; does nothing when another
// process applied it first.
Status Apply(Database& db, const Migration& migration, TimePoint now) {
  std::string operation = "migrate the inventory to schema version " +
                          std::to_string(migration.version) + " (" +
                          std::string(migration.name) + ")";
  CK_RETURN_IF_ERROR(db.Begin(TxKind::kWrite));
  auto body = [&]() -> Status {
    CK_RETURN_IF_ERROR(db.LockSchema());
    CK_ASSIGN_OR_RETURN(int current, ReadSchemaVersion(db));
    if (current > LatestSchemaVersion()) return NewerThanCode(db, current);
    if (current >= migration.version) return Status::Ok();
    if (current != migration.version - 1) {
      return Status(ErrorCode::kInternal, operation + ": database is at version " +
                                              std::to_string(current))
          .Where(db.path());
    }
    CK_RETURN_IF_ERROR(db.Exec(db.SchemaSql(migration.sql), operation));
    CK_ASSIGN_OR_RETURN(
        Statement record,
        db.Prepare("INSERT INTO schema_migrations (version, name, applied_at) "
                   "VALUES (?, ?, ?)",
                   operation));
    record.BindAll(migration.version, migration.name, now);
    return record.Run();
  };
  Status status = body();
  if (!status.ok()) {
    db.RollBackBestEffort("ROLLBACK");
    return status;
  }
  status = db.Commit(Durability::kSynced, operation);
  if (!status.ok()) db.RollBackBestEffort("ROLLBACK");
  return status;
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations.back().version; }

Result<int> ReadSchemaVersion(Database& db) {
  CK_ASSIGN_OR_RETURN(std::vector<std::string> tables, db.Tables());
  if (std::find(tables.begin(), tables.end(), "schema_migrations") == tables.end()) {
    if (!tables.empty()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "the database has tables but no schema_migrations table: it is "
                    "not a certkeeper inventory")
          .Where(db.path())
          .Hint(db.dialect() == Dialect::kSqlite
                    ? "point --state-dir at a certkeeper state directory, or move this file away"
                    : "give [store] url a database of its own for certkeeper");
    }
    return 0;
  }
  CK_ASSIGN_OR_RETURN(
      Statement stmt,
      db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                 "read the schema version"));
  CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<int>(stmt.Int(0)) : 0;
}

Status Migrate(Database& db, TimePoint now) {
  CK_ASSIGN_OR_RETURN(int current, ReadSchemaVersion(db));
  if (current > LatestSchemaVersion()) return NewerThanCode(db, current);
  for (const Migration& migration : kMigrations) {
    if (migration.version <= current) continue;
    CK_RETURN_IF_ERROR(Apply(db, migration, now));
  }
  return Status::Ok();
}

}  // namespace certkeeper::store::internal
