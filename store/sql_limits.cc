// SqlInventory: the request log behind local rate-limit budgets, and limits
// the CA imposed with Retry-After (RFC 8555 §6.6).
#include <string>
#include <utility>

#include "store/internal/rows.h"
#include "store/internal/sql.h"
#include "store/sql_inventory.h"

namespace certkeeper::store {

using internal::Statement;

Status SqlInventory::RecordRequest(const RequestRecord& request) {
  constexpr std::string_view kOp = "record the request";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(request.server, "server", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(request.account_url, "account URL", kOp));
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO request_log (server, account_url, kind, request_key, at) "
                     "VALUES (?, ?, ?, ?, ?)",
                     kOp));
    stmt.BindAll(request.server, request.account_url, RequestKindName(request.kind),
                 request.key, request.at);
    return stmt.Run();
  });
}

Result<int64_t> SqlInventory::CountSince(std::string_view server,
                                            std::string_view account_url, RequestKind kind,
                                            std::string_view key, TimePoint since) {
  int64_t count = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT COUNT(*) FROM request_log WHERE server = ? AND kind = ? "
                     "AND at >= ? AND (? = '' OR account_url = ?) "
                     "AND (? = '' OR request_key = ?)",
                     "count requests"));
    stmt.BindAll(server, RequestKindName(kind), since, account_url, account_url, key, key);
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    count = row ? stmt.Int(0) : 0;
    return Status::Ok();
  }));
  return count;
}

Result<RequestWindow> SqlInventory::WindowSince(std::string_view server,
                                                   std::string_view account_url,
                                                   RequestKind kind, std::string_view key,
                                                   TimePoint since) {
  RequestWindow window;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT COUNT(*), MIN(at) FROM request_log WHERE server = ? AND kind = ? "
                     "AND at >= ? AND (? = '' OR account_url = ?) "
                     "AND (? = '' OR request_key = ?)",
                     "count requests"));
    stmt.BindAll(server, RequestKindName(kind), since, account_url, account_url, key, key);
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) {
      window.count = stmt.Int(0);
      window.oldest = stmt.OptionalTime(1);
    }
    return Status::Ok();
  }));
  return window;
}

Result<std::vector<RequestRecord>> SqlInventory::ListRequestsSince(std::string_view server,
                                                                       TimePoint since) {
  std::vector<RequestRecord> records;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT server, account_url, kind, request_key, at FROM request_log "
                     "WHERE server = ? AND at >= ? ORDER BY at, id",
                     "list requests"));
    stmt.BindAll(server, since);
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      CK_ASSIGN_OR_RETURN(RequestKind kind, ParseRequestKind(stmt.TextView(2)));
      records.push_back(
          RequestRecord{stmt.Text(0), stmt.Text(1), kind, stmt.Text(3), stmt.Time(4)});
    }
  }));
  return records;
}

Result<int64_t> SqlInventory::PruneRequests(TimePoint before) {
  int64_t pruned = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("DELETE FROM request_log WHERE at < ?",
                                                     "prune the request log"));
    stmt.Bind(1, before);
    CK_RETURN_IF_ERROR(stmt.Run());
    pruned = db_->Changes();
    return Status::Ok();
  }));
  return pruned;
}

namespace {

constexpr std::string_view kLimitColumns = "server, scope, until_at, reason";

CaLimit ReadLimit(const Statement& row) {
  return CaLimit{row.Text(0), row.Text(1), row.Time(2), row.Text(3)};
}

}  // namespace

Status SqlInventory::SetCaLimit(const CaLimit& limit) {
  constexpr std::string_view kOp = "record the CA limit";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(limit.server, "server", kOp));
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(limit.scope, "scope", kOp));
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO ca_limits (" + std::string(kLimitColumns) +
                         ") VALUES (?, ?, ?, ?) ON CONFLICT (server, scope) DO UPDATE "
                         "SET until_at = excluded.until_at, reason = excluded.reason",
                     kOp));
    stmt.BindAll(limit.server, limit.scope, limit.until,
                 internal::StoredText(limit.reason, kMaxStoredTextBytes));
    return stmt.Run();
  });
}

Result<std::optional<CaLimit>> SqlInventory::ActiveCaLimit(std::string_view server,
                                                              std::string_view scope,
                                                              TimePoint now) {
  std::optional<CaLimit> limit;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("SELECT " + std::string(kLimitColumns) +
                         " FROM ca_limits WHERE server = ? AND scope = ? AND until_at > ?",
                     "read the CA limit"));
    stmt.BindAll(server, scope, now);
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) limit = ReadLimit(stmt);
    return Status::Ok();
  }));
  return limit;
}

Result<std::vector<CaLimit>> SqlInventory::ListCaLimits(TimePoint now) {
  std::vector<CaLimit> limits;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT " + std::string(kLimitColumns) +
                                         " FROM ca_limits WHERE until_at > ? "
                                         "ORDER BY server, scope",
                                     "list CA limits"));
    stmt.Bind(1, now);
    while (true) {
      CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      limits.push_back(ReadLimit(stmt));
    }
  }));
  return limits;
}

Status SqlInventory::ClearCaLimit(std::string_view server, std::string_view scope) {
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("DELETE FROM ca_limits WHERE server = ? AND scope = ?",
                                     "clear the CA limit"));
    stmt.BindAll(server, scope);
    return stmt.Run();
  });
}

Result<int64_t> SqlInventory::PruneCaLimits(TimePoint now) {
  int64_t pruned = 0;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("DELETE FROM ca_limits WHERE until_at <= ?",
                                                     "prune CA limits"));
    stmt.Bind(1, now);
    CK_RETURN_IF_ERROR(stmt.Run());
    pruned = db_->Changes();
    return Status::Ok();
  }));
  return pruned;
}

// ---- CA directories ----

Status SqlInventory::PutCaDirectory(const CaDirectory& directory) {
  constexpr std::string_view kOp = "record the CA directory";
  CK_RETURN_IF_ERROR(internal::RequireNonEmpty(directory.server, "server", kOp));
  return RunTx(TxKind::kWrite, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare("INSERT INTO ca_directories (server, renewal_info_url, fetched_at, "
                     "document) VALUES (?, ?, ?, ?) ON CONFLICT (server) DO UPDATE SET "
                     "renewal_info_url = excluded.renewal_info_url, "
                     "fetched_at = excluded.fetched_at, document = excluded.document",
                     kOp));
    stmt.BindAll(directory.server, directory.renewal_info_url, directory.fetched_at,
                 directory.document);
    return stmt.Run();
  });
}

Result<std::optional<CaDirectory>> SqlInventory::FindCaDirectory(std::string_view server) {
  std::optional<CaDirectory> directory;
  CK_RETURN_IF_ERROR(RunTx(TxKind::kRead, [&]() -> Status {
    CK_ASSIGN_OR_RETURN(Statement stmt,
                        db_->Prepare("SELECT server, renewal_info_url, fetched_at, document "
                                     "FROM ca_directories WHERE server = ?",
                                     "read the CA directory"));
    stmt.Bind(1, server);
    CK_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) directory = CaDirectory{stmt.Text(0), stmt.Text(1), stmt.Time(2), stmt.Text(3)};
    return Status::Ok();
  }));
  return directory;
}

}  // namespace certkeeper::store
