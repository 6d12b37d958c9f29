// `certkeeper import --from certbot|lego [DIR]`: take over another ACME
// client's certificates, accounts and renewal settings (docs/migrate.md).
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/text.h"
#include "cli/app.h"
#include "cli/command_context.h"
#include "cli/config_file.h"
#include "lifecycle/import_certbot.h"
#include "lifecycle/import_lego.h"

namespace certkeeper::cli {

namespace {

using nlohmann::json;

Result<std::string> DefaultDir(const std::string& from) {
  if (from == "certbot") return std::string("/etc/letsencrypt");
  const char* home = getenv("HOME");
  if (home == nullptr || *home == '\0') {
    return Status(ErrorCode::kInvalidArgument, "HOME is not set, so ~/.lego is unknown")
        .Hint("give lego's --path directory: certkeeper import --from lego DIR");
  }
  return std::string(home) + "/.lego";
}

// The serial of each version, oldest first (the plan's PEM was checked).
std::vector<std::string> Serials(const lifecycle::ImportedCertificate& c) {
  std::vector<std::string> out;
  for (const auto& v : c.versions) {
    auto info = ParseCertificatePem(v.cert_pem);
    out.push_back(info.ok() ? info->serial_hex : "");
  }
  return out;
}

json PlanJson(const lifecycle::ImportPlan& plan,
              const std::vector<lifecycle::UnmappedSetting>& unmapped, bool dry_run,
              const std::string& config, const std::string& config_file) {
  json j{{"from", plan.from}, {"source", plan.source_dir}, {"dry_run", dry_run}};
  j["accounts"] = json::array();
  for (const auto& a : plan.accounts) {
    j["accounts"].push_back({{"server", a.server}, {"url", a.account_url}, {"email", a.email}});
  }
  j["certificates"] = json::array();
  for (const auto& c : plan.certificates) {
    std::vector<std::string> serials = Serials(c);
    j["certificates"].push_back({{"name", c.name},
                                 {"domains", c.domains},
                                 {"key_type", std::string(KeyTypeName(c.key_type))},
                                 {"server", c.server},
                                 {"serials", serials},
                                 {"live_serial", serials.empty() ? "" : serials.back()},
                                 {"challenges", c.challenges},
                                 {"deploy", c.deploy}});
  }
  j["unmapped"] = json::array();
  for (const auto& u : unmapped) {
    j["unmapped"].push_back(
        {{"certificate", u.certificate}, {"setting", u.setting}, {"value", u.value}, {"hint", u.hint}});
  }
  j["config"] = config;
  j["config_file"] = config_file.empty() ? json(nullptr) : json(config_file);
  return j;
}

std::string PlanText(const lifecycle::ImportPlan& plan,
                     const std::vector<lifecycle::UnmappedSetting>& unmapped, bool dry_run) {
  std::string out = std::string(dry_run ? "Would import" : "Imported") + " from " + plan.from +
                    " " + EscapeForTerminal(plan.source_dir) + ":\n";
  for (const auto& a : plan.accounts) {
    out += "  account " + EscapeForTerminal(a.account_url) + " for " +
           EscapeForTerminal(a.server) + "\n";
  }
  for (const auto& c : plan.certificates) {
    std::vector<std::string> serials = Serials(c);
    std::string names;
    for (const auto& d : c.domains) names += " " + EscapeForTerminal(d);
    out += "  certificate " + EscapeForTerminal(c.name) + ": " + std::to_string(serials.size()) +
           " version(s), live serial " + (serials.empty() ? "-" : serials.back()) + ", " +
           std::string(KeyTypeName(c.key_type)) + ", names" + names + "\n";
  }
  if (plan.accounts.empty() && plan.certificates.empty()) out += "  nothing\n";
  if (!unmapped.empty()) {
    out += "Not mapped:\n";
    for (const auto& u : unmapped) {
      out += "  " + (u.certificate.empty() ? std::string("*") : EscapeForTerminal(u.certificate)) +
             ": " + EscapeForTerminal(u.setting) +
             (u.value.empty() ? "" : " = " + EscapeForTerminal(u.value)) + "\n      " +
             EscapeForTerminal(u.hint) + "\n";
    }
  }
  return out;
}

}  // namespace

int CmdImportFrom(CommandContext& ctx, const std::vector<std::string>& args) {
  const CommandValues& o = ctx.values();
  if (o.from != "certbot" && o.from != "lego") {
    return ctx.Fail(Status(ErrorCode::kInvalidArgument,
                           o.from.empty() ? "--write-config and --dry-run need --from"
                                          : "--from must be certbot or lego")
                        .Hint("usage: certkeeper import --from certbot|lego [DIR]"),
                    kExitUsage);
  }
  if (args.size() > 1) {
    return ctx.Fail(Status(ErrorCode::kInvalidArgument, "import --from takes one directory")
                        .Hint("usage: certkeeper import --from " + o.from + " [DIR]"),
                    kExitUsage);
  }
  Result<std::string> dir = args.empty() ? DefaultDir(o.from) : Result<std::string>(args[0]);
  if (!dir.ok()) return ctx.Fail(dir.status(), kExitUsage);
  std::string server;
  if (auto cas = ctx.config().Cas(); cas.size() == 1) server = cas.front().server;
  auto plan = o.from == "certbot" ? lifecycle::ScanCertbot(*dir) : lifecycle::ScanLego(*dir, server);
  if (!plan.ok()) return ctx.Fail(plan.status(), ctx.ExitFor(plan.status()));
  const std::string config = lifecycle::RenderImportConfig(*plan, ctx.config());
  // Checked before anything is written, so a refused FILE leaves no half import.
  if (!o.write_config.empty() && fs::Exists(o.write_config)) {
    return ctx.Fail(Status(ErrorCode::kInvalidArgument, "the config file exists; not overwritten")
                        .Where(o.write_config)
                        .Hint("choose a new file, then merge it into your config by hand"),
                    kExitUsage);
  }
  std::vector<lifecycle::UnmappedSetting> unmapped = plan->unmapped;
  bool failed = false;
  for (const auto& u : unmapped) failed = failed || u.setting == "certificate";
  if (!o.dry_run) {
    auto engine = ctx.OpenEngine();
    if (!engine.ok()) return ctx.Fail(engine.status(), ctx.ExitFor(engine.status()));
    auto report = (*engine)->ApplyImport(*plan);
    if (!report.ok()) return ctx.Fail(report.status(), ctx.ExitFor(report.status()));
    for (const auto& s : report->skipped) {
      unmapped.push_back(s);
      // Skipped because it is there already: nothing failed.
    }
    if (!o.write_config.empty()) {
      Status s = fs::WriteNewFile(o.write_config, config, 0644);
      if (s.ok()) s = fs::SyncDir(fs::DirName(o.write_config));
      if (!s.ok()) {
        return ctx.Fail(s.Annotate("write the imported config (the inventory has the import)"),
                        kExitFailed);
      }
    }
  }
  if (ctx.globals().json) {
    ctx.PrintJson(PlanJson(*plan, unmapped, o.dry_run, config, o.dry_run ? "" : o.write_config));
  } else {
    std::string text = PlanText(*plan, unmapped, o.dry_run);
    if (!o.write_config.empty() && !o.dry_run) {
      text += "Config written to " + EscapeForTerminal(o.write_config) +
              "; review it, then run certkeeper -c " + EscapeForTerminal(o.write_config) + "\n";
    } else {
      text += std::string("\nThe config that renews them") +
              (o.dry_run ? "" : " (save it and review it; --write-config FILE writes it)") +
              ":\n\n" + config;
    }
    ctx.Print(text);
  }
  return failed ? kExitFailed : kExitOk;
}

}  // namespace certkeeper::cli
