// SqlInventory: MonitorStore (store/monitor_store.h): endpoint probes,
// revocation answers, alert state, run summaries and CA status.
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "store/internal/rows.h"
#include "store/internal/sql.h"
#include "store/sql_inventory.h"

namespace certkeeper::store {

using internal::Statement;

namespace {

// Error texts may come from peers (a TLS alert, a responder's body).
constexpr size_t kMaxErrorText = 2048;

constexpr std::string_view kProbeColumns =
    "id, endpoint, address, sni, certificate, at, ok, error, handshake_us, serial, "
    "fingerprint, issuer, names, not_before, not_after, names_match, chain_valid, live_match";

Result<ProbeRecord> ReadProbe(const Statement& row) {
  ProbeRecord p;
  p.id = row.Int(0);
  p.endpoint = row.Text(1);
  p.address = row.Text(2);
  p.sni = row.Text(3);
  p.certificate = row.Text(4);
  p.at = row.Time(5);
  p.ok = row.Int(6) != 0;
  p.error = row.Text(7);
  p.handshake_us = row.Int(8);
  p.serial = row.Text(9);
  p.fingerprint = row.Text(10);
  p.issuer = row.Text(11);
  CK_ASSIGN_OR_RETURN(p.names, internal::DecodeList(row.TextView(12), "probes.names"));
  p.not_before = row.OptionalTime(13);
  p.not_after = row.OptionalTime(14);
  p.names_match = row.Int(15) != 0;
  p.chain_valid = row.Int(16) != 0;
  p.live_match = row.Text(17);
  return p;
}

Status ReadProbes(Statement& stmt, std::vector<ProbeRecord>& out) {
  while (true) {
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status::Ok();
    CK_ASSIGN_OR_RETURN(ProbeRecord p, ReadProbe(stmt));
    out.push_back(std::move(p));
  }
}

std::string EncodeOutcomes(const std::map<std::string, int>& outcomes) {
  return nlohmann::json(outcomes).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::map<std::string, int>> DecodeOutcomes(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return Status(ErrorCode::kProtocol, "runs.outcomes is not a JSON object");
  }
  std::map<std::string, int> out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_number_integer()) {
      return Status(ErrorCode::kProtocol, "runs.outcomes holds a value that is not a count");
    }
    out[k] = v.get<int>();
  }
  return out;
}

}  // namespace

Result<int64_t> SqlInventory::AddProbe(const ProbeRecord& p) {
  constexpr std::string_view kOp = "record the probe";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(p.endpoint, "endpoint", kOp));
  int64_t id = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO probes (endpoint, address, sni, certificate, at, ok, error, "
                     "handshake_us, serial, fingerprint, issuer, names, not_before, not_after, "
                     "names_match, chain_valid, live_match) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                     kOp));
    stmt.BindAll(p.endpoint, p.address, p.sni, p.certificate, p.at, p.ok ? 1 : 0,
                 internal::StoredText(p.error, kMaxErrorText), p.handshake_us, p.serial,
                 p.fingerprint, internal::StoredText(p.issuer, 1024),
                 internal::EncodeList(p.names), p.not_before, p.not_after,
                 p.names_match ? 1 : 0, p.chain_valid ? 1 : 0, p.live_match);
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status(ErrorCode::kIo, std::string(kOp) + ": no id returned");
    id = stmt.Int(0);
    return Status::Ok();
  }));
  return id;
}

Result<std::vector<ProbeRecord>> SqlInventory::LatestProbes() {
  std::vector<ProbeRecord> out;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT " + std::string(kProbeColumns) +
                         " FROM probes WHERE id IN (SELECT MAX(id) FROM probes GROUP BY "
                         "endpoint) ORDER BY endpoint",
                     "list the latest probes"));
    return ReadProbes(stmt, out);
  }));
  return out;
}

Result<std::vector<ProbeRecord>> SqlInventory::ListProbes(std::string_view endpoint,
                                                             int limit) {
  std::vector<ProbeRecord> out;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT " + std::string(kProbeColumns) +
                                         " FROM probes WHERE endpoint = ? ORDER BY id DESC "
                                         "LIMIT ?",
                                     "list the probes"));
    stmt.BindAll(endpoint, limit);
    return ReadProbes(stmt, out);
  }));
  return out;
}

Result<int64_t> SqlInventory::PruneProbes(TimePoint before) {
  int64_t pruned = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("DELETE FROM probes WHERE at < ? AND id NOT IN "
                     "(SELECT MAX(id) FROM probes GROUP BY endpoint)",
                     "prune the probes"));
    stmt.Bind(1, before);
    CK_RETURN_IF_ERROR(stmt.Run());
    pruned = db_->Changes();
    return Status::Ok();
  }));
  return pruned;
}

Status SqlInventory::PutRevocation(const RevocationRecord& r) {
  constexpr std::string_view kOp = "record the revocation answer";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(r.certificate, "certificate", kOp));
  if (r.method != "ocsp" && r.method != "crl") {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(kOp) + ": method must be ocsp or crl, not '" + r.method + "'");
  }
  if (r.status != "good" && r.status != "revoked" && r.status != "unknown" &&
      r.status != "error") {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(kOp) + ": unknown status '" + r.status + "'");
  }
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO revocations (certificate, version, method, "
                     "status, url, checked_at, this_update, next_update, revoked_at, reason, "
                     "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (certificate, version, method) DO UPDATE SET "
                     "status = excluded.status, url = excluded.url, "
                     "checked_at = excluded.checked_at, this_update = excluded.this_update, "
                     "next_update = excluded.next_update, revoked_at = excluded.revoked_at, "
                     "reason = excluded.reason, error = excluded.error",
                     kOp));
    stmt.BindAll(r.certificate, r.version, r.method, r.status,
                 internal::StoredText(r.url, 2048), r.checked_at, r.this_update,
                 r.next_update, r.revoked_at, internal::StoredText(r.reason, 256),
                 internal::StoredText(r.error, kMaxErrorText));
    return stmt.Run();
  });
}

Result<std::vector<RevocationRecord>> SqlInventory::ListRevocations() {
  std::vector<RevocationRecord> out;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT certificate, version, method, status, url, checked_at, "
                     "this_update, next_update, revoked_at, reason, error FROM revocations "
                     "ORDER BY certificate, version, method",
                     "list the revocation answers"));
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      RevocationRecord r;
      r.certificate = stmt.Text(0);
      r.version = static_cast<int>(stmt.Int(1));
      r.method = stmt.Text(2);
      r.status = stmt.Text(3);
      r.url = stmt.Text(4);
      r.checked_at = stmt.Time(5);
      r.this_update = stmt.OptionalTime(6);
      r.next_update = stmt.OptionalTime(7);
      r.revoked_at = stmt.OptionalTime(8);
      r.reason = stmt.Text(9);
      r.error = stmt.Text(10);
      out.push_back(std::move(r));
    }
  }));
  return out;
}

Result<std::vector<RevocationState>> SqlInventory::ListRevocationStates() {
  std::vector<RevocationState> out;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT certificate, version, method, status, checked_at, next_update "
                     "FROM revocations ORDER BY certificate, version, method",
                     "list the revocation answers"));
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      RevocationState r;
      r.certificate = stmt.Text(0);
      r.version = static_cast<int>(stmt.Int(1));
      r.method = stmt.Text(2);
      r.status = stmt.Text(3);
      r.checked_at = stmt.Time(4);
      r.next_update = stmt.OptionalTime(5);
      out.push_back(std::move(r));
    }
  }));
  return out;
}

Status SqlInventory::PutAlertState(const AlertState& a) {
  constexpr std::string_view kOp = "record the alert state";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(a.alert, "alert", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(a.event, "event", kOp));
  if (a.state != "firing" && a.state != "resolved") {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(kOp) + ": state must be firing or resolved, not '" + a.state +
                      "'");
  }
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO alert_state (alert, event, subject, state, since, "
                     "ended_at, detail, notified, failures, next_try_at, last_error) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (alert, event, subject) DO UPDATE SET "
                     "state = excluded.state, since = excluded.since, "
                     "ended_at = excluded.ended_at, detail = excluded.detail, "
                     "notified = excluded.notified, failures = excluded.failures, "
                     "next_try_at = excluded.next_try_at, last_error = excluded.last_error",
                     kOp));
    stmt.BindAll(a.alert, a.event, a.subject, a.state, a.since, a.ended_at,
                 internal::StoredText(a.detail, kMaxErrorText), a.notified ? 1 : 0, a.failures,
                 a.next_try_at, internal::StoredText(a.last_error, kMaxErrorText));
    return stmt.Run();
  });
}

Status SqlInventory::DeleteAlertState(std::string_view alert, std::string_view event,
                                         std::string_view subject) {
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("DELETE FROM alert_state WHERE alert = ? AND event = ? "
                                     "AND subject = ?",
                                     "delete the alert state"));
    stmt.BindAll(alert, event, subject);
    return stmt.Run();
  });
}

Result<std::vector<AlertState>> SqlInventory::ListAlertStates() {
  std::vector<AlertState> out;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT alert, event, subject, state, since, ended_at, detail, notified, "
                     "failures, next_try_at, last_error FROM alert_state "
                     "ORDER BY alert, event, subject",
                     "list the alert state"));
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      AlertState a;
      a.alert = stmt.Text(0);
      a.event = stmt.Text(1);
      a.subject = stmt.Text(2);
      a.state = stmt.Text(3);
      a.since = stmt.Time(4);
      a.ended_at = stmt.OptionalTime(5);
      a.detail = stmt.Text(6);
      a.notified = stmt.Int(7) != 0;
      a.failures = static_cast<int>(stmt.Int(8));
      a.next_try_at = stmt.OptionalTime(9);
      a.last_error = stmt.Text(10);
      out.push_back(std::move(a));
    }
  }));
  return out;
}

Result<int64_t> SqlInventory::AddRun(const RunRecord& run) {
  constexpr std::string_view kOp = "record the run";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(run.kind, "kind", kOp));
  int64_t id = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("INSERT INTO runs (kind, started_at, finished_at, "
                                     "outcomes) VALUES (?, ?, ?, ?) RETURNING id",
                                     kOp));
    stmt.BindAll(run.kind, run.started_at, run.finished_at, EncodeOutcomes(run.outcomes));
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status(ErrorCode::kIo, std::string(kOp) + ": no id returned");
    id = stmt.Int(0);
    // Only the newest runs matter to monitoring; keep a bounded history.
    CK_ASSIGN_OR_RETURN(Statement prune,
                        db_->Prepare("DELETE FROM runs WHERE kind = ? AND id <= ? - 1000",
                                     "prune the runs"));
    prune.BindAll(run.kind, id);
    return prune.Run();
  }));
  return id;
}

Result<std::optional<RunRecord>> SqlInventory::LatestRun(std::string_view kind) {
  std::optional<RunRecord> out;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT id, kind, started_at, finished_at, outcomes FROM "
                                     "runs WHERE kind = ? ORDER BY id DESC LIMIT 1",
                                     "read the latest run"));
    stmt.Bind(1, kind);
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status::Ok();
    RunRecord r;
    r.id = stmt.Int(0);
    r.kind = stmt.Text(1);
    r.started_at = stmt.Time(2);
    r.finished_at = stmt.Time(3);
    CK_ASSIGN_OR_RETURN(r.outcomes, DecodeOutcomes(stmt.Text(4)));
    out = std::move(r);
    return Status::Ok();
  }));
  return out;
}

Status SqlInventory::PutCaStatus(const CaStatusRecord& c) {
  constexpr std::string_view kOp = "record the CA status";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(c.server, "server", kOp));
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO ca_status (server, ca, last_ok_at, "
                     "last_failure_at, last_error, unreachable_runs) VALUES (?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (server) DO UPDATE SET ca = excluded.ca, "
                     "last_ok_at = excluded.last_ok_at, last_failure_at = excluded.last_failure_at, "
                     "last_error = excluded.last_error, unreachable_runs = excluded.unreachable_runs",
                     kOp));
    stmt.BindAll(c.server, c.ca, c.last_ok_at, c.last_failure_at,
                 internal::StoredText(c.last_error, kMaxErrorText), c.unreachable_runs);
    return stmt.Run();
  });
}

Result<std::vector<CaStatusRecord>> SqlInventory::ListCaStatus() {
  std::vector<CaStatusRecord> out;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT server, ca, last_ok_at, last_failure_at, "
                                     "last_error, unreachable_runs FROM ca_status ORDER BY "
                                     "server",
                                     "list the CA status"));
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      CaStatusRecord c;
      c.server = stmt.Text(0);
      c.ca = stmt.Text(1);
      c.last_ok_at = stmt.OptionalTime(2);
      c.last_failure_at = stmt.OptionalTime(3);
      c.last_error = stmt.Text(4);
      c.unreachable_runs = static_cast<int>(stmt.Int(5));
      out.push_back(std::move(c));
    }
  }));
  return out;
}

Status SqlInventory::AddCaRequests(std::string_view server,
                                      const std::map<std::string, int64_t>& counts) {
  constexpr std::string_view kOp = "count the requests sent to the CA";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(server, "server", kOp));
  return RunTx(TxKind::kWrite, [&]() -> Status {
    for (const auto& [kind, n] : counts) {
      if (n < 0) {
        return Status(ErrorCode::kInvalidArgument,
                      std::string(kOp) + ": negative count for " + kind);
      }
      CK_ASSIGN_OR_RETURN(
          Statement stmt,
          db_->Prepare("INSERT INTO ca_requests (server, kind, count) VALUES (?, ?, ?) "
                       "ON CONFLICT (server, kind) DO UPDATE SET count = ca_requests.count + excluded.count",
                       kOp));
      stmt.BindAll(server, kind, n);
      CK_RETURN_IF_ERROR(stmt.Run());
    }
    return Status::Ok();
  });
}

Result<std::map<std::string, std::map<std::string, int64_t>>>
SqlInventory::CaRequestTotals() {
  std::map<std::string, std::map<std::string, int64_t>> out;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT server, kind, count FROM ca_requests",
                                     "read the request counters"));
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      out[stmt.Text(0)][stmt.Text(1)] = stmt.Int(2);
    }
  }));
  return out;
}

}  // namespace certkeeper::store
