#include "acme/internal/json_fields.h"

#include "acme/resources.h"
#include "base/encoding.h"

namespace certkeeper::acme::internal {

namespace {

using nlohmann::json;

Status Malformed(std::string_view what, const char* name, std::string_view problem) {
  return Status(ErrorCode::kProtocol, "malformed " + std::string(what) + ": member \"" +
                                          name + "\" " + std::string(problem));
}

constexpr size_t kMinTokenLength = 22;  // 22 * 6 = 132 bits >= 128 bits
constexpr size_t kMaxTokenLength = 256;
constexpr size_t kMaxUrlLength = 4096;

}  // namespace

Result<json> ParseJsonBody(const HttpResponse& response, const std::string& url) {
  std::string content_type = response.headers.Get("Content-Type").value_or("");
  if (!IsJsonContentType(content_type)) {
    return Status(ErrorCode::kProtocol, "expected a JSON response, got Content-Type \"" +
                                            content_type + "\"")
        .Where(url)
        .Hint("check that the server URL points at an ACME server");
  }
  json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status(ErrorCode::kProtocol,
                  "response body is not valid JSON (truncated or malformed, " +
                      std::to_string(response.body.size()) + " bytes, Content-Type \"" +
                      content_type + "\")")
        .Where(url);
  }
  if (!doc.is_object()) {
    return Status(ErrorCode::kProtocol, "response body is JSON but not an object")
        .Where(url);
  }
  return doc;
}

Result<std::string> RequiredString(const json& doc, const char* name,
                                   std::string_view what) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return Malformed(what, name, "is missing");
  if (!it->is_string()) return Malformed(what, name, "is not a string");
  return it->get<std::string>();
}

Result<std::string> OptionalString(const json& doc, const char* name,
                                   std::string_view what) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Malformed(what, name, "is not a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> OptionalStringArray(const json& doc, const char* name,
                                                     std::string_view what) {
  std::vector<std::string> out;
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array()) return Malformed(what, name, "is not an array");
  for (const json& v : *it) {
    if (!v.is_string()) return Malformed(what, name, "holds a non-string element");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::optional<TimePoint>> OptionalTime(const json& doc, const char* name,
                                              std::string_view what) {
  CK_ASSIGN_OR_RETURN(std::string text, OptionalString(doc, name, what));
  if (text.empty()) return std::optional<TimePoint>();
  auto t = ParseRfc3339(text);
  if (!t.ok()) return Malformed(what, name, "is not an RFC 3339 time: \"" + text + "\"");
  return std::optional<TimePoint>(*t);
}

Status CheckStatusValue(std::string_view value,
                        std::initializer_list<std::string_view> allowed,
                        std::string_view what) {
  for (std::string_view a : allowed) {
    if (value == a) return Status::Ok();
  }
  return Status(ErrorCode::kProtocol,
                "malformed " + std::string(what) + ": unknown status \"" +
                    std::string(value) + "\"");
}

Status CheckUrl(std::string_view url, std::string_view scheme, std::string_view what) {
  std::string actual = UrlScheme(url);
  if (url.size() > kMaxUrlLength || actual.empty() ||
      url.size() <= actual.size() + 3) {
    return Status(ErrorCode::kProtocol,
                  "malformed " + std::string(what) + ": not an absolute URL: \"" +
                      std::string(url.substr(0, 200)) + "\"");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Status(ErrorCode::kProtocol,
                    "malformed " + std::string(what) + ": URL contains a control "
                    "character or space");
    }
  }
  if (actual != scheme) {
    return Status(ErrorCode::kProtocol, std::string(what) + " URL uses scheme \"" +
                                            actual + "\" but the directory uses \"" +
                                            std::string(scheme) + "\"")
        .Where(std::string(url));
  }
  return Status::Ok();
}

Status CheckToken(std::string_view token) {
  if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength ||
      !IsBase64Url(token)) {
    return Status(ErrorCode::kProtocol,
                  "challenge token is not base64url of at least 128 bits (RFC 8555 "
                  "§8.1)");
  }
  return Status::Ok();
}

}  // namespace certkeeper::acme::internal
