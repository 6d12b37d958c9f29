// SqlInventory: renewal attempts, their steps, and the audit trail.
#include <map>
#include <string>
#include <utility>

#include "store/internal/rows.h"
#include "store/internal/sql.h"
#include "store/sql_inventory.h"

namespace certkeeper::store {

using internal::Statement;

namespace {

constexpr std::string_view kAttemptColumns =
    "id, certificate, started_at, finished_at, server, reason, outcome, error_type, "
    "error_detail, retry_after, version_n, host";

constexpr std::string_view kInterruptedDetail =
    "the process running this attempt stopped before it finished";

Result<Attempt> ReadAttempt(const Statement& row) {
  Attempt a;
  a.id = row.Int(0);
  a.certificate = row.Text(1);
  a.started_at = row.Time(2);
  a.finished_at = row.OptionalTime(3);
  a.server = row.Text(4);
  a.reason = row.Text(5);
  CK_ASSIGN_OR_RETURN(a.outcome, ParseAttemptOutcome(row.TextView(6)));
  a.error_type = row.Text(7);
  a.error_detail = row.Text(8);
  a.retry_after = row.OptionalTime(9);
  if (auto n = row.OptionalInt(10)) a.version = static_cast<int>(*n);
  a.host = row.Text(11);
  return a;
}

constexpr std::string_view kStepColumns =
    "attempt_id, seq, at, kind, challenge_type, identifier, result, error, output";

// A row of kStepColumns (the attempt id in column 0 is the caller's).
Result<AttemptStep> ReadStep(const Statement& row) {
  AttemptStep step;
  step.seq = static_cast<int>(row.Int(1));
  step.at = row.Time(2);
  step.kind = row.Text(3);
  step.challenge_type = row.Text(4);
  step.identifier = row.Text(5);
  CK_ASSIGN_OR_RETURN(step.result, ParseStepResult(row.TextView(6)));
  step.error = row.Text(7);
  step.output = row.Text(8);
  return step;
}

Result<std::vector<AttemptStep>> LoadSteps(internal::Database& db, int64_t attempt_id) {
  CK_ASSIGN_OR_RETURN(Statement stmt,
                      db.Prepare("SELECT " + std::string(kStepColumns) +
                                     " FROM attempt_steps WHERE attempt_id = ? ORDER BY seq",
                                 "read attempt steps"));
  stmt.Bind(1, attempt_id);
  std::vector<AttemptStep> steps;
  while (true) {
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return steps;
    CK_ASSIGN_OR_RETURN(AttemptStep step, ReadStep(stmt));
    steps.push_back(std::move(step));
  }
}

// The id of each certificate's newest attempt (the order of QueryAttempts:
// started_at, then id), NULL for a certificate without one. Driven by the
// certificates, so each lookup reads one certificate's attempts through
// attempts_by_certificate (certificate, id): the newest start is a MAX over
// them and the highest id among those starting then is the index's last, so
// no lookup needs a sort (a sorter set up per certificate cost more than
// the rest of `list`'s reads when most certificates have few attempts).
constexpr std::string_view kLatestAttemptIds =
    "SELECT (SELECT b.id FROM attempts b WHERE b.certificate = c.name "
    "AND b.started_at = (SELECT MAX(m.started_at) FROM attempts m "
    "WHERE m.certificate = c.name) ORDER BY b.id DESC LIMIT 1) FROM certificates c";

// Attempts matching `condition` (with their steps), newest first.
template <typename... Args>
Result<std::vector<Attempt>> QueryAttempts(internal::Database& db,
                                           std::string_view condition, int limit,
                                           const Args&... args) {
  std::string sql = "SELECT " + std::string(kAttemptColumns) + " FROM attempts WHERE " +
                    std::string(condition) + " ORDER BY started_at DESC, id DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  CK_ASSIGN_OR_RETURN(Statement stmt, db.Prepare(sql, "read attempts"));
  stmt.BindAll(args...);
  std::vector<Attempt> attempts;
  while (true) {
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    CK_ASSIGN_OR_RETURN(Attempt a, ReadAttempt(stmt));
    attempts.push_back(std::move(a));
  }
  for (Attempt& a : attempts) {
    CK_ASSIGN_OR_RETURN(a.steps, LoadSteps(db, a.id));
  }
  return attempts;
}

Status NoAttempt(int64_t id, std::string_view operation) {
  return Status(ErrorCode::kNotFound, std::string(operation) + ": no attempt with id " +
                                          std::to_string(id));
}

}  // namespace

Result<int64_t> SqlInventory::StartAttempt(const Attempt& attempt) {
  constexpr std::string_view kOp = "record the attempt";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(attempt.certificate, "certificate", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(attempt.server, "server", kOp));
  int64_t id = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_RETURN_IF_ERROR(RequireCertificate(attempt.certificate));
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO attempts (certificate, started_at, server, reason, "
                     "outcome, host) VALUES (?, ?, ?, ?, 'running', ?) RETURNING id",
                     kOp));
    stmt.BindAll(attempt.certificate, attempt.started_at, attempt.server,
                 internal::StoredText(attempt.reason, kMaxStoredTextBytes),
                 internal::StoredText(attempt.host, kMaxStoredNameBytes));
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status(ErrorCode::kInternal, std::string(kOp) + ": no id returned");
    id = stmt.Int(0);
    return stmt.Run();
  }));
  return id;
}

Result<int> SqlInventory::AddAttemptStep(int64_t attempt_id, const AttemptStep& step) {
  constexpr std::string_view kOp = "record the attempt step";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(step.kind, "step kind", kOp));
  int seq = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(std::vector<Attempt> found,
                        QueryAttempts(*db_, "id = ?", 1, attempt_id));
    if (found.empty()) return NoAttempt(attempt_id, kOp);
    if (found.front().outcome != AttemptOutcome::kRunning) {
      return Status(ErrorCode::kFailedPrecondition,
                    std::string(kOp) + ": attempt " + std::to_string(attempt_id) +
                        " is already finished");
    }
    seq = static_cast<int>(found.front().steps.size()) + 1;
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO attempt_steps (attempt_id, seq, at, kind, "
                     "challenge_type, identifier, result, error, output) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     kOp));
    stmt.BindAll(attempt_id, seq, step.at, step.kind, step.challenge_type,
                 internal::StoredText(step.identifier, kMaxStoredNameBytes),
                 StepResultName(step.result),
                 internal::StoredText(step.error, kMaxStoredTextBytes),
                 internal::StoredTail(step.output, kMaxStepOutputBytes));
    return stmt.Run();
  }));
  return seq;
}

Status SqlInventory::FinishAttempt(int64_t attempt_id, const AttemptEnd& end) {
  constexpr std::string_view kOp = "finish the attempt";
  if (end.outcome == AttemptOutcome::kRunning) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(kOp) + ": the final outcome cannot be 'running'");
  }
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("UPDATE attempts SET finished_at = ?, outcome = ?, error_type = ?, "
                     "error_detail = ?, retry_after = ?, version_n = ? "
                     "WHERE id = ? AND outcome = 'running'",
                     kOp));
    stmt.BindAll(end.finished_at, AttemptOutcomeName(end.outcome),
                 internal::StoredText(end.error_type, kMaxStoredNameBytes),
                 internal::StoredText(end.error_detail, kMaxStoredTextBytes), end.retry_after,
                 end.version, attempt_id);
    CK_RETURN_IF_ERROR(stmt.Run());
    if (db_->Changes() == 1) return Status::Ok();
    CK_ASSIGN_OR_RETURN(std::vector<Attempt> found,
                        QueryAttempts(*db_, "id = ?", 1, attempt_id));
    if (found.empty()) return NoAttempt(attempt_id, kOp);
    return Status(ErrorCode::kFailedPrecondition,
                  std::string(kOp) + ": attempt " + std::to_string(attempt_id) +
                      " already ended as " +
                      std::string(AttemptOutcomeName(found.front().outcome)));
  });
}

Result<Attempt> SqlInventory::GetAttempt(int64_t attempt_id) {
  Attempt attempt;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(std::vector<Attempt> found,
                        QueryAttempts(*db_, "id = ?", 1, attempt_id));
    if (found.empty()) return NoAttempt(attempt_id, "read the attempt");
    attempt = std::move(found.front());
    return Status::Ok();
  }));
  return attempt;
}

Result<std::vector<Attempt>> SqlInventory::ListAttempts(std::string_view certificate,
                                                           int limit) {
  std::vector<Attempt> attempts;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(attempts, QueryAttempts(*db_, "certificate = ?", limit, certificate));
    return Status::Ok();
  }));
  return attempts;
}

Result<std::map<std::string, Attempt>> SqlInventory::LatestAttempts() {
  std::map<std::string, Attempt> latest;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    // Two queries for the whole inventory, not one per certificate.
    CK_ASSIGN_OR_RETURN(Statement attempts,
                        db_->Prepare("SELECT " + std::string(kAttemptColumns) +
                                         " FROM attempts WHERE id IN (" +
                                         std::string(kLatestAttemptIds) + ")",
                                     "read the latest attempts"));
    std::map<int64_t, Attempt*> by_id;
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, attempts.Step());
      if (!row) break;
      CK_ASSIGN_OR_RETURN(Attempt a, ReadAttempt(attempts));
      Attempt& slot = latest[a.certificate];
      slot = std::move(a);
      by_id[slot.id] = &slot;
    }
    if (by_id.empty()) return Status::Ok();  // no attempt, no steps
    CK_ASSIGN_OR_RETURN(Statement steps,
                        db_->Prepare("SELECT " + std::string(kStepColumns) +
                                         " FROM attempt_steps WHERE attempt_id IN (" +
                                         std::string(kLatestAttemptIds) +
                                         ") ORDER BY attempt_id, seq",
                                     "read the latest attempts' steps"));
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, steps.Step());
      if (!row) return Status::Ok();
      auto owner = by_id.find(steps.Int(0));
      if (owner == by_id.end()) continue;
      CK_ASSIGN_OR_RETURN(AttemptStep step, ReadStep(steps));
      owner->second->steps.push_back(std::move(step));
    }
  }));
  return latest;
}

Result<int> SqlInventory::CloseInterruptedAttempts(TimePoint now,
                                                   std::optional<std::string_view> host) {
  int closed = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    std::string sql =
        "UPDATE attempts SET outcome = 'failed', finished_at = ?, "
        "error_type = 'interrupted', error_detail = ? WHERE outcome = 'running'";
    if (host) sql += " AND (host = ? OR host = '')";
    CK_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(sql, "close interrupted attempts"));
    stmt.BindAll(now, kInterruptedDetail);
    if (host) stmt.Bind(3, *host);
    CK_RETURN_IF_ERROR(stmt.Run());
    closed = static_cast<int>(db_->Changes());
    return Status::Ok();
  }));
  return closed;
}

// ---- Audit trail ----

Result<int64_t> SqlInventory::AddEvent(const Event& event) {
  constexpr std::string_view kOp = "record the event";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(event.kind, "event kind", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(event.message, "event message", kOp));
  int64_t id = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("INSERT INTO events (at, certificate, kind, message) "
                                     "VALUES (?, ?, ?, ?) RETURNING id",
                                     kOp));
    stmt.BindAll(event.at, event.certificate, event.kind,
                 internal::StoredText(event.message, kMaxStoredTextBytes));
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status(ErrorCode::kInternal, std::string(kOp) + ": no id returned");
    id = stmt.Int(0);
    return stmt.Run();
  }));
  return id;
}

Result<std::vector<Event>> SqlInventory::ListEvents(std::optional<std::string> certificate,
                                                       int limit) {
  std::vector<Event> events;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    std::string sql = "SELECT id, at, certificate, kind, message FROM events";
    if (certificate) sql += " WHERE certificate = ?";
    sql += " ORDER BY at DESC, id DESC";
    if (limit > 0) sql += " LIMIT " + std::to_string(limit);
    CK_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(sql, "list events"));
    if (certificate) stmt.Bind(1, *certificate);
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      events.push_back(Event{stmt.Int(0), stmt.Time(1), stmt.OptionalText(2),
                             stmt.Text(3), stmt.Text(4)});
    }
  }));
  return events;
}

}  // namespace certkeeper::store
