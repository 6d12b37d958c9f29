// The certificate keys of an issuance (engine_issue.h): the key of a pending
// order (this host's, or in a fleet another host's, shared sealed), a staged
// next key, or a new one; and their cleanup once the order ended.
#include <optional>
#include <utility>

#include "base/fs.h"
#include "base/fs_unsynced.h"
#include "base/log.h"
#include "lifecycle/engine_issue.h"
#include "lifecycle/fleet.h"
#include "lifecycle/next_key.h"

namespace certkeeper::lifecycle {

Result<std::optional<Issuance::CertificateKey>> Issuance::FetchPendingKey(
    const CertificateSpec &spec, const store::PendingOrder &pending) {
  auto pem = ctx_.fleet->FetchKey(store::PendingOrderMaterial(spec.name));
  using Found = std::optional<CertificateKey>;
  if (!pem.ok() && pem.status().code() == ErrorCode::kNotFound) return Found();
  if (!pem.ok()) return pem.status().Annotate("fetch the key of the pending order of " + spec.name);
  auto key = PrivateKey::FromPem(*pem);
  if (!key.ok() || key->type() != spec.key_type) {
    log::Warn(
        "the shared key of the pending order cannot be used; placing a new "
        "order",
        {{"certificate", spec.name},
         {"error", key.ok() ? "another key type" : key.status().ToString()}});
    return Found();
  }
  // This host's own copy, where its own pending keys live: the version's
  // files are written from it as for an order this host placed.
  std::string path = ctx_.layout->PendingKeyPath(spec.name);
  Status s = ctx_.layout->BeginChange();
  if (s.ok()) s = fs::MakeDirs(ctx_.layout->ArchiveDir(spec.name), 0700);
  if (s.ok()) s = fs::WritePrivateFile(path, *pem);
  if (!s.ok()) return s.Annotate("write the key of the pending order of " + spec.name);
  log::Info("resuming the pending order of another host",
            {{"certificate", spec.name}, {"order", pending.order_url}});
  return Found(CertificateKey{std::move(*key), std::move(path), pending.order_url, ""});
}

Result<Issuance::CertificateKey> Issuance::PendingOrNewKey(const CertificateSpec &spec) {
  auto cert = ctx_.inventory->GetCertificate(spec.name);
  // Unknown is not "no pending order": a new order would be placed for an
  // order the CA may be about to finish.
  if (!cert.ok() && cert.status().code() != ErrorCode::kNotFound) {
    return cert.status().Annotate("read the pending order");
  }
  // In a fleet the shared key is the pending order's, whoever placed it: a
  // file at this host's pending key path may be left from an older order.
  if (ctx_.fleet && cert.ok() && cert->pending_order) {
    CK_ASSIGN_OR_RETURN(std::optional<CertificateKey> shared,
                        FetchPendingKey(spec, *cert->pending_order));
    if (shared) return std::move(*shared);
  }
  if (cert.ok() && cert->pending_order && fs::Exists(cert->pending_order->key_path) &&
      (!ctx_.fleet || cert->pending_order->key_path == ctx_.layout->PendingKeyPath(spec.name))) {
    const store::PendingOrder &pending = *cert->pending_order;
    auto pem = fs::ReadFile(pending.key_path);
    auto key = pem.ok() ? PrivateKey::FromPem(*pem) : Result<PrivateKey>(pem.status());
    if (key.ok() && key->type() == spec.key_type) {
      return CertificateKey{std::move(*key), pending.key_path, pending.order_url, ""};
    }
    // Without its key the order cannot be finalized: a new key and order.
    log::Warn("the pending order's key cannot be used; placing a new order",
              {{"certificate", spec.name},
               {"error", key.ok() ? "another key type" : key.status().ToString()}});
  }
  CK_ASSIGN_OR_RETURN(PrivateKey key, StagedOrNewKey(spec));
  CK_ASSIGN_OR_RETURN(std::string pem, key.ToPem());
  std::string path = ctx_.layout->PendingKeyPath(spec.name);
  Status s = ctx_.layout->BeginChange();
  if (s.ok()) s = fs::MakeDirs(ctx_.layout->ArchiveDir(spec.name), 0700);
  // 0600 and atomic, not synced: it is only there to resume the pending
  // order, whose record is not synced either (docs/crash-leftovers.md, "What
  // is synced, and when"). After a power loss a missing or unreadable key
  // means a new key and a new order (above); the version's privkey.pem,
  // written from memory and synced before the version is recorded, is the
  // key's durable copy.
  if (s.ok()) s = fs::WritePrivateFileUnsynced(path, pem);
  if (!s.ok()) return s.Annotate("write certificate key");
  return CertificateKey{std::move(key), std::move(path), "", std::move(pem)};
}

void Issuance::ForgetPendingKeyBestEffort(const std::string &name) {
  if (!ctx_.fleet) return;
  Status s = ctx_.fleet->ForgetKey(store::PendingOrderMaterial(name));
  if (!s.ok()) {
    log::Warn("cannot remove the shared key of an ended pending order",
              {{"certificate", name}, {"error", s.ToString()}});
  }
}

void Issuance::RemovePendingKeyBestEffort(const std::string &name, const std::string &path) {
  Status s = fs::RemoveAll(path);
  if (!s.ok()) {
    log::Warn(
        "cannot remove the pending certificate key (a copy of the "
        "recorded one)",
        {{"certificate", name}, {"path", path}, {"error", s.ToString()}});
  }
}

Result<PrivateKey> Issuance::StagedOrNewKey(const CertificateSpec &spec) {
  if (spec.next_key) {
    auto staged = LoadNextKey(*ctx_.layout, spec.name);
    if (staged.ok() && *staged && (*staged)->type() == spec.key_type) return std::move(**staged);
    if (!staged.ok()) {
      // Not used: a key of unknown state may have been read by others. Its
      // pins stop matching; `show` reports the error until it is removed.
      log::Warn("the staged next key cannot be used; generating a new key",
                {{"certificate", spec.name}, {"error", staged.status().ToString()}});
    }
  }
  return PrivateKey::Generate(spec.key_type);
}

void Issuance::StageNextKeyBestEffort(const CertificateSpec &spec, const PrivateKey &used) {
  if (!spec.next_key) return;
  auto next = RotateNextKey(*ctx_.layout, spec.name, spec.key_type, used);
  if (!next.ok()) {
    log::Warn(
        "cannot stage the next key; `certkeeper show` or the next issuance "
        "stages it",
        {{"certificate", spec.name}, {"error", next.status().ToString()}});
  }
}

}  // namespace certkeeper::lifecycle
