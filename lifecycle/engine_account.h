// The ACME accounts, one per configured CA (Config::cas, in config order;
// index 0 is the first): one key per CA under STATE/accounts/<ca-id>/, the
// account URL in the inventory, so that a run with a stored account sends no
// account request at all (RFC 8555 §7.3: the kid is all a request needs).
// Also the engine's ACME clients, one per CA, each made on first use.
//
// Thread-safe: renew --jobs shares the clients and the accounts between
// certificates. Mutating operations (Register, Rollover, Deactivate) MUST be
// called with the run lease held; the facade takes it. The account commands
// work on the first CA.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_ACCOUNT_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_ACCOUNT_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "acme/client.h"
#include "lifecycle/engine.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/engine_parts.h"

namespace certkeeper::lifecycle {

// How long a CA's directory kept in the inventory is used instead of fetched.
inline constexpr Duration kDirectoryMaxAge = std::chrono::hours(24);

class Accounts {
 public:
  Accounts(const EngineContext& ctx, AcmeClientFactory clients);

  // The number of configured CAs.
  size_t size() const { return cas_.size(); }
  const AcmeSettings& Settings(size_t ca) const { return ctx_.config->cas[ca]; }
  // The CA whose directory URL is `server`; nullopt when none is configured.
  std::optional<size_t> IndexOfServer(const std::string& server) const;

  // The ACME client of CA `ca` without an account (made on first use; no
  // request).
  Result<acme::Client*> BareClient(size_t ca = 0);
  // The ACME client, with an account registered or loaded (no request when
  // the inventory knows the account URL and its key file exists).
  Result<acme::Client*> AccountClient(size_t ca = 0);
  // After the CA answered accountDoesNotExist (it lost the account, e.g. its
  // database was reset): registers a new account with the same key, records
  // it and an event. The caller retries what failed.
  Status Reregister(size_t ca);
  // The account URL the client signs with; empty before AccountClient
  // succeeded. No request.
  std::string AccountUrl(size_t ca = 0);
  // The CA directory's newAccount URL when the directory has been fetched and
  // `failed_url` (where an error came from) is not the directory itself;
  // empty otherwise. Every URL but the directory's comes from the directory,
  // so this never sends a request.
  std::string NewAccountUrlFor(size_t ca, const std::string& failed_url);
  // Requests sent so far to every CA, by kind.
  std::map<std::string, int64_t> RequestCounts();
  // The same for CA `ca` alone.
  std::map<std::string, int64_t> RequestCountsOf(size_t ca);

  Result<AccountView> Register();
  Result<AccountView> Show();
  Result<AccountView> Rollover();
  Result<AccountView> Deactivate();

 private:
  struct PerCa {
    std::mutex mu;
    std::unique_ptr<acme::Client> client;  // guarded by mu until made
    bool account_ready = false;            // guarded by mu
  };
  Result<PrivateKey> LoadOrCreateAccountKey(const std::string& path);
  // In a fleet: this host's key file of `account` (AccountKeyPath), fetched
  // from the fleet and written 0600 when missing or when it holds another key
  // (that of an account this host registered and the fleet did not keep: it is
  // kept beside as account.key.replaced); the local file as it is when the
  // fleet holds no key for the account, empty when there is none either. A key
  // that does not open (another fleet key) is the error, and nothing is
  // written.
  Result<std::string> FleetAccountKey(const store::Account& account);
  // In a fleet, before registering at `server`: hosts starting at once must
  // not each register an account. Waits (bounded) until this host holds the
  // fleet's registration claim for the server, or another host's account is
  // recorded: then null, and the caller reads it.
  Result<std::unique_ptr<store::CertificateClaim>> ClaimRegistration(const std::string& server);
  // Registers a new account at CA `ca` with the key at key_path (created
  // when missing).
  Status RegisterNew(size_t ca, acme::Client& client, const std::string& key_path);
  // The request for CA `ca`: contact, terms, external account binding.
  Result<acme::NewAccountRequest> AccountRequest(size_t ca, const acme::Directory& dir);
  Result<acme::Client*> ClientLocked(size_t ca, PerCa& state);
  // Keeps a fetched directory document in the inventory (best effort: a
  // failure is logged, the next run fetches again).
  void KeepDirectory(const std::string& server, const std::string& document) const;
  Status CheckCa(size_t ca) const;

  const EngineContext& ctx_;
  AcmeClientFactory clients_;
  std::vector<std::unique_ptr<PerCa>> cas_;
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_ACCOUNT_H_
