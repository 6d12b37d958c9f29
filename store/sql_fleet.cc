// SqlInventory: the material a fleet's hosts share, per-certificate leases,
// and what each host delivered.
#include <set>
#include <string>
#include <utility>

#include "store/internal/rows.h"
#include "store/internal/sql.h"
#include "store/sql_inventory.h"

namespace certkeeper::store {

using internal::Statement;

namespace {

Status ValidateMaterial(const std::vector<MaterialFile>& files, std::string_view operation) {
  std::set<std::string_view> names;
  for (const MaterialFile& file : files) {
    if (file.name.empty() || file.name == "." || file.name == ".." ||
        file.name.find('/') != std::string::npos ||
        file.name.find('\0') != std::string::npos) {
      return Status(ErrorCode::kInvalidArgument,
                    std::string(operation) + ": a file name must be a plain name");
    }
    if (!names.insert(file.name).second) {
      return Status(ErrorCode::kInvalidArgument,
                    std::string(operation) + ": file " + file.name + " given twice");
    }
    if (file.content.find('\0') != std::string::npos) {
      return Status(ErrorCode::kInvalidArgument,
                    std::string(operation) + ": file " + file.name + " holds a NUL byte");
    }
  }
  return Status::Ok();
}

LeaseRecord ReadLease(const Statement& row) {
  return LeaseRecord{row.Text(0), row.Text(1), row.Text(2), row.Time(3)};
}

}  // namespace

std::string AccountMaterial(std::string_view server, std::string_view account_url) {
  return "account " + std::string(server) + " " + std::string(account_url);
}

std::string VersionMaterial(std::string_view certificate, int n) {
  return "version " + std::string(certificate) + " " + std::to_string(n);
}

std::string PendingOrderMaterial(std::string_view certificate) {
  return "pending-order " + std::string(certificate);
}

Status SqlInventory::PutMaterial(std::string_view owner,
                                 const std::vector<MaterialFile>& files) {
  constexpr std::string_view kOp = "store shared files";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(owner, "owner", kOp));
  CK_RETURN_IF_ERROR(ValidateMaterial(files, kOp));
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement clear,
                        db_->Prepare("DELETE FROM material WHERE owner = ?", kOp));
    clear.Bind(1, owner);
    CK_RETURN_IF_ERROR(clear.Run());
    for (const MaterialFile& file : files) {
      CK_ASSIGN_OR_RETURN(
          Statement stmt,
          db_->Prepare("INSERT INTO material (owner, name, sealed, content) VALUES (?, ?, ?, ?)",
                       kOp));
      stmt.BindAll(owner, file.name, file.sealed ? 1 : 0, file.content);
      CK_RETURN_IF_ERROR(stmt.Run());
    }
    return Status::Ok();
  });
}

Result<std::vector<MaterialFile>> SqlInventory::GetMaterial(std::string_view owner) {
  std::vector<MaterialFile> files;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT name, sealed, content FROM material "
                                     "WHERE owner = ? ORDER BY name",
                                     "read shared files"));
    stmt.Bind(1, owner);
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      files.push_back(MaterialFile{stmt.Text(0), stmt.Text(2), stmt.Int(1) != 0});
    }
  }));
  return files;
}

Status SqlInventory::DeleteMaterial(std::string_view owner) {
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("DELETE FROM material WHERE owner = ?",
                                                     "delete shared files"));
    stmt.Bind(1, owner);
    return stmt.Run();
  });
}

Result<LeaseRecord> SqlInventory::TryLease(std::string_view certificate,
                                           std::string_view holder, std::string_view token,
                                           TimePoint now, TimePoint until) {
  constexpr std::string_view kOp = "claim the certificate";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(certificate, "certificate", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(token, "token", kOp));
  LeaseRecord lease;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement add,
                        db_->Prepare("INSERT INTO leases (certificate) VALUES (?) "
                                     "ON CONFLICT (certificate) DO NOTHING",
                                     kOp));
    add.Bind(1, certificate);
    CK_RETURN_IF_ERROR(add.Run());
    // PostgreSQL: the row lock is held to the end of this short transaction;
    // a host that finds it taken moves on instead of queueing behind it.
    // SQLite's write transaction already excludes every other writer.
    std::string select =
        "SELECT certificate, holder, token, expires_at FROM leases WHERE certificate = ?";
    if (db_->dialect() == internal::Dialect::kPostgres) select += " FOR UPDATE SKIP LOCKED";
    CK_ASSIGN_OR_RETURN(Statement current, db_->Prepare(select, kOp));
    current.Bind(1, certificate);
    CK_ASSIGN_OR_RETURN(bool row, current.Step());
    if (!row) {
      // Another host holds the row lock right now: it is taking the lease.
      lease = LeaseRecord{std::string(certificate), "another host", "", until};
      return Status::Ok();
    }
    lease = ReadLease(current);
    CK_RETURN_IF_ERROR(current.Run());
    if (lease.token != token && lease.expires_at > now) return Status::Ok();
    CK_ASSIGN_OR_RETURN(Statement take,
                        db_->Prepare("UPDATE leases SET holder = ?, token = ?, expires_at = ? "
                                     "WHERE certificate = ?",
                                     kOp));
    take.BindAll(internal::StoredText(holder, kMaxStoredNameBytes), token, until, certificate);
    CK_RETURN_IF_ERROR(take.Run());
    lease = LeaseRecord{std::string(certificate),
                        internal::StoredText(holder, kMaxStoredNameBytes), std::string(token),
                        FromUnixSeconds(ToUnixSeconds(until))};
    return Status::Ok();
  }));
  return lease;
}

Result<bool> SqlInventory::RenewLease(std::string_view certificate, std::string_view token,
                                      TimePoint now, TimePoint until) {
  bool renewed = false;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("UPDATE leases SET expires_at = ? WHERE certificate = ? "
                                     "AND token = ? AND expires_at > ?",
                                     "renew the claim on the certificate"));
    stmt.BindAll(until, certificate, token, now);
    CK_RETURN_IF_ERROR(stmt.Run());
    renewed = db_->Changes() > 0;
    return Status::Ok();
  }));
  return renewed;
}

Status SqlInventory::ReleaseLease(std::string_view certificate, std::string_view token) {
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("UPDATE leases SET holder = '', token = '', expires_at = 0 "
                                     "WHERE certificate = ? AND token = ?",
                                     "release the claim on the certificate"));
    stmt.BindAll(certificate, token);
    return stmt.Run();
  });
}

Result<std::vector<LeaseRecord>> SqlInventory::ListLeases() {
  std::vector<LeaseRecord> leases;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT certificate, holder, token, expires_at FROM leases "
                                     "ORDER BY certificate",
                                     "read the claims"));
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      leases.push_back(ReadLease(stmt));
    }
  }));
  return leases;
}

Status SqlInventory::PutHostDeployment(const HostDeployment& d) {
  constexpr std::string_view kOp = "record the host's delivery";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(d.certificate, "certificate", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(d.host, "host", kOp));
  if (d.state != "deployed" && d.state != "failed") {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(kOp) + ": state must be deployed or failed");
  }
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO host_deployments (certificate, host, version_n, state, at, "
                     "error) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (certificate, host) DO "
                     "UPDATE SET version_n = excluded.version_n, state = excluded.state, "
                     "at = excluded.at, error = excluded.error",
                     kOp));
    stmt.BindAll(d.certificate, internal::StoredText(d.host, kMaxStoredNameBytes), d.version,
                 d.state, d.at, internal::StoredText(d.error, kMaxStoredTextBytes));
    return stmt.Run();
  });
}

Result<std::vector<HostDeployment>> SqlInventory::ListHostDeployments(
    std::optional<std::string_view> certificate) {
  std::vector<HostDeployment> out;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    std::string sql =
        "SELECT certificate, host, version_n, state, at, error FROM host_deployments";
    if (certificate) sql += " WHERE certificate = ?";
    sql += " ORDER BY certificate, host";
    CK_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(sql, "read the hosts' deliveries"));
    if (certificate) stmt.Bind(1, *certificate);
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      out.push_back(HostDeployment{stmt.Text(0), stmt.Text(1), static_cast<int>(stmt.Int(2)),
                                   stmt.Text(3), stmt.Time(4), stmt.Text(5)});
    }
  }));
  return out;
}

}  // namespace certkeeper::store
