#include "lifecycle/alert_delivery.h"

#include <algorithm>
#include <chrono>

#include "acme/curl_http_client.h"
#include "base/fs.h"
#include "base/process.h"
#include "base/text.h"

namespace certkeeper::lifecycle {

namespace {

// A target's answer is only read for the error message.
constexpr size_t kMaxResponseBytes = 64 * 1024;
constexpr size_t kMaxErrorBytes = 300;

std::chrono::milliseconds TimeoutOf(const AlertSettings& alert) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(alert.timeout);
  return std::max(ms, std::chrono::milliseconds(1000));
}

std::string EventsOf(const AlertNotification& n) {
  std::vector<std::string> events;
  for (const auto* list : {&n.firing, &n.resolved}) {
    for (const AlertItem& i : *list) {
      if (std::find(events.begin(), events.end(), i.event) == events.end()) {
        events.push_back(i.event);
      }
    }
  }
  std::string out;
  for (const std::string& e : events) out += (out.empty() ? "" : ",") + e;
  return out;
}

Status ProcessFailed(const std::string& what, const ProcessResult& r) {
  std::string err = SanitizeUtf8(Utf8Suffix(r.stderr_data, kMaxErrorBytes));
  return Status(ErrorCode::kUnavailable,
                what + " " + r.Describe() + (err.empty() ? "" : ": " + err));
}

}  // namespace

Status TargetAlertSender::Send(const AlertSettings& alert, const AlertNotification& n) {
  if (alert.type == "command") return SendAlertCommand(alert, n);
  if (alert.type == "webhook") return SendAlertWebhook(alert, n);
  if (alert.type == "email") return SendAlertEmail(alert, n);
  return Status(ErrorCode::kInvalidArgument, "unknown alert type \"" + alert.type + "\"")
      .Hint("type is \"command\", \"webhook\" or \"email\"");
}

Status SendAlertCommand(const AlertSettings& alert, const AlertNotification& n) {
  if (alert.command.empty()) {
    return Status(ErrorCode::kInvalidArgument, "alert " + alert.name + " has no command");
  }
  ProcessSpec spec;
  spec.argv = alert.command;
  spec.stdin_data = GenericAlertJson(n);
  spec.timeout = TimeoutOf(alert);
  spec.max_output = 16 * 1024;
  spec.env = {{"CERTKEEPER_ALERT", n.alert},
              {"CERTKEEPER_EVENTS", EventsOf(n)},
              {"CERTKEEPER_FIRING", std::to_string(n.firing.size())},
              {"CERTKEEPER_RESOLVED", std::to_string(n.resolved.size())},
              {"CERTKEEPER_HOST", n.host},
              {"CERTKEEPER_TEST", n.test ? "1" : "0"}};
  CK_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(spec));
  if (!r.success()) return ProcessFailed("alert command " + alert.command.front(), r);
  return Status::Ok();
}

Result<std::string> ReadBearerToken(const std::string& path) {
  CK_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(path));
  std::string token = text.substr(0, text.find('\n'));
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) {
    token.pop_back();
  }
  const bool clean = std::all_of(token.begin(), token.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (token.empty() || !clean) {
    return Status(ErrorCode::kInvalidArgument, "the bearer token file holds no usable token")
        .Where(path)
        .Hint("write the token on the first line: printable ASCII, no spaces");
  }
  return token;
}

Status SendAlertWebhook(const AlertSettings& alert, const AlertNotification& n) {
  acme::CurlOptions options;
  options.ca_bundle_file = alert.ca_bundle;
  options.total_timeout = TimeoutOf(alert);
  options.connect_timeout = std::min(options.total_timeout, options.connect_timeout);
  options.max_idle_handles = 0;
  CK_ASSIGN_OR_RETURN(auto client, acme::CurlHttpClient::Create(options));
  acme::HttpRequest request;
  request.method = "POST";
  const bool alertmanager = alert.format == "alertmanager";
  request.url = alertmanager ? AlertmanagerAlertsUrl(alert.url) : alert.url;
  request.body = alertmanager ? AlertmanagerAlertJson(n) : GenericAlertJson(n);
  request.headers.Add("Content-Type", "application/json");
  request.headers.Add("User-Agent", "certkeeper-alert");
  if (!alert.token_file.empty()) {
    CK_ASSIGN_OR_RETURN(std::string token, ReadBearerToken(alert.token_file));
    request.headers.Add("Authorization", "Bearer " + token);
  }
  request.max_response_bytes = kMaxResponseBytes;
  Result<acme::HttpResponse> response = client->Send(request);
  if (!response.ok()) {
    Status s = response.status();
    return std::move(s.Annotate("POST the alert to " + request.url));
  }
  if (response->status < 200 || response->status > 299) {
    std::string body = SanitizeUtf8(Utf8Prefix(response->body, kMaxErrorBytes));
    return Status(ErrorCode::kUnavailable, "the webhook answered HTTP " +
                                               std::to_string(response->status) +
                                               (body.empty() ? "" : ": " + body))
        .Where(request.url);
  }
  return Status::Ok();
}

Status SendAlertEmail(const AlertSettings& alert, const AlertNotification& n) {
  ProcessSpec spec;
  // -t: recipients from the To header (checked addresses, no shell);
  // -i: a line of a single "." does not end the message.
  spec.argv = {alert.sendmail, "-t", "-i"};
  spec.stdin_data = AlertEmailMessage(alert, n);
  spec.timeout = TimeoutOf(alert);
  spec.max_output = 16 * 1024;
  CK_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(spec));
  if (!r.success()) return ProcessFailed("sendmail " + alert.sendmail, r);
  return Status::Ok();
}

}  // namespace certkeeper::lifecycle
