// The ACME account: one key per CA under STATE/accounts/<ca-id>/, the account
// URL in the inventory, so that a run with a stored account sends no account
// request at all (RFC 8555 §7.3: the kid is all a request needs).
#include "base/fs.h"
#include "base/log.h"
#include "lifecycle/engine_impl.h"

namespace certkeeper::lifecycle {

std::map<std::string, int64_t> EngineImpl::RequestCounts() {
  std::lock_guard<std::mutex> lock(client_mu_);
  if (!client_) return {};
  return client_->stats().Snapshot();
}

Result<acme::Client*> EngineImpl::BareClient() {
  CK_RETURN_IF_ERROR(RequireServer());
  std::lock_guard<std::mutex> lock(client_mu_);
  if (!client_) {
    acme::ClientOptions options;
    options.directory_url = config_.acme.server;
    options.ca_bundle_file = config_.acme.ca_bundle;
    options.clock = clock_;
    options.timeout = config_.acme.timeout;
    options.allow_insecure_http = config_.acme.allow_insecure_http;
    CK_ASSIGN_OR_RETURN(client_, acme::Client::Create(options, http_));
  }
  return client_.get();
}

Result<PrivateKey> EngineImpl::LoadOrCreateAccountKey(const std::string& path) {
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

Result<acme::Client*> EngineImpl::AccountClient() {
  CK_ASSIGN_OR_RETURN(acme::Client * client, BareClient());
  std::lock_guard<std::mutex> lock(client_mu_);
  if (account_ready_) return client;
  const std::string& server = config_.acme.server;
  std::string key_path = layout_.AccountKeyPath(server);
  auto stored = inventory_->FindAccount(server);
  // A key without its file is unusable: never trust the row alone.
  if (stored.ok() && fs::Exists(stored->key_path)) {
    CK_ASSIGN_OR_RETURN(PrivateKey key, LoadOrCreateAccountKey(stored->key_path));
    client->SetAccountKey(key, stored->account_url);
    account_ready_ = true;
    return client;
  }
  if (!stored.ok() && stored.status().code() != ErrorCode::kNotFound) return stored.status();

  CK_ASSIGN_OR_RETURN(PrivateKey key, LoadOrCreateAccountKey(key_path));
  client->SetAccountKey(key, "");
  CK_ASSIGN_OR_RETURN(acme::Directory dir, client->GetDirectory());
  acme::NewAccountRequest request;
  if (!config_.acme.email.empty()) request.contact.push_back("mailto:" + config_.acme.email);
  request.terms_of_service_agreed = config_.acme.agree_tos;
  if (!dir.meta.terms_of_service.empty() && !config_.acme.agree_tos) {
    return Status(ErrorCode::kInvalidArgument,
                  "the CA requires agreeing to its terms of service: " +
                      dir.meta.terms_of_service)
        .Where(server)
        .Hint("read them, then pass --agree-tos or set agree_tos = true in [acme]");
  }
  auto account = client->NewAccount(request);
  if (!account.ok()) return account.status().Annotate("register account");
  store::Account row;
  row.server = server;
  row.account_url = account->url;
  row.key_path = key_path;
  row.email = config_.acme.email;
  row.status = account->status.empty() ? "valid" : account->status;
  CK_RETURN_IF_ERROR(inventory_->PutAccount(row));
  Event("", "account-registered", "account " + account->url + " at " + server);
  log::Info("account registered", {{"server", server}, {"account", account->url}});
  account_ready_ = true;
  return client;
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

Result<AccountView> EngineImpl::RegisterAccount() {
  CK_RETURN_IF_ERROR(AcquireLock());
  CK_RETURN_IF_ERROR(AccountClient().status());
  CK_ASSIGN_OR_RETURN(store::Account a, inventory_->FindAccount(config_.acme.server));
  AccountView v = MakeAccountView(a);
  if (client_->account_key()) v.key_type = std::string(KeyTypeName(client_->account_key()->type()));
  return v;
}

Result<AccountView> EngineImpl::ShowAccount() {
  CK_RETURN_IF_ERROR(RequireServer());
  auto a = inventory_->FindAccount(config_.acme.server);
  if (!a.ok()) {
    if (a.status().code() == ErrorCode::kNotFound) {
      return Status(ErrorCode::kNotFound, "no account registered with this CA")
          .Where(config_.acme.server)
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

Result<AccountView> EngineImpl::RolloverAccountKey() {
  CK_RETURN_IF_ERROR(AcquireLock());
  CK_ASSIGN_OR_RETURN(acme::Client * client, AccountClient());
  CK_ASSIGN_OR_RETURN(store::Account a, inventory_->FindAccount(config_.acme.server));
  CK_ASSIGN_OR_RETURN(PrivateKey new_key, PrivateKey::Generate(KeyType::kEc256));
  CK_ASSIGN_OR_RETURN(std::string pem, new_key.ToPem());
  // The new key is on disk before the CA knows it, so a crash in between
  // leaves both keys available; the path switches only after the CA agreed.
  std::string new_path = a.key_path + ".new";
  CK_RETURN_IF_ERROR(fs::WritePrivateFile(new_path, pem));
  Status s = client->RolloverKey(new_key);
  if (!s.ok()) {
    (void)fs::RemoveAll(new_path);
    return s.Annotate("account key rollover");
  }
  std::string old_path = a.key_path + ".old";
  CK_ASSIGN_OR_RETURN(std::string old_pem, fs::ReadFile(a.key_path));
  CK_RETURN_IF_ERROR(fs::WritePrivateFile(old_path, old_pem));
  CK_RETURN_IF_ERROR(fs::WritePrivateFile(a.key_path, pem));
  (void)fs::RemoveAll(new_path);
  Event("", "account-key-rollover", "account " + a.account_url + ": new key");
  log::Info("account key rolled over", {{"account", a.account_url}, {"previous_key", old_path}});
  AccountView v = MakeAccountView(a);
  v.key_type = "ec256";
  return v;
}

Result<AccountView> EngineImpl::DeactivateAccount() {
  CK_RETURN_IF_ERROR(AcquireLock());
  CK_ASSIGN_OR_RETURN(acme::Client * client, AccountClient());
  CK_ASSIGN_OR_RETURN(store::Account a, inventory_->FindAccount(config_.acme.server));
  auto result = client->DeactivateAccount();
  if (!result.ok()) return result.status().Annotate("deactivate account");
  a.status = result->status.empty() ? "deactivated" : result->status;
  CK_RETURN_IF_ERROR(inventory_->PutAccount(a));
  Event("", "account-deactivated", "account " + a.account_url);
  return MakeAccountView(a);
}

}  // namespace certkeeper::lifecycle
