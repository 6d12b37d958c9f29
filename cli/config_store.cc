// The fleet settings of certkeeper.toml: the top-level `host` and [store].
// Each value the engine's rules refuse is refused here already, so that the
// message names its line; CheckConfig applies the same rules again to the
// whole Config (lifecycle/config_check.h).
#include <string>

#include "cli/config_reader.h"
#include "lifecycle/config_check.h"

namespace certkeeper::cli {

namespace {

// `why` (a lifecycle rule's Status) at `node`, keeping the rule's own hint.
Status AtLine(const TableReader& r, const toml::node& node, std::string_view key,
              const Status& why) {
  return r.Error(node, key, why.message()).Hint(why.hint());
}

Status ParseStore(const toml::table& table, const std::string& source,
                  lifecycle::StoreSettings& out) {
  TableReader r(table, "store", source);
  CK_RETURN_IF_ERROR(r.String("url", out.url));
  if (const toml::node* n = table.get("url"); n && !out.url.empty()) {
    Status url = lifecycle::CheckStoreUrl(out.url);
    if (!url.ok()) return AtLine(r, *n, "url", url);
  }
  CK_RETURN_IF_ERROR(r.String("password_file", out.password_file));
  CK_RETURN_IF_ERROR(r.String("encryption_key_file", out.encryption_key_file));
  CK_RETURN_IF_ERROR(r.DurationValue("lease_ttl", out.lease_ttl));
  if (const toml::node* n = table.get("lease_ttl")) {
    Status ttl = lifecycle::CheckLeaseTtl(out.lease_ttl);
    if (!ttl.ok()) return AtLine(r, *n, "lease_ttl", ttl);
  }
  return r.Finish();
}

}  // namespace

Status ParseFleet(TableReader& root, const toml::table& table, const std::string& source,
                  lifecycle::Config& config) {
  CK_RETURN_IF_ERROR(root.String("host", config.host));
  if (const toml::node* n = table.get("host")) {
    Status host = lifecycle::CheckHostName(config.host);
    if (!host.ok()) return AtLine(root, *n, "host", host);
  } else {
    config.host = lifecycle::DefaultHostName();
  }
  const toml::table* store = nullptr;
  CK_RETURN_IF_ERROR(root.Table("store", store));
  if (store) CK_RETURN_IF_ERROR(ParseStore(*store, source, config.store));
  return Status::Ok();
}

}  // namespace certkeeper::cli
