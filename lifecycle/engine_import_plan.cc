// Writing what `import --from certbot|lego` found (engine_versions.h).
#include "base/fs.h"
#include "base/log.h"
#include "lifecycle/engine_versions.h"
#include "lifecycle/fleet.h"
#include "store/material_store.h"

namespace certkeeper::lifecycle {

namespace {

// The account becomes this CA's account exactly as RegisterNew would have
// recorded it, so that renewals sign with it and never register another.
Status ImportAccount(const EngineContext& ctx, const ImportedAccount& account,
                     ImportReport& report) {
  auto stored = ctx.inventory->FindAccount(account.server);
  if (stored.ok()) {
    if (stored->account_url == account.account_url) {
      report.accounts.push_back(account.account_url);
      return Status::Ok();
    }
    report.skipped.push_back({"", "account", account.account_url,
                              "the inventory already has account " + stored->account_url +
                                  " for " + account.server + "; kept it"});
    return Status::Ok();
  }
  if (stored.status().code() != ErrorCode::kNotFound) return stored.status();
  const std::string key_path = ctx.layout->AccountKeyPath(account.server);
  if (fs::Exists(key_path)) {
    report.skipped.push_back({"", "account", account.account_url,
                              "an account key without an account is already at " + key_path +
                                  "; remove it to import this account"});
    return Status::Ok();
  }
  CK_RETURN_IF_ERROR(fs::MakeDirs(fs::DirName(key_path), 0700));
  CK_RETURN_IF_ERROR(fs::WritePrivateFile(key_path, account.key_pem)
                         .Annotate("write the imported account key"));
  if (ctx.fleet) {
    CK_RETURN_IF_ERROR(ctx.fleet
                           ->ShareKey(store::AccountMaterial(account.server, account.account_url),
                                      account.key_pem)
                           .Annotate("share the imported account key with the fleet"));
  }
  store::Account row;
  row.server = account.server;
  row.account_url = account.account_url;
  row.key_path = key_path;
  row.email = account.email;
  row.status = "valid";
  CK_RETURN_IF_ERROR(ctx.inventory->PutAccount(row));
  ctx.Event("", "account-imported", "account " + account.account_url + " at " + account.server);
  log::Info("account imported", {{"server", account.server}, {"account", account.account_url}});
  report.accounts.push_back(account.account_url);
  return Status::Ok();
}

Result<ImportedResult> ImportCertificate(const EngineContext& ctx, const ImportPlan& plan,
                                         const ImportedCertificate& cert) {
  CertificateSpec spec;
  spec.name = cert.name;
  spec.domains = cert.domains;
  spec.key_type = cert.key_type;
  spec.challenges = cert.challenges;
  spec.deploy = cert.deploy;
  store::CertificateSpec row = ToStoreSpec(spec, *ctx.config);
  row.server = cert.server;
  CK_RETURN_IF_ERROR(ctx.inventory->PutCertificate(row));
  ImportedResult result;
  result.name = cert.name;
  int live = 0;
  for (const ImportedVersion& version : cert.versions) {
    CK_ASSIGN_OR_RETURN(CertInfo info, CheckImportedVersion(version));
    CK_ASSIGN_OR_RETURN(KeyType key_type, KeyTypeOfPem(version.key_pem));
    VersionFiles files;
    files.cert_pem = version.cert_pem;
    files.chain_pem = version.chain_pem;
    files.key_pem = version.key_pem;
    CK_ASSIGN_OR_RETURN(int n, ctx.inventory->NextVersionNumber(cert.name));
    CK_RETURN_IF_ERROR(ctx.layout->WriteVersion(cert.name, n, files));
    store::Version v = VersionFromCertificate(cert.name, n, info, CertificateIdentifiers(info),
                                             std::string(KeyTypeName(key_type)),
                                             ctx.layout->VersionDir(cert.name, n));
    v.state = store::VersionState::kDeployed;
    v.server = cert.server;
    CK_RETURN_IF_ERROR(ctx.inventory->AddVersion(v));
    result.serials.push_back(v.serial);
    live = n;
  }
  CK_RETURN_IF_ERROR(ctx.layout->SwitchLive(cert.name, live));
  result.live_serial = result.serials.back();
  ctx.Event(cert.name, "imported",
            "from " + plan.from + " " + plan.source_dir + ": " +
                std::to_string(result.serials.size()) + " version(s), live serial " +
                result.live_serial);
  return result;
}

}  // namespace

Result<ImportReport> ApplyImportPlan(const EngineContext& ctx, const ImportPlan& plan) {
  ImportReport report;
  for (const ImportedAccount& account : plan.accounts) {
    CK_RETURN_IF_ERROR(ImportAccount(ctx, account, report)
                           .Annotate("import account " + account.account_url));
  }
  for (const ImportedCertificate& cert : plan.certificates) {
    if (cert.versions.empty()) continue;
    auto existing = ctx.inventory->GetCertificate(cert.name);
    if (existing.ok()) {
      report.skipped.push_back({cert.name, "certificate", plan.source_dir,
                                "already in the inventory; not imported again"});
      continue;
    }
    if (existing.status().code() != ErrorCode::kNotFound) return existing.status();
    CK_ASSIGN_OR_RETURN(ImportedResult result, ImportCertificate(ctx, plan, cert));
    report.certificates.push_back(std::move(result));
  }
  return report;
}

}  // namespace certkeeper::lifecycle
