// Orders: creation, fetching, finalization and polling (RFC 8555 §7.1.3, §7.4).
#include <algorithm>
#include <utility>

#include "acme/client.h"
#include "acme/internal/json_fields.h"
#include "acme/problem.h"
#include "acme/resources.h"
#include "base/encoding.h"
#include "base/names.h"
#include "base/text.h"

namespace certkeeper::acme {

namespace {
using nlohmann::json;
constexpr std::string_view kOrderWhat = "order";

// Refused before ordering, with what the CA offers (its directory's
// meta.profiles), so the configuration can be fixed without a failed order.
Status UnknownProfile(const Directory& directory, const std::string& profile) {
  constexpr size_t kMaxListed = 20;  // the names come from the CA
  std::string offered;
  size_t listed = 0;
  for (const auto& [name, description] : directory.meta.profiles) {
    if (listed++ == kMaxListed) {
      offered += ", …";
      break;
    }
    offered += (offered.empty() ? "" : ", ") + EscapeForTerminal(name.substr(0, 64));
  }
  return Status(ErrorCode::kInvalidArgument,
                "the CA at " + directory.url + " offers no profile \"" +
                    EscapeForTerminal(profile) + "\"; " +
                    (offered.empty() ? "it offers no profiles" : "it offers: " + offered))
      .Where(directory.url)
      .Hint(offered.empty()
                ? "remove `profile` from this CA's [[ca]] block"
                : "set `profile` in this CA's [[ca]] block to one of the offered names, or "
                  "remove it for the CA's default");
}
}  // namespace

Result<Order> ParseOrder(const json& doc, const std::string& url,
                         std::string_view scheme) {
  if (!doc.is_object()) {
    return Status(ErrorCode::kProtocol, "malformed order: not a JSON object").Where(url);
  }
  Order o;
  o.url = url;
  CK_ASSIGN_OR_RETURN(o.status, internal::RequiredString(doc, "status", kOrderWhat));
  CK_RETURN_IF_ERROR(internal::CheckStatusValue(
      o.status, {"pending", "ready", "processing", "valid", "invalid"}, kOrderWhat));
  CK_ASSIGN_OR_RETURN(o.expires, internal::OptionalTime(doc, "expires", kOrderWhat));

  auto ids = doc.find("identifiers");
  if (ids == doc.end() || !ids->is_array() || ids->empty()) {
    return Status(ErrorCode::kProtocol, "malformed order: no identifiers").Where(url);
  }
  for (const json& id : *ids) {
    if (!id.is_object()) {
      return Status(ErrorCode::kProtocol, "malformed order: identifier not an object")
          .Where(url);
    }
    CK_ASSIGN_OR_RETURN(std::string type, internal::RequiredString(id, "type", kOrderWhat));
    CK_ASSIGN_OR_RETURN(std::string value, internal::RequiredString(id, "value", kOrderWhat));
    CK_ASSIGN_OR_RETURN(std::string name, internal::IdentifierValue(type, value, kOrderWhat));
    o.identifiers.push_back(std::move(name));
  }
  CK_ASSIGN_OR_RETURN(o.authorizations,
                      internal::OptionalStringArray(doc, "authorizations", kOrderWhat));
  for (const std::string& a : o.authorizations) {
    CK_RETURN_IF_ERROR(internal::CheckUrl(a, scheme, "order authorization"));
  }
  CK_ASSIGN_OR_RETURN(o.finalize, internal::RequiredString(doc, "finalize", kOrderWhat));
  CK_RETURN_IF_ERROR(internal::CheckUrl(o.finalize, scheme, "order finalize"));
  CK_ASSIGN_OR_RETURN(o.certificate, internal::OptionalString(doc, "certificate", kOrderWhat));
  if (!o.certificate.empty()) {
    CK_RETURN_IF_ERROR(internal::CheckUrl(o.certificate, scheme, "order certificate"));
  }
  if (auto it = doc.find("error"); it != doc.end() && !it->is_null()) {
    auto problem = ParseProblem(*it, 0);
    if (!problem.ok()) return problem.status().Annotate("order error").Where(url);
    o.error = std::move(*problem);
  }
  return o;
}

Result<Order> Client::NewOrder(const NewOrderRequest& request) {
  if (request.identifiers.empty()) {
    return Status(ErrorCode::kInvalidArgument, "an order needs at least one identifier");
  }
  // §7.4: identifiers of type dns, wildcards keeping their "*." label
  // (§7.1.3), and of type ip for addresses (RFC 8738 §3).
  json identifiers = json::array();
  for (const std::string& raw : request.identifiers) {
    auto name = CanonicalIdentifier(raw, /*allow_wildcard=*/true);
    if (!name.ok()) return name.status().Annotate("newOrder");
    identifiers.push_back(
        {{"type", LooksLikeIpAddress(raw) ? "ip" : "dns"}, {"value", *name}});
  }
  json payload = {{"identifiers", identifiers}};
  if (!request.replaces.empty()) {
    // RFC 9773 §5: the ARI identifier of the certificate being replaced.
    size_t dot = request.replaces.find('.');
    if (dot == std::string::npos || !IsBase64Url(request.replaces.substr(0, dot)) ||
        !IsBase64Url(request.replaces.substr(dot + 1))) {
      return Status(ErrorCode::kInvalidArgument,
                    "\"replaces\" is not an ARI certificate identifier");
    }
    payload["replaces"] = request.replaces;
  }
  CK_ASSIGN_OR_RETURN(Directory directory, GetDirectory());
  if (!request.profile.empty()) {
    if (!directory.meta.profiles.contains(request.profile)) {
      return UnknownProfile(directory, request.profile);
    }
    payload["profile"] = request.profile;
  }

  CK_ASSIGN_OR_RETURN(
      HttpResponse response,
      PostToDirectory(
          RequestKind::kNewOrder, &Directory::new_order,
          [&](const Directory&) -> Result<std::string> { return payload.dump(); },
          PostOptions(), &directory));
  CK_ASSIGN_OR_RETURN(json doc, internal::ParseJsonBody(response, directory.new_order));
  std::string url = response.headers.Get("Location").value_or("");
  if (url.empty()) {
    return Status(ErrorCode::kProtocol, "newOrder response has no Location header")
        .Where(directory.new_order);
  }
  CK_RETURN_IF_ERROR(internal::CheckUrl(url, scheme_, "order"));
  return ParseOrder(doc, url, scheme_);
}

Result<Order> Client::GetOrder(const std::string& url) {
  CK_ASSIGN_OR_RETURN(json doc, PostJson(RequestKind::kOrder, url, ""));
  return ParseOrder(doc, url, scheme_);
}

Result<Order> Client::Finalize(const Order& order, std::string_view csr_der) {
  if (csr_der.empty()) return Status(ErrorCode::kInvalidArgument, "empty CSR");
  if (order.url.empty() || order.finalize.empty()) {
    return Status(ErrorCode::kInvalidArgument, "finalize needs the order URLs");
  }
  // §7.4: {"csr": base64url(DER)}; the answer is the order object.
  json payload = {{"csr", Base64UrlEncode(csr_der)}};
  HttpResponse response;
  CK_ASSIGN_OR_RETURN(json doc, PostJson(RequestKind::kFinalize, order.finalize,
                                         payload.dump(), &response));
  CK_ASSIGN_OR_RETURN(Order answered, ParseOrder(doc, order.url, scheme_));
  if (auto header = response.headers.Get("Retry-After")) {
    answered.retry_after = ParseRetryAfter(*header, clock_->Now());
  }
  return answered;
}

PollStart Client::OrderPollStart(const Order& answered) {
  PollStart start;
  if (answered.retry_after) {
    start.retry_at = answered.retry_after;
    return start;
  }
  const int64_t used = order_poll_first_us_.load();
  start.first_delay = std::chrono::microseconds(used);
  start.after_first_look = [this, used](bool decided) {
    if (!decided) {
      order_poll_too_early_ = true;
      const int64_t most = std::chrono::duration_cast<std::chrono::microseconds>(
                               options_.poll_max).count();
      order_poll_first_us_ = std::min(used * 2, most);
    } else if (!order_poll_too_early_) {
      order_poll_first_us_ = std::max(used / 2, options_.order_poll_floor.count());
    }
  };
  return start;
}

Result<Order> Client::PollOrder(const std::string& url, TimePoint deadline,
                                const PollStart& start) {
  std::optional<Order> last;
  std::string last_status = "unknown";
  auto is_final = [&](const json& doc) -> Result<bool> {
    CK_ASSIGN_OR_RETURN(Order o, ParseOrder(doc, url, scheme_));
    last_status = o.status;
    bool done = o.status != "pending" && o.status != "processing";
    last = std::move(o);
    return done;
  };
  CK_RETURN_IF_ERROR(Poll(RequestKind::kPollOrder, url, deadline, start, is_final, &last_status));
  return std::move(*last);
}

}  // namespace certkeeper::acme
