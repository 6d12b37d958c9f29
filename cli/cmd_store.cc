// `certkeeper store migrate` and `certkeeper store copy --to URL`: the
// inventory's database itself (docs/fleet.md). The row copy and its
// verification are store/copy.h; sharing the key files with the fleet, which
// needs the sealing key, is done here through lifecycle::Fleet.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/sealing.h"
#include "base/text.h"
#include "cli/app.h"
#include "cli/command_context.h"
#include "lifecycle/config_check.h"
#include "lifecycle/engine_parts.h"
#include "lifecycle/fleet.h"
#include "lifecycle/state_layout.h"
#include "store/copy.h"
#include "store/material_store.h"
#include "store/sql_inventory.h"

namespace certkeeper::cli {

namespace {

Status Usage(const std::string& message) {
  return Status(ErrorCode::kInvalidArgument, message)
      .Hint("usage: certkeeper store migrate | certkeeper store copy --to URL "
            "[--password-file PATH] [--key-file PATH] [--dry-run]");
}

int Migrate(CommandContext& ctx) {
  const lifecycle::Config& config = ctx.config();
  nlohmann::json out;
  std::string text;
  if (config.store.shared()) {
    store::PostgresOptions options;
    options.url = config.store.url;
    auto password = lifecycle::ReadStorePassword(config.store.password_file);
    if (!password.ok()) return ctx.Fail(password.status(), ctx.ExitFor(password.status()));
    options.password = *password;
    auto result = store::MigratePostgres(options);
    if (!result.ok()) {
      Status s = result.status().Annotate("migrate the shared inventory");
      return ctx.Fail(s, ctx.ExitFor(s));
    }
    out = {{"engine", "PostgreSQL"}, {"from", result->from}, {"to", result->to}};
    if (result->from == result->to) {
      text = "The shared inventory is already at version " + std::to_string(result->to) + ".\n";
    } else if (result->from == 0) {
      text = "Created the shared inventory at version " + std::to_string(result->to) + ".\n";
    } else {
      text = "Migrated the shared inventory from version " + std::to_string(result->from) +
             " to version " + std::to_string(result->to) + ".\n";
    }
  } else {
    // SQLite migrates itself whenever certkeeper opens it: a host's inventory
    // has no other certkeeper that could still need the older schema.
    lifecycle::StateLayout layout(config.state_dir);
    Status prepared = layout.Prepare();
    if (!prepared.ok()) return ctx.Fail(prepared, ctx.ExitFor(prepared));
    auto inventory = store::SqlInventory::Open(layout.db_path());
    if (!inventory.ok()) return ctx.Fail(inventory.status(), ctx.ExitFor(inventory.status()));
    auto version = (*inventory)->SchemaVersion();
    if (!version.ok()) return ctx.Fail(version.status(), ctx.ExitFor(version.status()));
    out = {{"engine", "SQLite"}, {"from", nullptr}, {"to", *version}};
    text = "The local SQLite inventory " + EscapeForTerminal(layout.db_path()) +
           " is at version " + std::to_string(*version) +
           " (a local inventory is migrated automatically whenever certkeeper opens it).\n";
  }
  if (ctx.globals().json) {
    ctx.PrintJson(out);
  } else {
    ctx.Print(text);
  }
  return kExitOk;
}

// What the copy shared with the fleet besides the rows.
struct Shared {
  int accounts = 0;
  int versions = 0;
  int pending_orders = 0;
  std::vector<std::string> missing;  // "web v2": versions whose files are gone
};

// Account keys and every version whose files are still in the archive, sealed
// with the fleet's key, so that the other hosts can use the accounts and
// deliver the versions this host obtained. Runs inside the copy's transaction.
Status ShareMaterial(const lifecycle::Config& config, const std::string& key_file,
                     store::SqlInventory& source, store::SqlInventory& target, Shared& shared,
                     std::string& key_id) {
  auto key = SealingKey::Load(key_file);
  if (!key.ok()) return key.status().Annotate("read the fleet's encryption key file");
  CK_ASSIGN_OR_RETURN(std::unique_ptr<lifecycle::Fleet> fleet,
                      lifecycle::Fleet::Join(config.host, std::move(*key), &target));
  key_id = fleet->key_id();
  CK_ASSIGN_OR_RETURN(std::vector<store::Account> accounts, source.ListAccounts());
  for (const store::Account& a : accounts) {
    CK_RETURN_IF_ERROR(fs::CheckPrivateFileMode(a.key_path).Annotate("read an account key"));
    CK_ASSIGN_OR_RETURN(std::string pem, fs::ReadFile(a.key_path));
    CK_RETURN_IF_ERROR(fleet->ShareKey(store::AccountMaterial(a.server, a.account_url), pem));
    ++shared.accounts;
  }
  lifecycle::StateLayout layout(config.state_dir);
  CK_ASSIGN_OR_RETURN(std::vector<store::Certificate> certs, source.ListCertificates(false));
  for (const store::Certificate& c : certs) {
    // The key of an order in progress, so that another host resumes the
    // order instead of ordering again.
    if (c.pending_order && fs::Exists(c.pending_order->key_path)) {
      CK_ASSIGN_OR_RETURN(std::string pem, fs::ReadFile(c.pending_order->key_path));
      CK_RETURN_IF_ERROR(fleet->ShareKey(store::PendingOrderMaterial(c.spec.name), pem));
      ++shared.pending_orders;
    }
    CK_ASSIGN_OR_RETURN(std::vector<store::Version> versions, source.ListVersions(c.spec.name));
    for (const store::Version& v : versions) {
      auto files = layout.ReadVersion(v.certificate, v.n);
      if (files.status().code() == ErrorCode::kNotFound) {
        shared.missing.push_back(v.certificate + " v" + std::to_string(v.n));
        continue;
      }
      if (!files.ok()) return files.status().Annotate("read a version's files");
      CK_RETURN_IF_ERROR(fleet->ShareVersion(v.certificate, v.n, *files));
      ++shared.versions;
    }
  }
  return Status::Ok();
}

std::string Short(const std::string& checksum) { return checksum.substr(0, 16); }

std::string RenderTables(const store::CopyReport& report) {
  std::string out = "  table               rows    checksum          target\n";
  for (const store::TableCopy& t : report.tables) {
    std::string row = "  " + t.table + std::string(18 - std::min<size_t>(t.table.size(), 17), ' ');
    std::string rows = std::to_string(t.source_rows);
    row += std::string(rows.size() < 7 ? 7 - rows.size() : 0, ' ') + rows + "    " +
           Short(t.source_checksum) + "  ";
    if (report.dry_run) {
      row += "-";
    } else if (t.matches()) {
      row += "match";
    } else {
      row += "MISMATCH (" + std::to_string(t.target_rows) + " rows, " + Short(t.target_checksum) +
             ")";
    }
    out += row + "\n";
  }
  return out;
}

nlohmann::json ReportJson(const store::CopyReport& report, const std::string& source,
                          const std::string& target, const Shared& shared,
                          const std::string& key_id) {
  const nlohmann::json none(nullptr);
  nlohmann::json tables = nlohmann::json::array();
  for (const store::TableCopy& t : report.tables) {
    tables.push_back({{"table", t.table},
                      {"rows", t.source_rows},
                      {"checksum", t.source_checksum},
                      {"target_rows", report.dry_run ? none : nlohmann::json(t.target_rows)},
                      {"target_checksum", report.dry_run ? none : nlohmann::json(t.target_checksum)},
                      {"match", report.dry_run ? none : nlohmann::json(t.matches())}});
  }
  return {{"source", source},
          {"target", target},
          {"schema_version", report.schema_version},
          {"dry_run", report.dry_run},
          {"committed", report.committed},
          {"verified", !report.dry_run && report.verified()},
          {"tables", tables},
          {"shared",
           {{"key_id", key_id},
            {"accounts", shared.accounts},
            {"versions", shared.versions},
            {"pending_orders", shared.pending_orders},
            {"versions_without_files", shared.missing}}}};
}

// The --to url: given, and without a password (it would be in the process
// list and the shell's history).
Status CheckTarget(const CommandValues& o) {
  if (o.store_to.empty()) return Usage("store copy needs --to postgresql://...");
  Status url = lifecycle::CheckStoreUrl(o.store_to);
  if (url.ok()) return url;
  return Status(url.code(), "--to " + url.message())
      .Hint("give the password with --password-file PATH (a root-only file), never on the "
            "command line");
}

Result<std::unique_ptr<store::SqlInventory>> OpenTarget(CommandContext& ctx) {
  const CommandValues& o = ctx.values();
  store::PostgresOptions options;
  options.url = o.store_to;
  const std::string& password_file =
      o.password_file.empty() ? ctx.config().store.password_file : o.password_file;
  CK_ASSIGN_OR_RETURN(options.password, lifecycle::ReadStorePassword(password_file));
  auto target = store::SqlInventory::OpenPostgres(options);
  if (!target.ok()) return target.status().Annotate("open the target inventory");
  return target;
}

int Copy(CommandContext& ctx) {
  const lifecycle::Config& config = ctx.config();
  const CommandValues& o = ctx.values();
  const std::string key_file =
      o.key_file.empty() ? config.store.encryption_key_file : o.key_file;
  Status target_ok = CheckTarget(o);
  if (!target_ok.ok()) return ctx.Fail(target_ok, kExitUsage);
  if (key_file.empty() && !o.dry_run) {
    return ctx.Fail(Usage("store copy needs the fleet's encryption key: --key-file PATH or "
                          "[store] encryption_key_file"),
                    kExitUsage);
  }
  const std::string source_path = store::InventoryPath(config.state_dir);
  if (!fs::Exists(source_path)) {
    Status s = Status(ErrorCode::kNotFound, "no local inventory to copy")
                   .Where(source_path)
                   .Hint("run store copy on the host whose state directory holds it "
                         "(--state-dir)");
    return ctx.Fail(s, kExitUsage);
  }
  auto source = store::SqlInventory::Open(source_path);
  if (!source.ok()) return ctx.Fail(source.status(), ctx.ExitFor(source.status()));
  auto target = OpenTarget(ctx);
  if (!target.ok()) return ctx.Fail(target.status(), ctx.ExitFor(target.status()));

  Shared shared;
  std::string key_id;
  store::CopyOptions options;
  options.dry_run = o.dry_run;
  options.before_commit = [&] {
    return ShareMaterial(config, key_file, **source, **target, shared, key_id);
  };
  auto report = store::CopyInventory(**source, **target, options);
  if (!report.ok()) return ctx.Fail(report.status(), ctx.ExitFor(report.status()));
  const std::string to = (*target)->Location();
  if (ctx.globals().json) {
    ctx.PrintJson(ReportJson(*report, source_path, to, shared, key_id));
  } else {
    std::string text = std::string(report->dry_run ? "Would copy" : "Copied") +
                       " the SQLite inventory " + EscapeForTerminal(source_path) + " to " +
                       EscapeForTerminal(to) + " (schema version " +
                       std::to_string(report->schema_version) + "):\n" + RenderTables(*report);
    if (report->committed) {
      text += "Verified: every table's rows and checksum match.\nShared with the fleet (sealed "
              "with key " + EscapeForTerminal(key_id) + "): " + std::to_string(shared.accounts) +
              " account keys, " + std::to_string(shared.versions) + " versions, " +
              std::to_string(shared.pending_orders) + " pending order keys.\n";
      for (const std::string& m : shared.missing) {
        text += "Not shared (its files are gone from the archive): " + EscapeForTerminal(m) +
                "\n";
      }
    }
    ctx.Print(text);
  }
  if (!report->dry_run && !report->verified()) {
    if (ctx.globals().json) return kExitFailed;  // the report says "verified": false
    return ctx.Fail(Status(ErrorCode::kInternal,
                           "the copy differs from the source; the target was left as it was")
                        .Where(to),
                    kExitFailed);
  }
  return kExitOk;
}

}  // namespace

int CmdStore(CommandContext& ctx, const std::vector<std::string>& args) {
  if (args.size() != 1) return ctx.Fail(Usage("store takes one action"), kExitUsage);
  if (args[0] == "migrate") return Migrate(ctx);
  if (args[0] == "copy") return Copy(ctx);
  const CommandInfo* info = FindCommandInfo("store");
  return ctx.Fail(UnknownActionError(*info, args[0]), kExitUsage);
}

}  // namespace certkeeper::cli
