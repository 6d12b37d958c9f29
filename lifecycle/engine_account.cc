// The ACME account (engine_account.h).
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "base/text.h"
#include "lifecycle/engine_account.h"

namespace certkeeper::lifecycle {

namespace {

// A rollover writes the new key here before it asks the CA, and the file stays
// until the CA's answer is known: a lost answer to a keyChange the CA applied
// must not leave the account bound to a key that no longer exists.
std::string PendingKeyPath(const std::string& key_path) { return key_path + ".new"; }

// RFC 8555 §7.3.5: a problem document with a 4xx status means the CA refused
// the change; without one (transport error, timeout, 5xx, garbage) the CA may
// have applied it.
bool DefinitelyRefused(const Status& s) {
  // kFailedPrecondition: nothing was sent, or the CA answered that it does
  // not support the operation (acme/client.h RolloverKey).
  if (s.code() == ErrorCode::kFailedPrecondition) return true;
  const Problem* p = s.problem();
  return p != nullptr && p->status >= 400 && p->status < 500;
}

// Makes the pending key the account key: the replaced key is kept beside it as
// account.key.old, then the pending file (already 0600 and synced) is renamed
// over account.key and the directory synced, so a crash leaves one of the two.
Status PromotePendingKey(const std::string& key_path) {
  std::string pending = PendingKeyPath(key_path);
  CK_ASSIGN_OR_RETURN(std::string old_pem, fs::ReadFile(key_path));
  CK_RETURN_IF_ERROR(fs::WritePrivateFile(key_path + ".old", old_pem));
  if (rename(pending.c_str(), key_path.c_str()) != 0) {
    return Status(ErrorCode::kIo, std::string("promote the new account key: ") +
                                      strerror(errno))
        .Where(pending);
  }
  return fs::SyncDir(fs::DirName(key_path));
}

struct SettledKey {
  PrivateKey key;
  std::string event_kind;
  std::string event_message;
};

// A rollover whose outcome is unknown left the pending key behind: asks the CA
// which of the two keys the account is bound to (RFC 8555 §7.3.1), keeps that
// one and drops the other. Anything but a clear answer is an error and keeps
// both files, so the next run asks again.
Result<SettledKey> SettlePendingRollover(acme::Client& client, const store::Account& account,
                                         PrivateKey current) {
  std::string pending = PendingKeyPath(account.key_path);
  const std::string what = "settle an unfinished account key rollover";
  CK_RETURN_IF_ERROR(fs::CheckPrivateFileMode(pending).Annotate(what));
  CK_ASSIGN_OR_RETURN(std::string pem, fs::ReadFile(pending));
  auto new_key = PrivateKey::FromPem(pem);
  if (!new_key.ok()) {
    return new_key.status().Annotate(what).Where(pending).Hint(
        "the file must hold the PEM private key written by `certkeeper account rollover`");
  }
  const std::string hint =
      "the CA may have switched the account to " + pending +
      "; both keys are kept until the CA says which one it accepts";
  Result<std::string> with_new = client.FindAccountUrl(*new_key);
  if (with_new.ok()) {
    if (*with_new != account.account_url) {
      return Status(ErrorCode::kProtocol, what + ": the new key belongs to account " +
                                              *with_new + ", not " + account.account_url)
          .Where(pending)
          .Hint(hint);
    }
    CK_RETURN_IF_ERROR(PromotePendingKey(account.key_path).Annotate(what));
    log::Info("account key rollover confirmed by the CA",
              {{"account", account.account_url}, {"previous_key", account.key_path + ".old"}});
    return SettledKey{std::move(*new_key), "account-key-rollover",
                      "account " + account.account_url +
                          ": new key (the CA's answer to keyChange had been lost)"};
  }
  if (with_new.status().code() != ErrorCode::kNotFound) {
    return with_new.status().Annotate(what + ": ask the CA about the new key").Hint(hint);
  }
  Result<std::string> with_old = client.FindAccountUrl(current);
  if (!with_old.ok() || *with_old != account.account_url) {
    Status s = with_old.ok() ? Status(ErrorCode::kProtocol, "the old key belongs to account " +
                                                                *with_old)
                             : with_old.status();
    return s.Annotate(what + ": ask the CA about the old key").Hint(hint);
  }
  CK_RETURN_IF_ERROR(fs::RemoveAll(pending).Annotate(what));
  log::Info("account key rollover did not happen; the old key stays",
            {{"account", account.account_url}, {"removed", pending}});
  return SettledKey{std::move(current), "account-key-rollover-abandoned",
                    "account " + account.account_url +
                        ": the CA kept the old key; the unused new key was removed"};
}

}  // namespace

Accounts::Accounts(const EngineContext& ctx, AcmeClientFactory clients)
    : ctx_(ctx), clients_(std::move(clients)) {
  for (size_t i = 0; i < std::max<size_t>(ctx_.config->cas.size(), 1); ++i) {
    cas_.push_back(std::make_unique<PerCa>());
  }
}

std::optional<size_t> Accounts::IndexOfServer(const std::string& server) const {
  for (size_t i = 0; i < ctx_.config->cas.size(); ++i) {
    if (ctx_.config->cas[i].server == server) return i;
  }
  return std::nullopt;
}

std::map<std::string, int64_t> Accounts::RequestCounts() {
  std::map<std::string, int64_t> total;
  for (auto& state : cas_) {
    std::lock_guard<std::mutex> lock(state->mu);
    if (!state->client) continue;
    for (const auto& [kind, n] : state->client->stats().Snapshot()) total[kind] += n;
  }
  return total;
}

std::map<std::string, int64_t> Accounts::RequestCountsOf(size_t ca) {
  if (ca >= cas_.size()) return {};
  std::lock_guard<std::mutex> lock(cas_[ca]->mu);
  if (!cas_[ca]->client) return {};
  return cas_[ca]->client->stats().Snapshot();
}

Status Accounts::CheckCa(size_t ca) const {
  CK_RETURN_IF_ERROR(CheckServerConfigured(*ctx_.config));
  if (ca >= ctx_.config->cas.size()) {
    return Status(ErrorCode::kInternal, "no CA number " + std::to_string(ca) + " is configured");
  }
  return Status::Ok();
}

Result<acme::Client*> Accounts::ClientLocked(size_t ca, PerCa& state) {
  if (!state.client) {
    const AcmeSettings& acme = Settings(ca);
    acme::ClientOptions options;
    options.directory_url = acme.server;
    options.ca_bundle_file = acme.ca_bundle;
    options.clock = ctx_.clock;
    options.timeout = acme.timeout;
    options.allow_insecure_http = acme.allow_insecure_http;
    // The directory kept by an earlier run, for a day (a CA that moved its
    // URLs costs one refetch); every fetch is kept for the next run.
    const TimePoint now = ctx_.clock->Now();
    if (auto kept = ctx_.inventory->FindCaDirectory(acme.server);
        kept.ok() && kept->has_value() && (*kept)->fetched_at <= now &&
        now - (*kept)->fetched_at < kDirectoryMaxAge) {
      options.directory_document = (*kept)->document;
    }
    options.directory_fetched = [this, server = acme.server](const std::string& document) {
      KeepDirectory(server, document);
    };
    CK_ASSIGN_OR_RETURN(state.client, clients_(options));
  }
  return state.client.get();
}

void Accounts::KeepDirectory(const std::string& server, const std::string& document) const {
  auto json = nlohmann::json::parse(document, nullptr, false);
  auto dir = json.is_discarded() ? Result<acme::Directory>(Status(ErrorCode::kProtocol, "not JSON"))
                                 : acme::ParseDirectory(json, server);
  if (!dir.ok()) return;  // the client refused it already
  // A document too large to be a directory is not kept; the next run fetches.
  constexpr size_t kMaxKeptDirectory = 64 * 1024;
  store::CaDirectory row{server, dir->renewal_info, ctx_.clock->Now(),
                         document.size() <= kMaxKeptDirectory ? document : ""};
  Status s = ctx_.inventory->PutCaDirectory(row);
  if (!s.ok()) log::Warn("cannot keep the CA directory", {{"server", server}, {"error", s.ToString()}});
}

Result<acme::Client*> Accounts::BareClient(size_t ca) {
  CK_RETURN_IF_ERROR(CheckCa(ca));
  PerCa& state = *cas_[ca];
  std::lock_guard<std::mutex> lock(state.mu);
  return ClientLocked(ca, state);
}

std::string Accounts::AccountUrl(size_t ca) {
  if (ca >= cas_.size()) return "";
  PerCa& state = *cas_[ca];
  std::lock_guard<std::mutex> lock(state.mu);
  return state.client ? state.client->account_url() : std::string();
}

std::string Accounts::NewAccountUrlFor(size_t ca, const std::string& failed_url) {
  if (ca >= ctx_.config->cas.size()) return "";
  if (failed_url.empty() || failed_url == Settings(ca).server) return "";
  acme::Client* client = nullptr;
  {
    PerCa& state = *cas_[ca];
    std::lock_guard<std::mutex> lock(state.mu);
    client = state.client.get();
  }
  if (!client) return "";
  auto directory = client->GetDirectory();
  return directory.ok() ? directory->new_account : std::string();
}

Result<PrivateKey> Accounts::LoadOrCreateAccountKey(const std::string& path) {
  if (fs::Exists(path)) {
    CK_RETURN_IF_ERROR(fs::CheckPrivateFileMode(path).Annotate("account key"));
    CK_ASSIGN_OR_RETURN(std::string pem, fs::ReadFile(path));
    auto key = PrivateKey::FromPem(pem);
    if (!key.ok()) {
      return key.status().Annotate("account key").Where(path).Hint(
          "the file must hold an EC P-256/P-384 or RSA private key in PEM");
    }
    return key;
  }
  CK_RETURN_IF_ERROR(fs::MakeDirs(fs::DirName(path), 0700));
  CK_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(KeyType::kEc256));
  CK_ASSIGN_OR_RETURN(std::string pem, key.ToPem());
  CK_RETURN_IF_ERROR(fs::WritePrivateFile(path, pem));
  log::Info("created account key", {{"path", path}});
  return key;
}

Result<acme::Client*> Accounts::AccountClient(size_t ca) {
  CK_RETURN_IF_ERROR(CheckCa(ca));
  PerCa& state = *cas_[ca];
  std::lock_guard<std::mutex> lock(state.mu);
  CK_ASSIGN_OR_RETURN(acme::Client * client, ClientLocked(ca, state));
  if (state.account_ready) return client;
  const std::string& server = Settings(ca).server;
  auto stored = ctx_.inventory->FindAccount(server);
  // Held until the account is recorded: the other hosts wait for it.
  std::unique_ptr<store::CertificateClaim> registering;
  if (ctx_.fleet && !stored.ok() && stored.status().code() == ErrorCode::kNotFound) {
    CK_ASSIGN_OR_RETURN(registering, ClaimRegistration(server));
    stored = ctx_.inventory->FindAccount(server);
  }
  if (stored.ok() && ctx_.fleet) {
    // Another host may have registered it: its row names that host's path.
    CK_ASSIGN_OR_RETURN(stored->key_path, FleetAccountKey(*stored));
  }
  // A key without its file is unusable: never trust the row alone.
  if (stored.ok() && !stored->key_path.empty() && fs::Exists(stored->key_path)) {
    CK_ASSIGN_OR_RETURN(PrivateKey key, LoadOrCreateAccountKey(stored->key_path));
    if (fs::Exists(PendingKeyPath(stored->key_path))) {
      CK_ASSIGN_OR_RETURN(SettledKey settled,
                          SettlePendingRollover(*client, *stored, std::move(key)));
      ctx_.Event("", settled.event_kind, settled.event_message);
      key = std::move(settled.key);
    }
    client->SetAccountKey(key, stored->account_url);
    state.account_ready = true;
    return client;
  }
  if (!stored.ok() && stored.status().code() != ErrorCode::kNotFound) return stored.status();
  CK_RETURN_IF_ERROR(RegisterNew(ca, *client, ctx_.layout->AccountKeyPath(server)));
  state.account_ready = true;
  return client;
}

Status Accounts::Reregister(size_t ca) {
  CK_RETURN_IF_ERROR(CheckCa(ca));
  PerCa& state = *cas_[ca];
  std::lock_guard<std::mutex> lock(state.mu);
  CK_ASSIGN_OR_RETURN(acme::Client * client, ClientLocked(ca, state));
  const std::string& server = Settings(ca).server;
  const std::string lost = client->account_url();
  auto stored = ctx_.inventory->FindAccount(server);
  const std::string key_path = stored.ok() && !ctx_.fleet ? stored->key_path
                                                          : ctx_.layout->AccountKeyPath(server);
  state.account_ready = false;
  CK_RETURN_IF_ERROR(RegisterNew(ca, *client, key_path)
                         .Annotate("register again after the CA lost account " + lost));
  ctx_.Event("", "account-reregistered",
             "the CA at " + server + " no longer knew account " + lost + "; registered " +
                 client->account_url());
  log::Warn("the CA no longer knew the account; registered a new one",
            {{"server", server}, {"lost", lost}, {"account", client->account_url()}});
  state.account_ready = true;
  return Status::Ok();
}

Result<acme::NewAccountRequest> Accounts::AccountRequest(size_t ca, const acme::Directory& dir) {
  const AcmeSettings& acme = Settings(ca);
  acme::NewAccountRequest request;
  // The contact goes into a JSON payload, which holds UTF-8 only (RFC 8259
  // §8.1); --email can carry any bytes.
  if (!IsValidUtf8(acme.email)) {
    return Status(ErrorCode::kInvalidArgument, "the account email address is not valid UTF-8")
        .Hint("check --email or email in [acme] / [[ca]]");
  }
  if (!acme.email.empty()) request.contact.push_back("mailto:" + acme.email);
  request.terms_of_service_agreed = acme.agree_tos;
  if (!acme.eab_kid.empty()) {
    // RFC 8555 §7.3.4: the MAC key is a secret like a private key.
    const std::string what = "read the external account binding key of " + acme.server;
    CK_RETURN_IF_ERROR(fs::CheckPrivateFileMode(acme.eab_hmac_file).Annotate(what));
    CK_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(acme.eab_hmac_file));
    auto mac_key = acme::DecodeEabMacKey(text);
    if (!mac_key.ok()) {
      return mac_key.status().Annotate(what).Where(acme.eab_hmac_file).Hint(
          "the file must hold the MAC key the CA gave, in base64url, and nothing else");
    }
    request.external_account_binding =
        acme::NewAccountRequest::ExternalAccountBinding{acme.eab_kid, *mac_key, acme.eab_alg};
  }
  if (!dir.meta.terms_of_service.empty() && !acme.agree_tos) {
    return Status(ErrorCode::kInvalidArgument,
                  "the CA requires agreeing to its terms of service: " +
                      dir.meta.terms_of_service)
        .Where(acme.server)
        .Hint("read them, then pass --agree-tos or set agree_tos = true in [acme] / [[ca]]");
  }
  return request;
}

Status Accounts::RegisterNew(size_t ca, acme::Client& client, const std::string& key_path) {
  const AcmeSettings& acme = Settings(ca);
  const std::string& server = acme.server;
  CK_ASSIGN_OR_RETURN(PrivateKey key, LoadOrCreateAccountKey(key_path));
  client.SetAccountKey(key, "");
  CK_ASSIGN_OR_RETURN(acme::Directory dir, client.GetDirectory());
  CK_ASSIGN_OR_RETURN(acme::NewAccountRequest request, AccountRequest(ca, dir));
  auto account = client.NewAccount(request);
  if (!account.ok()) {
    return account.status().Annotate(
        acme.name.empty() ? std::string("register account")
                          : "register an account with CA \"" + acme.name + "\"");
  }
  store::Account row;
  row.server = server;
  row.account_url = account->url;
  row.key_path = key_path;
  row.email = acme.email;
  row.status = account->status.empty() ? "valid" : account->status;
  if (ctx_.fleet) {
    // Before the row: no host finds an account whose key it cannot get.
    CK_ASSIGN_OR_RETURN(std::string pem, key.ToPem());
    CK_RETURN_IF_ERROR(
        ctx_.fleet->ShareKey(store::AccountMaterial(server, account->url), pem)
            .Annotate("share the key of account " + account->url + " with the fleet")
            .Hint("the account exists at the CA but is not recorded; the next run finds it "
                  "again with the same key file"));
  }
  CK_RETURN_IF_ERROR(ctx_.inventory->PutAccount(row));
  ctx_.Event("", "account-registered", "account " + account->url + " at " + server);
  log::Info("account registered", {{"server", server}, {"account", account->url}});
  return Status::Ok();
}

namespace {
AccountView MakeAccountView(const store::Account& a) {
  AccountView v;
  v.server = a.server;
  v.url = a.account_url;
  v.status = a.status;
  v.email = a.email;
  v.key_path = a.key_path;
  return v;
}
}  // namespace

Result<std::string> Accounts::FleetAccountKey(const store::Account& account) {
  const std::string path = ctx_.layout->AccountKeyPath(account.server);
  auto pem = ctx_.fleet->FetchKey(store::AccountMaterial(account.server, account.account_url));
  if (!pem.ok() && pem.status().code() == ErrorCode::kNotFound) {
    // Registered before the inventory was shared, or by a host that could
    // not share it: only that host has the key.
    if (fs::Exists(path)) return path;
    log::Warn("the account's key is not in the shared inventory; registering a new account",
              {{"server", account.server}, {"account", account.account_url}});
    return std::string();
  }
  if (!pem.ok()) {
    return pem.status().Annotate("fetch the key of account " + account.account_url +
                                 " from the fleet");
  }
  auto shared = PrivateKey::FromPem(*pem);
  if (!shared.ok()) {
    return shared.status().Annotate("the fleet's key of account " + account.account_url);
  }
  if (fs::Exists(path)) {
    // The file may hold the key of another account at this CA: one this host
    // registered before the fleet's was recorded. Signing the fleet's account
    // URL with it would fail every request.
    auto local = fs::ReadFile(path);
    auto local_key = local.ok() ? PrivateKey::FromPem(*local) : Result<PrivateKey>(local.status());
    auto local_pem = local_key.ok() ? local_key->ToPem() : Result<std::string>(local_key.status());
    auto shared_pem = shared->ToPem();
    if (local_pem.ok() && shared_pem.ok() && *local_pem == *shared_pem) return path;
    if (local.ok()) {
      CK_RETURN_IF_ERROR(fs::WritePrivateFile(path + ".replaced", *local)
                             .Annotate("keep the replaced account key"));
    }
    log::Warn("the local account key is not the fleet's; using the fleet's account",
              {{"server", account.server}, {"account", account.account_url}, {"path", path},
               {"kept", path + ".replaced"}});
  }
  CK_RETURN_IF_ERROR(fs::MakeDirs(fs::DirName(path), 0700));
  CK_RETURN_IF_ERROR(fs::WritePrivateFile(path, *pem).Annotate("write the account key"));
  log::Info("fetched the account key from the fleet",
            {{"server", account.server}, {"account", account.account_url}, {"path", path}});
  return path;
}

Result<std::unique_ptr<store::CertificateClaim>> Accounts::ClaimRegistration(
    const std::string& server) {
  using Claim = std::unique_ptr<store::CertificateClaim>;
  if (ctx_.leases == nullptr) return Claim();
  const std::string lease = ":account " + server;
  // Registering takes a few requests; a host that died holding the claim
  // loses it after lease_ttl.
  const Duration ttl = ctx_.config->store.lease_ttl;
  const auto deadline = std::chrono::steady_clock::now() + ttl + std::chrono::seconds(30);
  auto wait = std::chrono::milliseconds(50);
  bool logged = false;
  while (true) {
    auto claim = ctx_.leases->Claim(lease, ttl);
    if (claim.ok()) return std::move(*claim);
    if (claim.status().code() != ErrorCode::kLocked) {
      return claim.status().Annotate("claim the registration of the fleet's account at " + server);
    }
    auto stored = ctx_.inventory->FindAccount(server);
    if (stored.ok()) return Claim();
    if (stored.status().code() != ErrorCode::kNotFound) return stored.status();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(ErrorCode::kUnavailable,
                    "another host of the fleet is registering the account at " + server +
                        " and has not recorded it")
          .Hint("run again; " + claim.status().message());
    }
    if (!logged) {
      log::Info("another host is registering the fleet's account; waiting for it",
                {{"server", server}, {"holder", claim.status().message()}});
      logged = true;
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::milliseconds(1000));
  }
}

Result<AccountView> Accounts::Register() {
  CK_ASSIGN_OR_RETURN(acme::Client * client, AccountClient());
  CK_ASSIGN_OR_RETURN(store::Account a, ctx_.inventory->FindAccount(ctx_.server()));
  AccountView v = MakeAccountView(a);
  if (client->account_key()) v.key_type = std::string(KeyTypeName(client->account_key()->type()));
  return v;
}

Result<AccountView> Accounts::Show() {
  CK_RETURN_IF_ERROR(CheckServerConfigured(*ctx_.config));
  auto a = ctx_.inventory->FindAccount(ctx_.server());
  if (!a.ok()) {
    if (a.status().code() == ErrorCode::kNotFound) {
      return Status(ErrorCode::kNotFound, "no account registered with this CA")
          .Where(ctx_.server())
          .Hint("run `certkeeper account register`");
    }
    return a.status();
  }
  CK_ASSIGN_OR_RETURN(acme::Client * client, AccountClient());
  AccountView v = MakeAccountView(*a);
  auto remote = client->GetAccount();
  if (!remote.ok()) return remote.status().Annotate("fetch account");
  v.status = remote->status;
  if (client->account_key()) v.key_type = std::string(KeyTypeName(client->account_key()->type()));
  return v;
}

Result<AccountView> Accounts::Rollover() {
  if (ctx_.fleet) {
    // Every host keeps a copy of the account key; switching them all at
    // once with the CA is not done yet.
    return Status(ErrorCode::kFailedPrecondition,
                  "account key rollover is not available in a fleet (a shared [store] url)")
        .Hint("register a new account instead; the fleet's hosts share its key");
  }
  CK_ASSIGN_OR_RETURN(acme::Client * client, AccountClient());
  CK_ASSIGN_OR_RETURN(store::Account a, ctx_.inventory->FindAccount(ctx_.server()));
  CK_ASSIGN_OR_RETURN(PrivateKey new_key, PrivateKey::Generate(KeyType::kEc256));
  CK_ASSIGN_OR_RETURN(std::string pem, new_key.ToPem());
  // The new key is on disk before the CA knows it, so a crash in between
  // leaves both keys available; the path switches only after the CA agreed.
  std::string new_path = PendingKeyPath(a.key_path);
  CK_RETURN_IF_ERROR(fs::WritePrivateFile(new_path, pem));
  Status s = client->RolloverKey(new_key);
  if (!s.ok()) {
    if (!DefinitelyRefused(s)) {
      log::Warn("account key rollover outcome unknown; keeping the new key",
                {{"account", a.account_url}, {"new_key", new_path}});
      return s.Annotate("account key rollover")
          .Hint("the CA's answer was lost, so it may have switched the account to " +
                new_path + "; the next command that uses the account asks the CA which key "
                "it accepts and keeps that one");
    }
    CK_RETURN_IF_ERROR(fs::RemoveAll(new_path).Annotate("remove the refused new account key"));
    return s.Annotate("account key rollover");
  }
  std::string old_path = a.key_path + ".old";
  CK_RETURN_IF_ERROR(PromotePendingKey(a.key_path).Annotate("account key rollover"));
  ctx_.Event("", "account-key-rollover", "account " + a.account_url + ": new key");
  log::Info("account key rolled over", {{"account", a.account_url}, {"previous_key", old_path}});
  AccountView v = MakeAccountView(a);
  v.key_type = "ec256";
  return v;
}

Result<AccountView> Accounts::Deactivate() {
  CK_ASSIGN_OR_RETURN(acme::Client * client, AccountClient());
  CK_ASSIGN_OR_RETURN(store::Account a, ctx_.inventory->FindAccount(ctx_.server()));
  auto result = client->DeactivateAccount();
  if (!result.ok()) return result.status().Annotate("deactivate account");
  a.status = result->status.empty() ? "deactivated" : result->status;
  CK_RETURN_IF_ERROR(ctx_.inventory->PutAccount(a));
  ctx_.Event("", "account-deactivated", "account " + a.account_url);
  return MakeAccountView(a);
}

}  // namespace certkeeper::lifecycle
