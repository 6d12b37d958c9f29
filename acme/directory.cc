// The directory resource (RFC 8555 §7.1.1).
#include <cctype>

#include "acme/http.h"
#include "acme/internal/json_fields.h"
#include "acme/resources.h"

namespace certkeeper::acme {

namespace {

using nlohmann::json;
constexpr std::string_view kWhat = "directory";

Result<std::string> DirectoryUrl(const json& doc, const char* name,
                                 std::string_view scheme, bool required) {
  CK_ASSIGN_OR_RETURN(std::string url,
                      required ? internal::RequiredString(doc, name, kWhat)
                               : internal::OptionalString(doc, name, kWhat));
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

}  // namespace certkeeper::acme
