#include "acme/internal/json_fields.h"

#include <algorithm>

#include "acme/problem.h"
#include "acme/resources.h"
#include "base/encoding.h"
#include "base/names.h"
#include "base/text.h"

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

// The deepest array/object nesting in `text`, stopping once it exceeds
// `limit`. Brackets inside strings (with their escapes) do not count.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) break;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

Result<json> ParseJsonText(std::string_view text) {
  if (NestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
    return Status(ErrorCode::kProtocol, "JSON nested deeper than " +
                                            std::to_string(kMaxJsonDepth) + " levels");
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status(ErrorCode::kProtocol, "not valid JSON (truncated or malformed, " +
                                            std::to_string(text.size()) + " bytes)");
  }
  return doc;
}

Result<json> ParseJsonBody(const HttpResponse& response, const std::string& url) {
  std::string content_type = response.headers.Get("Content-Type").value_or("");
  if (!IsJsonContentType(content_type)) {
    return Status(ErrorCode::kProtocol,
                  "expected a JSON response, got Content-Type " + QuoteHeaderValue(content_type))
        .Where(url)
        .Hint("check that the server URL points at an ACME server");
  }
  auto parsed = ParseJsonText(response.body);
  if (!parsed.ok()) {
    return Status(ErrorCode::kProtocol, "response body is " + parsed.status().message() +
                                            " (Content-Type " +
                                            QuoteHeaderValue(content_type) + ")")
        .Where(url);
  }
  json doc = std::move(*parsed);
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

Result<std::string> IdentifierValue(std::string_view type, std::string_view value,
                                    std::string_view what, bool allow_wildcard) {
  const std::string shown =
      EscapeForTerminal(type.substr(0, 16)) + " " + EscapeForTerminal(value.substr(0, 100));
  if (type == "dns") {
    auto name = CanonicalDnsName(value, allow_wildcard);
    if (name.ok()) return name;
    return Status(ErrorCode::kProtocol, std::string(what) +
                                            " holds an identifier that is not a DNS name: " +
                                            shown + " (" + name.status().message() + ")");
  }
  if (type == "ip") {
    auto ip = CanonicalIpAddress(value);
    if (ip.ok() && *ip == value) return ip;
    return Status(ErrorCode::kProtocol,
                  std::string(what) + " holds an ip identifier that is not an IP address in "
                                      "canonical form (RFC 8738 §3): " + shown);
  }
  return Status(ErrorCode::kProtocol, std::string(what) +
                                          " holds an identifier of a type other than dns "
                                          "and ip: " + shown);
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
