// The ACME account at the configured CA: one key per CA under
// STATE/accounts/<ca-id>/, the account URL in the inventory, so that a run
// with a stored account sends no account request at all (RFC 8555 §7.3: the
// kid is all a request needs). Also the engine's one ACME client.
//
// Thread-safe: renew --jobs shares the client and the account between
// certificates. Mutating operations (Register, Rollover, Deactivate) MUST be
// called with the run lease held; the facade takes it.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_ACCOUNT_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_ACCOUNT_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "acme/client.h"
#include "lifecycle/engine.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/engine_parts.h"

namespace certkeeper::lifecycle {

class Accounts {
 public:
  Accounts(const EngineContext& ctx, AcmeClientFactory clients)
      : ctx_(ctx), clients_(std::move(clients)) {}

  // The ACME client without an account (made on first use; no request).
  Result<acme::Client*> BareClient();
  // The ACME client, with an account registered or loaded (no request when
  // the inventory knows the account URL and its key file exists).
  Result<acme::Client*> AccountClient();
  // The account URL the client signs with; empty before AccountClient
  // succeeded. No request.
  std::string AccountUrl();
  // The CA directory's newAccount URL when the directory has been fetched and
  // `failed_url` (where an error came from) is not the directory itself;
  // empty otherwise. Every URL but the directory's comes from the directory,
  // so this never sends a request.
  std::string NewAccountUrlFor(const std::string& failed_url);
  // Requests sent so far, by kind.
  std::map<std::string, int64_t> RequestCounts();

  Result<AccountView> Register();
  Result<AccountView> Show();
  Result<AccountView> Rollover();
  Result<AccountView> Deactivate();

 private:
  Result<PrivateKey> LoadOrCreateAccountKey(const std::string& path);
  // Registers a new account with the key at key_path (created when missing).
  Status RegisterNew(acme::Client& client, const std::string& key_path);

  const EngineContext& ctx_;
  AcmeClientFactory clients_;
  std::mutex mu_;
  std::unique_ptr<acme::Client> client_;  // guarded by mu_ until made
  bool account_ready_ = false;            // guarded by mu_
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_ACCOUNT_H_
