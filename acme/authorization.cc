// Authorizations and challenges (RFC 8555 §7.1.4, §7.5, §8).
#include <utility>

#include "acme/client.h"
#include "acme/internal/json_fields.h"
#include "acme/problem.h"
#include "acme/resources.h"
#include "base/challenge_type.h"
#include "base/encoding.h"
#include "base/names.h"

namespace certkeeper::acme {

namespace {

using nlohmann::json;

// The types certkeeper solves all carry a token (RFC 8555 §8.3, §8.4, RFC 8737 §3).
bool IsTokenChallenge(std::string_view type) { return ParseChallengeType(type).has_value(); }

Result<std::optional<Problem>> OptionalProblem(const json& doc, std::string_view what) {
  auto it = doc.find("error");
  if (it == doc.end() || it->is_null()) return std::optional<Problem>();
  auto problem = ParseProblem(*it, 0);
  if (!problem.ok()) return problem.status().Annotate(std::string(what) + " error");
  return std::optional<Problem>(std::move(*problem));
}

}  // namespace

const Challenge* Authorization::Find(std::string_view type) const {
  for (const Challenge& c : challenges) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

Result<Challenge> ParseChallenge(const json& doc, std::string_view scheme) {
  constexpr std::string_view kWhat = "challenge";
  if (!doc.is_object()) {
    return Status(ErrorCode::kProtocol, "malformed challenge: not a JSON object");
  }
  Challenge c;
  CK_ASSIGN_OR_RETURN(c.type, internal::RequiredString(doc, "type", kWhat));
  CK_ASSIGN_OR_RETURN(c.url, internal::RequiredString(doc, "url", kWhat));
  CK_RETURN_IF_ERROR(internal::CheckUrl(c.url, scheme, kWhat));
  CK_ASSIGN_OR_RETURN(c.status, internal::RequiredString(doc, "status", kWhat));
  CK_RETURN_IF_ERROR(internal::CheckStatusValue(
      c.status, {"pending", "processing", "valid", "invalid"}, kWhat));
  CK_ASSIGN_OR_RETURN(std::string token, internal::OptionalString(doc, "token", kWhat));
  if (IsTokenChallenge(c.type)) {
    // The token ends up in file names, URLs and DNS records: check it here.
    CK_RETURN_IF_ERROR(internal::CheckToken(token).Annotate(c.type));
    c.token = std::move(token);
  } else if (IsBase64Url(token)) {
    c.token = std::move(token);
  }
  CK_ASSIGN_OR_RETURN(c.error, OptionalProblem(doc, kWhat));
  return c;
}

Result<Authorization> ParseAuthorization(const json& doc, const std::string& url,
                                         std::string_view scheme) {
  constexpr std::string_view kWhat = "authorization";
  if (!doc.is_object()) {
    return Status(ErrorCode::kProtocol, "malformed authorization: not a JSON object")
        .Where(url);
  }
  Authorization a;
  a.url = url;
  CK_ASSIGN_OR_RETURN(a.status, internal::RequiredString(doc, "status", kWhat));
  CK_RETURN_IF_ERROR(internal::CheckStatusValue(
      a.status, {"pending", "valid", "invalid", "deactivated", "expired", "revoked"},
      kWhat));
  auto id = doc.find("identifier");
  if (id == doc.end() || !id->is_object()) {
    return Status(ErrorCode::kProtocol, "malformed authorization: no identifier")
        .Where(url);
  }
  CK_ASSIGN_OR_RETURN(a.identifier_type, internal::RequiredString(*id, "type", kWhat));
  CK_ASSIGN_OR_RETURN(std::string value, internal::RequiredString(*id, "value", kWhat));
  // §7.1.4: the identifier of a wildcard authorization is the name without "*.".
  auto name = internal::IdentifierValue(a.identifier_type, value, kWhat,
                                        /*allow_wildcard=*/false);
  if (!name.ok()) return name.status().Where(url);
  a.identifier = std::move(*name);
  if (auto w = doc.find("wildcard"); w != doc.end() && !w->is_null()) {
    if (!w->is_boolean()) {
      return Status(ErrorCode::kProtocol, "malformed authorization: wildcard not boolean")
          .Where(url);
    }
    a.wildcard = w->get<bool>();
  }
  if (a.wildcard && a.identifier_type == "ip") {
    return Status(ErrorCode::kProtocol,
                  "authorization marks an ip identifier as a wildcard (RFC 8738 has no "
                  "wildcard IP addresses)")
        .Where(url);
  }
  CK_ASSIGN_OR_RETURN(a.expires, internal::OptionalTime(doc, "expires", kWhat));
  auto challenges = doc.find("challenges");
  if (challenges == doc.end() || !challenges->is_array()) {
    return Status(ErrorCode::kProtocol, "malformed authorization: no challenges array")
        .Where(url);
  }
  for (const json& c : *challenges) {
    auto challenge = ParseChallenge(c, scheme);
    if (!challenge.ok()) return challenge.status().Where(url);
    a.challenges.push_back(std::move(*challenge));
  }
  return a;
}

Result<Authorization> Client::GetAuthorization(const std::string& url) {
  CK_ASSIGN_OR_RETURN(json doc, PostJson(RequestKind::kAuthorization, url, ""));
  return ParseAuthorization(doc, url, scheme_);
}

Result<Authorization> Client::DeactivateAuthorization(const std::string& url) {
  // §7.5.2: the client may deactivate an authorization it no longer needs.
  CK_ASSIGN_OR_RETURN(json doc, PostJson(RequestKind::kAuthorization, url,
                                         R"({"status":"deactivated"})"));
  return ParseAuthorization(doc, url, scheme_);
}

Result<Challenge> Client::RespondToChallenge(const std::string& url) {
  // §7.5.1: the empty object signals readiness; POST-as-GET ("") would not.
  CK_ASSIGN_OR_RETURN(json doc, PostJson(RequestKind::kChallenge, url, "{}"));
  CK_ASSIGN_OR_RETURN(Challenge challenge, ParseChallenge(doc, scheme_));
  if (challenge.url != url) {
    return Status(ErrorCode::kProtocol, "challenge response names another URL: " +
                                            challenge.url)
        .Where(url);
  }
  return challenge;
}

Result<Authorization> Client::PollAuthorization(const std::string& url, TimePoint deadline,
                                                const PollStart& start) {
  std::optional<Authorization> last;
  std::string last_status = "unknown";
  auto is_final = [&](const json& doc) -> Result<bool> {
    CK_ASSIGN_OR_RETURN(Authorization a, ParseAuthorization(doc, url, scheme_));
    last_status = a.status;
    bool done = a.status != "pending";
    last = std::move(a);
    return done;
  };
  CK_RETURN_IF_ERROR(
      Poll(RequestKind::kPollAuthorization, url, deadline, start, is_final, &last_status));
  return std::move(*last);
}

}  // namespace certkeeper::acme
