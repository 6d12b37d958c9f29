// Fleet: what a host adds to the engine when several hosts share one
// inventory (PostgreSQL, [store] url): its name, the key that seals private
// keys at rest, and the files it shares through the inventory so that any
// host can resume an order, use the account, or deliver a version that
// another host obtained (docs/fleet.md).
//
// Every private key passes through here sealed with AES-256-GCM
// (base/sealing.h), bound to where it is stored; a host whose key differs
// from the fleet's is stopped by Join before it reads or writes anything.
#ifndef CERTKEEPER_LIFECYCLE_FLEET_H_
#define CERTKEEPER_LIFECYCLE_FLEET_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/sealing.h"
#include "base/status.h"
#include "lifecycle/state_layout.h"
#include "store/material_store.h"

namespace certkeeper::lifecycle {

class Fleet {
 public:
  // Checks `key` against the fleet's: the first host to use the inventory
  // stores a value sealed with its key; every later host must open it.
  // kPermissionDenied naming both key ids when the keys differ. `material`
  // MUST outlive the Fleet.
  static Result<std::unique_ptr<Fleet>> Join(std::string host, SealingKey key,
                                             store::MaterialStore* material);

  const std::string& host() const { return host_; }
  const std::string& key_id() const { return key_.id(); }

  // Version n's files (the key sealed) into the inventory. Called before the
  // version is recorded, so that no host sees a version it cannot deliver.
  Status ShareVersion(std::string_view name, int n, const VersionFiles& files) const;
  // kNotFound when version n's files were never shared (a version issued
  // before the inventory was shared: only its own host has them).
  Result<VersionFiles> FetchVersion(std::string_view name, int n) const;

  // A private key that belongs to `owner` (store::AccountMaterial,
  // store::PendingOrderMaterial), sealed.
  Status ShareKey(std::string_view owner, std::string_view key_pem) const;
  // kNotFound when none was shared.
  Result<std::string> FetchKey(std::string_view owner) const;
  Status ForgetKey(std::string_view owner) const;

 private:
  Fleet(std::string host, SealingKey key, store::MaterialStore* material)
      : host_(std::move(host)), key_(std::move(key)), material_(material) {}

  const std::string host_;
  const SealingKey key_;
  store::MaterialStore* const material_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_FLEET_H_
