// Account management (RFC 8555 §7.3).
#include <utility>

#include "acme/client.h"
#include "acme/internal/json_fields.h"
#include "acme/jws.h"
#include "acme/resources.h"

namespace certkeeper::acme {

namespace {
using nlohmann::json;
constexpr std::string_view kAccountWhat = "account";

// A newAccount with a binding that the CA refuses: say that it was the binding,
// so the operator checks the kid and the key rather than the account.
Status BindingRefused(Status status, const Directory& directory) {
  const Problem* problem = status.problem();
  if (problem == nullptr || !(problem->Is("unauthorized") || problem->Is("malformed") ||
                              problem->Is("externalAccountRequired"))) {
    return status;
  }
  Status refused(ErrorCode::kPermissionDenied,
                 "the external account binding was refused by " + directory.url + ": " +
                     status.message());
  refused.Where(status.where());
  refused.WithProblem(*problem);
  if (status.retry_after()) refused.WithRetryAfter(*status.retry_after());
  return refused.Hint("check eab_kid and the MAC key in eab_hmac_file against what the CA "
                      "gave (a key is single-use at some CAs)");
}
}  // namespace

Result<Account> ParseAccount(const json& doc, const std::string& url,
                             std::string_view scheme) {
  if (!doc.is_object()) {
    return Status(ErrorCode::kProtocol, "malformed account: not a JSON object");
  }
  Account account;
  account.url = url;
  CK_ASSIGN_OR_RETURN(account.status, internal::RequiredString(doc, "status", kAccountWhat));
  CK_RETURN_IF_ERROR(internal::CheckStatusValue(
      account.status, {"valid", "deactivated", "revoked"}, kAccountWhat));
  CK_ASSIGN_OR_RETURN(account.contact,
                      internal::OptionalStringArray(doc, "contact", kAccountWhat));
  CK_ASSIGN_OR_RETURN(account.orders, internal::OptionalString(doc, "orders", kAccountWhat));
  if (!account.orders.empty()) {
    CK_RETURN_IF_ERROR(internal::CheckUrl(account.orders, scheme, "account orders"));
  }
  return account;
}

Result<Account> Client::NewAccount(const NewAccountRequest& request) {
  std::optional<PrivateKey> key = account_key();
  if (!key) {
    return Status(ErrorCode::kFailedPrecondition, "newAccount: no account key is set");
  }
  CK_ASSIGN_OR_RETURN(Directory directory, GetDirectory());
  const auto& binding = request.external_account_binding;
  if (directory.meta.external_account_required && !request.only_return_existing &&
      !binding) {
    return Status(ErrorCode::kFailedPrecondition,
                  "the CA at " + directory.url + " requires external account binding")
        .Where(directory.new_account)
        .Hint("set eab_kid and eab_hmac_file in its [[ca]] block (the CA gives both)");
  }
  // §7.3: the payload of a newAccount request.
  json payload = json::object();
  if (!request.contact.empty()) payload["contact"] = request.contact;
  if (request.terms_of_service_agreed) payload["termsOfServiceAgreed"] = true;
  if (request.only_return_existing) payload["onlyReturnExisting"] = true;
  auto build = [&](const Directory& d) -> Result<std::string> {
    if (!binding) return payload.dump();
    json body = payload;
    CK_ASSIGN_OR_RETURN(json jwk, PublicJwk(*key));
    CK_ASSIGN_OR_RETURN(body["externalAccountBinding"],
                        SignExternalAccountBinding(jwk, binding->kid, binding->mac_key,
                                                   binding->alg, d.new_account));
    return body.dump();
  };

  PostOptions options;
  options.jwk_key = &*key;
  Directory used = directory;
  Result<HttpResponse> posted = PostToDirectory(
      RequestKind::kNewAccount, &Directory::new_account, build, options, &used);
  if (!posted.ok()) return binding ? BindingRefused(posted.status(), used) : posted.status();
  HttpResponse response = std::move(*posted);
  std::string url = response.headers.Get("Location").value_or("");
  if (url.empty()) {
    return Status(ErrorCode::kProtocol, "newAccount response has no Location header")
        .Where(used.new_account);
  }
  CK_RETURN_IF_ERROR(internal::CheckUrl(url, scheme_, "account"));
  CK_ASSIGN_OR_RETURN(json doc, internal::ParseJsonBody(response, used.new_account));
  CK_ASSIGN_OR_RETURN(Account account, ParseAccount(doc, url, scheme_));
  {
    std::unique_lock lock(account_mu_);
    kid_ = url;
  }
  return account;
}

Result<Account> Client::GetAccount() {
  std::string url = account_url();
  if (url.empty()) {
    return Status(ErrorCode::kFailedPrecondition, "the account URL is unknown")
        .Hint("register the account first");
  }
  CK_ASSIGN_OR_RETURN(json doc, PostJson(RequestKind::kAccount, url, ""));
  return ParseAccount(doc, url, scheme_);
}

Result<Account> Client::DeactivateAccount() {
  std::string url = account_url();
  if (url.empty()) {
    return Status(ErrorCode::kFailedPrecondition, "the account URL is unknown")
        .Hint("register the account first");
  }
  // §7.3.6: a request to update the account with status "deactivated".
  CK_ASSIGN_OR_RETURN(json doc,
                      PostJson(RequestKind::kAccount, url, R"({"status":"deactivated"})"));
  CK_ASSIGN_OR_RETURN(Account account, ParseAccount(doc, url, scheme_));
  if (account.status != "deactivated") {
    return Status(ErrorCode::kProtocol,
                  "account still \"" + account.status + "\" after deactivation")
        .Where(url);
  }
  return account;
}

Status Client::RolloverKey(const PrivateKey& new_key) {
  std::optional<PrivateKey> old_key;
  std::string kid;
  {
    std::shared_lock lock(account_mu_);
    old_key = key_;
    kid = kid_;
  }
  if (!old_key || kid.empty()) {
    return Status(ErrorCode::kFailedPrecondition,
                  "key rollover needs the current account key and URL");
  }
  CK_ASSIGN_OR_RETURN(Directory directory, GetDirectory());
  if (directory.key_change.empty()) {
    return Status(ErrorCode::kFailedPrecondition,
                  "the CA does not support account key rollover (its directory has no "
                  "keyChange)")
        .Where(directory.url)
        .Hint("keep the current account key, or register a new account with a new key");
  }
  CK_ASSIGN_OR_RETURN(json old_jwk, PublicJwk(*old_key));

  // §7.3.5: the inner JWS is signed by the new key, carries its jwk and the
  // keyChange URL but no nonce; its payload names the account and the old key.
  json inner_payload = {{"account", kid}, {"oldKey", old_jwk}};
  auto build = [&](const Directory& d) -> Result<std::string> {
    JwsHeader inner_header{.url = d.key_change, .nonce = std::nullopt, .kid = {}};
    CK_ASSIGN_OR_RETURN(json inner, SignJws(new_key, inner_header, inner_payload.dump()));
    return inner.dump();
  };
  CK_RETURN_IF_ERROR(PostToDirectory(RequestKind::kKeyChange, &Directory::key_change, build,
                                     PostOptions(), nullptr)
                         .status());
  SetAccountKey(new_key, kid);
  return Status::Ok();
}

Result<std::string> Client::FindAccountUrl(const PrivateKey& key) {
  PostOptions options;
  options.jwk_key = &key;
  Directory directory;
  Result<HttpResponse> response = PostToDirectory(
      RequestKind::kNewAccount, &Directory::new_account,
      [](const Directory&) -> Result<std::string> {
        return std::string(R"({"onlyReturnExisting":true})");
      },
      options, &directory);
  if (!response.ok()) {
    const Problem* problem = response.status().problem();
    if (problem != nullptr && problem->Is("accountDoesNotExist")) {
      return Status(ErrorCode::kNotFound, "the CA knows no account for this key")
          .Where(directory.new_account)
          .WithProblem(*problem);
    }
    return response.status();
  }
  std::string url = response->headers.Get("Location").value_or("");
  if (url.empty()) {
    return Status(ErrorCode::kProtocol, "newAccount response has no Location header")
        .Where(directory.new_account);
  }
  CK_RETURN_IF_ERROR(internal::CheckUrl(url, scheme_, "account"));
  return url;
}

}  // namespace certkeeper::acme
