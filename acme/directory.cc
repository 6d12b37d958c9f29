// The directory resource (RFC 8555 §7.1.1): parsing, and the client's copy,
// fetched or kept from an earlier run.
#include <cctype>
#include <utility>

#include "acme/client.h"
#include "acme/http.h"
#include "acme/internal/json_fields.h"
#include "acme/problem.h"
#include "acme/resources.h"
#include "base/log.h"

namespace certkeeper::acme {

namespace {

using nlohmann::json;
constexpr std::string_view kDirectoryWhat = "directory";

Result<std::string> DirectoryUrl(const json& doc, const char* name,
                                 std::string_view scheme, bool required) {
  CK_ASSIGN_OR_RETURN(std::string url,
                      required ? internal::RequiredString(doc, name, kDirectoryWhat)
                               : internal::OptionalString(doc, name, kDirectoryWhat));
  if (!url.empty()) {
    CK_RETURN_IF_ERROR(internal::CheckUrl(url, scheme, std::string("directory ") + name));
  }
  return url;
}

}  // namespace

std::string UrlScheme(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return "";
  for (size_t i = 0; i < sep; ++i) {
    char c = url[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
              (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' ||
                         c == '-' || c == '.'));
    if (!ok) return "";
  }
  return AsciiLower(url.substr(0, sep));
}

Result<Directory> ParseDirectory(const json& doc, const std::string& url) {
  if (!doc.is_object()) {
    return Status(ErrorCode::kProtocol, "malformed directory: not a JSON object");
  }
  std::string scheme = UrlScheme(url);
  Directory d;
  d.url = url;
  CK_ASSIGN_OR_RETURN(d.new_nonce, DirectoryUrl(doc, "newNonce", scheme, true));
  CK_ASSIGN_OR_RETURN(d.new_account, DirectoryUrl(doc, "newAccount", scheme, true));
  CK_ASSIGN_OR_RETURN(d.new_order, DirectoryUrl(doc, "newOrder", scheme, true));
  CK_ASSIGN_OR_RETURN(d.revoke_cert, DirectoryUrl(doc, "revokeCert", scheme, true));
  // RFC 8555 §7.1.1 lists keyChange, but CAs without key rollover leave it out;
  // such a directory is usable for everything else (RolloverKey says why not).
  CK_ASSIGN_OR_RETURN(d.key_change, DirectoryUrl(doc, "keyChange", scheme, false));
  CK_ASSIGN_OR_RETURN(d.new_authz, DirectoryUrl(doc, "newAuthz", scheme, false));
  CK_ASSIGN_OR_RETURN(d.renewal_info, DirectoryUrl(doc, "renewalInfo", scheme, false));

  auto meta = doc.find("meta");
  if (meta == doc.end() || meta->is_null()) return d;
  if (!meta->is_object()) {
    return Status(ErrorCode::kProtocol, "malformed directory: \"meta\" is not an object");
  }
  constexpr std::string_view kMeta = "directory meta";
  CK_ASSIGN_OR_RETURN(d.meta.terms_of_service,
                      internal::OptionalString(*meta, "termsOfService", kMeta));
  CK_ASSIGN_OR_RETURN(d.meta.website, internal::OptionalString(*meta, "website", kMeta));
  CK_ASSIGN_OR_RETURN(d.meta.caa_identities,
                      internal::OptionalStringArray(*meta, "caaIdentities", kMeta));
  if (auto it = meta->find("externalAccountRequired");
      it != meta->end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return Status(ErrorCode::kProtocol,
                    "malformed directory meta: \"externalAccountRequired\" is not a "
                    "boolean");
    }
    d.meta.external_account_required = it->get<bool>();
  }
  if (auto it = meta->find("profiles"); it != meta->end() && !it->is_null()) {
    if (!it->is_object()) {
      return Status(ErrorCode::kProtocol,
                    "malformed directory meta: \"profiles\" is not an object");
    }
    for (const auto& [name, description] : it->items()) {
      d.meta.profiles[name] = description.is_string() ? description.get<std::string>() : "";
    }
  }
  return d;
}

Result<Directory> Client::FetchDirectoryLocked(std::string* body) {
  CK_ASSIGN_OR_RETURN(HttpResponse response,
                      Get(RequestKind::kDirectory, options_.directory_url));
  if (response.status < 200 || response.status >= 300) {
    return ErrorResponseStatus("fetch ACME directory", options_.directory_url, response,
                               clock_->Now());
  }
  CK_ASSIGN_OR_RETURN(json doc, internal::ParseJsonBody(response, options_.directory_url));
  auto directory = ParseDirectory(doc, options_.directory_url);
  if (!directory.ok()) return directory.status().Where(options_.directory_url);
  directory_ = std::move(*directory);
  directory_seeded_ = false;
  *body = std::move(response.body);
  return *directory_;
}

Result<Directory> Client::CurrentDirectory(bool* seeded) {
  std::string body;
  Result<Directory> fetched = Status(ErrorCode::kInternal, "no directory");
  {
    std::lock_guard<std::mutex> lock(directory_mu_);
    if (!directory_ && !document_tried_ && !options_.directory_document.empty()) {
      document_tried_ = true;
      auto doc = internal::ParseJsonText(options_.directory_document);
      auto parsed = doc.ok() ? ParseDirectory(*doc, options_.directory_url)
                             : Result<Directory>(doc.status());
      if (parsed.ok()) {
        directory_ = std::move(*parsed);
        directory_seeded_ = true;
      } else {
        log::Debug("kept ACME directory does not parse; fetching it",
                   {{"url", options_.directory_url}, {"error", parsed.status().message()}});
      }
    }
    if (directory_) {
      *seeded = directory_seeded_;
      return *directory_;
    }
    *seeded = false;
    fetched = FetchDirectoryLocked(&body);
  }
  if (fetched.ok() && options_.directory_fetched) options_.directory_fetched(body);
  return fetched;
}

Result<Directory> Client::GetDirectory() {
  bool seeded = false;
  return CurrentDirectory(&seeded);
}

Result<Directory> Client::RefreshDirectory() {
  std::string body;
  Result<Directory> fetched = Status(ErrorCode::kInternal, "no directory");
  {
    std::lock_guard<std::mutex> lock(directory_mu_);
    if (directory_ && !directory_seeded_) return *directory_;
    log::Info("the CA answered 404 for a URL of the kept directory; fetching it afresh",
              {{"url", options_.directory_url}});
    directory_.reset();
    fetched = FetchDirectoryLocked(&body);
  }
  if (fetched.ok() && options_.directory_fetched) options_.directory_fetched(body);
  return fetched;
}

Result<HttpResponse> Client::PostToDirectory(RequestKind kind, std::string Directory::*endpoint,
                                             const PayloadFor& payload, PostOptions options,
                                             Directory* used) {
  bool seeded = false;
  CK_ASSIGN_OR_RETURN(Directory directory, CurrentDirectory(&seeded));
  for (;;) {
    CK_ASSIGN_OR_RETURN(std::string body, payload(directory));
    int http_status = 0;
    options.http_status = &http_status;
    Result<HttpResponse> response = Post(kind, directory.*endpoint, body, options);
    if (response.ok() || !seeded || http_status != 404) {
      if (used != nullptr) *used = std::move(directory);
      return response;
    }
    // The kept directory is stale (the CA changed its URLs): once more with a
    // fresh one.
    CK_ASSIGN_OR_RETURN(directory, RefreshDirectory());
    seeded = false;
  }
}

}  // namespace certkeeper::acme
