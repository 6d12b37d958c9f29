// Revoking the live version (engine_versions.h).
#include "base/crypto.h"
#include "base/log.h"
#include "lifecycle/engine_versions.h"

namespace certkeeper::lifecycle {

Status RevokeLiveVersion(const EngineContext& ctx, Accounts& accounts, const std::string& name,
                         const std::string& reason) {
  CK_ASSIGN_OR_RETURN(acme::RevocationReason code, acme::ParseRevocationReason(reason));
  auto live = ctx.inventory->LiveVersion(name);
  if (!live.ok() && live.status().code() != ErrorCode::kNotFound) return live.status();
  if (!live.ok()) {
    auto cert = ctx.inventory->GetCertificate(name);
    if (!cert.ok()) {
      if (cert.status().code() != ErrorCode::kNotFound) return cert.status();
      return NotManagedError(name);
    }
    return Status(ErrorCode::kFailedPrecondition, "\"" + name + "\" has no live version to revoke");
  }
  CK_ASSIGN_OR_RETURN(VersionFiles files, ctx.layout->ReadVersion(name, live->n));
  // At the CA that issued it (the first CA for a version of unknown origin).
  CK_ASSIGN_OR_RETURN(acme::Client * client,
                      accounts.AccountClient(accounts.IndexOfServer(live->server).value_or(0)));
  Status s = client->RevokeCertificate(files.cert_pem, code);
  if (!s.ok() && (s.code() == ErrorCode::kAcme || s.code() == ErrorCode::kPermissionDenied)) {
    // Not this account's certificate (e.g. imported): prove control of its key.
    auto key = PrivateKey::FromPem(files.key_pem);
    if (key.ok()) {
      Status by_key = client->RevokeCertificate(files.cert_pem, code, &*key);
      if (by_key.ok()) s = by_key;
    }
  }
  if (!s.ok()) return s.Annotate("revoke " + name);
  CK_RETURN_IF_ERROR(ctx.inventory->RevokeVersion(name, live->n, ctx.clock->Now(), reason));
  ctx.Event(name, "revoked", "version " + std::to_string(live->n) + " serial " + live->serial +
                                 " reason " + reason);
  log::Info("certificate revoked", {{"certificate", name}, {"serial", live->serial}});
  return Status::Ok();
}

}  // namespace certkeeper::lifecycle
