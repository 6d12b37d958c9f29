// SqlInventory: issued versions of each certificate.
#include <string>
#include <utility>

#include "store/internal/rows.h"
#include "store/internal/sql.h"
#include "store/sql_inventory.h"

namespace certkeeper::store {

using internal::Statement;

namespace {

constexpr std::string_view kVersionColumns =
    "certificate, n, serial, not_before, not_after, issuer, fingerprint_sha256, "
    "domains, key_type, directory, order_url, state, revoked_at, revocation_reason, "
    "created_at, ca, server, profile";

Result<Version> ReadVersion(const Statement& row) {
  Version v;
  v.certificate = row.Text(0);
  v.n = static_cast<int>(row.Int(1));
  v.serial = row.Text(2);
  v.not_before = row.Time(3);
  v.not_after = row.Time(4);
  v.issuer = row.Text(5);
  v.fingerprint_sha256 = row.Text(6);
  CK_ASSIGN_OR_RETURN(v.domains, internal::DecodeList(row.TextView(7), "version domains"));
  v.key_type = row.Text(8);
  v.directory = row.Text(9);
  v.order_url = row.Text(10);
  CK_ASSIGN_OR_RETURN(v.state, ParseVersionState(row.TextView(11)));
  v.revoked_at = row.OptionalTime(12);
  v.revocation_reason = row.Text(13);
  v.created_at = row.Time(14);
  v.ca = row.Text(15);
  v.server = row.Text(16);
  v.profile = row.Text(17);
  return v;
}

// Versions of one certificate matching `condition`, newest first.
template <typename... Args>
Result<std::vector<Version>> QueryVersions(internal::Database& db,
                                           std::string_view certificate,
                                           std::string_view condition, int limit,
                                           const Args&... args) {
  std::string sql = "SELECT " + std::string(kVersionColumns) +
                    " FROM versions WHERE certificate = ?" + std::string(condition) +
                    " ORDER BY n DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  CK_ASSIGN_OR_RETURN(Statement stmt, db.Prepare(sql, "read versions"));
  stmt.BindAll(certificate, args...);
  std::vector<Version> versions;
  while (true) {
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return versions;
    CK_ASSIGN_OR_RETURN(Version v, ReadVersion(stmt));
    versions.push_back(std::move(v));
  }
}

Result<int> NextN(internal::Database& db, std::string_view certificate) {
  CK_ASSIGN_OR_RETURN(
      Statement stmt,
      db.Prepare("SELECT COALESCE(MAX(n), 0) + 1 FROM versions WHERE certificate = ?",
                 "number the next version"));
  stmt.Bind(1, certificate);
  CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<int>(stmt.Int(0)) : 1;
}

Status NoVersion(std::string_view certificate, std::string_view which,
                 std::string_view operation) {
  return Status(ErrorCode::kNotFound, std::string(operation) + ": certificate '" +
                                          std::string(certificate) + "' has no " +
                                          std::string(which))
      .Hint("`certkeeper show " + std::string(certificate) + "` lists its versions");
}

bool TransitionAllowed(VersionState from, VersionState to) {
  switch (from) {
    case VersionState::kIssued:
      return to == VersionState::kDeployed || to == VersionState::kDeployFailed;
    case VersionState::kDeployFailed:
      return to == VersionState::kDeployed;
    case VersionState::kDeployed:
      return to == VersionState::kDeployFailed;
    case VersionState::kRevoked:
      return false;
  }
  return false;
}

Status ValidateVersion(const Version& v) {
  constexpr std::string_view kOp = "record the version";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(v.certificate, "certificate", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(v.serial, "serial", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(v.issuer, "issuer", kOp));
  CK_RETURN_IF_ERROR(
      internal::RequireNonEmpty(v.fingerprint_sha256, "SHA-256 fingerprint", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(v.key_type, "key type", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(v.directory, "directory", kOp));
  if (v.domains.empty()) {
    return Status(ErrorCode::kInvalidArgument, std::string(kOp) + ": domains must not be empty");
  }
  if (v.n < 1) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(kOp) + ": version numbers start at 1, got " +
                      std::to_string(v.n));
  }
  if (v.not_after <= v.not_before) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(kOp) + ": notAfter " + FormatRfc3339(v.not_after) +
                      " is not after notBefore " + FormatRfc3339(v.not_before));
  }
  if (v.state != VersionState::kIssued && v.state != VersionState::kDeployed) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(kOp) + ": a new version must be issued or deployed, not " +
                      std::string(VersionStateName(v.state)));
  }
  return Status::Ok();
}

}  // namespace

Result<int> SqlInventory::NextVersionNumber(std::string_view certificate) {
  int next = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_RETURN_IF_ERROR(RequireCertificate(certificate));
    CK_ASSIGN_OR_RETURN(next, NextN(*db_, certificate));
    return Status::Ok();
  }));
  return next;
}

Status SqlInventory::AddVersion(const Version& v) {
  CK_RETURN_IF_ERROR(ValidateVersion(v));
  // Synced: the engine's commit point. live/ is switched to the version only
  // after this returns, and the next run's reconciliation trusts the record.
  return RunTx(TxKind::kWrite, Durability::kSynced, [&]() -> Status {
    CK_RETURN_IF_ERROR(RequireCertificate(v.certificate));
    CK_ASSIGN_OR_RETURN(int next, NextN(*db_, v.certificate));
    if (v.n < next) {
      return Status(ErrorCode::kAlreadyExists,
                    "record the version: version " + std::to_string(v.n) + " of '" +
                        v.certificate + "' is already recorded")
          .Hint("ask NextVersionNumber for the number to use");
    }
    if (v.n > next) {
      return Status(ErrorCode::kFailedPrecondition,
                    "record the version: version " + std::to_string(v.n) + " of '" +
                        v.certificate + "' would leave a gap; the next is " +
                        std::to_string(next));
    }
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO versions (" + std::string(kVersionColumns) +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     "record the version"));
    stmt.BindAll(v.certificate, v.n, v.serial, v.not_before, v.not_after, v.issuer,
                 v.fingerprint_sha256, internal::EncodeList(v.domains), v.key_type,
                 v.directory, v.order_url, VersionStateName(v.state), v.revoked_at,
                 v.revocation_reason, clock_->Now(), v.ca, v.server, v.profile);
    return stmt.Run();
  });
}

Status SqlInventory::SetVersionState(std::string_view certificate, int n,
                                        VersionState state) {
  if (state == VersionState::kRevoked) {
    return Status(ErrorCode::kInvalidArgument,
                  "set the version state: use RevokeVersion to record a revocation");
  }
  // Synced: it records what live/ and the deploy targets already serve.
  return RunTx(TxKind::kWrite, Durability::kSynced, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Version current, GetVersion(certificate, n));
    if (current.state == state) return Status::Ok();
    if (!TransitionAllowed(current.state, state)) {
      return Status(ErrorCode::kFailedPrecondition,
                    "set the version state: version " + std::to_string(n) + " of '" +
                        std::string(certificate) + "' cannot go from " +
                        std::string(VersionStateName(current.state)) + " to " +
                        std::string(VersionStateName(state)));
    }
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("UPDATE versions SET state = ? "
                                     "WHERE certificate = ? AND n = ?",
                                     "set the version state"));
    stmt.BindAll(VersionStateName(state), certificate, n);
    return stmt.Run();
  });
}

Status SqlInventory::RevokeVersion(std::string_view certificate, int n, TimePoint at,
                                      std::string_view reason) {
  // Synced: the CA has revoked it already.
  return RunTx(TxKind::kWrite, Durability::kSynced, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Version current, GetVersion(certificate, n));
    if (current.state == VersionState::kRevoked) {
      return Status(ErrorCode::kFailedPrecondition,
                    "revoke: version " + std::to_string(n) + " of '" +
                        std::string(certificate) + "' was already revoked at " +
                        FormatRfc3339(current.revoked_at.value_or(TimePoint())));
    }
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("UPDATE versions SET state = 'revoked', revoked_at = ?, "
                     "revocation_reason = ? WHERE certificate = ? AND n = ?",
                     "record the revocation"));
    stmt.BindAll(at, reason, certificate, n);
    return stmt.Run();
  });
}

Result<Version> SqlInventory::GetVersion(std::string_view certificate, int n) {
  Version version;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(std::vector<Version> found,
                        QueryVersions(*db_, certificate, " AND n = ?", 1, n));
    if (found.empty()) {
      return NoVersion(certificate, "version " + std::to_string(n), "read the version");
    }
    version = std::move(found.front());
    return Status::Ok();
  }));
  return version;
}

Result<std::vector<Version>> SqlInventory::ListVersions(std::string_view certificate) {
  std::vector<Version> versions;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(versions, QueryVersions(*db_, certificate, "", 0));
    return Status::Ok();
  }));
  return versions;
}

Result<Version> SqlInventory::LiveVersion(std::string_view certificate) {
  Version version;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(std::vector<Version> found,
                        QueryVersions(*db_, certificate, " AND state = ?", 1,
                                      VersionStateName(VersionState::kDeployed)));
    if (found.empty()) {
      return NoVersion(certificate, "deployed version", "find the live version");
    }
    version = std::move(found.front());
    return Status::Ok();
  }));
  return version;
}

Result<Version> SqlInventory::LatestVersion(std::string_view certificate) {
  Version version;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(std::vector<Version> found,
                        QueryVersions(*db_, certificate, "", 1));
    if (found.empty()) return NoVersion(certificate, "version", "find the latest version");
    version = std::move(found.front());
    return Status::Ok();
  }));
  return version;
}

Result<std::map<std::string, CurrentVersions>> SqlInventory::AllCurrentVersions() {
  std::map<std::string, CurrentVersions> current;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    // The newest version of each certificate, and its newest deployed one.
    // Usually the newest one is the deployed one: it is read (and its lists
    // decoded) once, and the second query reads only the live versions that
    // a newer version follows, and only when there is one: a steady
    // inventory, whose newest versions are all live, needs one query.
    const std::string select = "SELECT " + std::string(kVersionColumns) + " FROM versions v ";
    bool newest_not_live = false;
    // Down the primary key (certificate, n): the first row of each
    // certificate is its newest, the others are skipped without decoding
    // them. (A MAX(n) lookup per row cost one index search per version.)
    CK_ASSIGN_OR_RETURN(Statement latest,
                        db_->Prepare(select + "ORDER BY certificate DESC, n DESC",
                                     "read the latest versions"));
    std::string previous;
    bool any = false;
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, latest.Step());
      if (!row) break;
      if (any && latest.TextView(0) == previous) continue;
      CK_ASSIGN_OR_RETURN(Version v, ReadVersion(latest));
      previous = v.certificate;
      any = true;
      // In descending name order: each entry goes at the front (the hint is
      // only a hint where the server's collation is not byte order).
      auto entry = current.emplace_hint(current.begin(), v.certificate, CurrentVersions{});
      if (v.state == VersionState::kDeployed) {
        entry->second.live = v;
      } else {
        newest_not_live = true;
      }
      entry->second.latest = std::move(v);
    }
    if (!newest_not_live) return Status::Ok();
    CK_ASSIGN_OR_RETURN(
        Statement live,
        db_->Prepare(select + "WHERE state = ? AND n = (SELECT MAX(n) FROM versions w "
                              "WHERE w.certificate = v.certificate AND w.state = ?) "
                              "AND n < (SELECT MAX(n) FROM versions x "
                              "WHERE x.certificate = v.certificate)",
                     "read the live versions"));
    live.BindAll(VersionStateName(VersionState::kDeployed),
                 VersionStateName(VersionState::kDeployed));
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, live.Step());
      if (!row) break;
      CK_ASSIGN_OR_RETURN(Version v, ReadVersion(live));
      std::string name = v.certificate;
      current[name].live = std::move(v);
    }
    return Status::Ok();
  }));
  return current;
}

}  // namespace certkeeper::store
