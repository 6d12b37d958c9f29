// The monitoring part of CheckConfig: [serve], [[alert]], [[endpoint]],
// [revocation] (lifecycle/config_check.h).
#include <algorithm>
#include <set>
#include <string>

#include "base/names.h"
#include "challenges/self_check.h"
#include "hooks/endpoint.h"
#include "lifecycle/config_check.h"

namespace certkeeper::lifecycle {

namespace {

constexpr const char* kEvents[] = {"expiring",       "renewal-failing", "deploy-failed",
                                   "rolled-back",    "revoked",         "ca-unreachable",
                                   "endpoint-mismatch", "probe-failing"};

Status Invalid(const std::string& prefix, const std::string& what, const std::string& hint) {
  return Status(ErrorCode::kInvalidArgument, prefix + what).Hint(hint);
}

bool IsLoopbackHttpUrl(const std::string& url) {
  for (const char* host : {"http://127.0.0.1", "http://[::1]", "http://localhost"}) {
    const std::string h = host;
    if (url.rfind(h, 0) == 0 &&
        (url.size() == h.size() || url[h.size()] == ':' || url[h.size()] == '/')) {
      return true;
    }
  }
  return false;
}

Status CheckAlert(const AlertSettings& a, const std::string& prefix) {
  const std::string where = "alert \"" + a.name + "\": ";
  if (a.name.empty() || !ValidateCertificateName(a.name).ok()) {
    return Invalid(prefix, "[[alert]] needs a name of letters, digits, '.', '_' or '-'",
                   "add name = \"ops\" to the block");
  }
  if (a.type == "command") {
    if (a.command.empty() || a.command.front().empty() || a.command.front()[0] != '/') {
      return Invalid(prefix, where + "command must be an argv array starting with an "
                                     "absolute path",
                     "command = [\"/usr/local/bin/notify\", \"--to\", \"ops\"]");
    }
  } else if (a.type == "webhook") {
    const bool https = a.url.rfind("https://", 0) == 0;
    const bool http = a.url.rfind("http://", 0) == 0;
    if (!https && !http) {
      return Invalid(prefix, where + "url must be an http:// or https:// URL",
                     "url = \"https://alerts.example.com/hook\"");
    }
    // Plain HTTP would carry the bearer token and the alert text in the clear.
    if (http && !IsLoopbackHttpUrl(a.url)) {
      return Invalid(prefix, where + "an http:// url must point to this host (127.0.0.1, "
                                     "[::1] or localhost)",
                     "use https:// for a webhook on another host");
    }
    if (a.format != "generic" && a.format != "alertmanager") {
      return Invalid(prefix, where + "format must be \"generic\" or \"alertmanager\"",
                     "alertmanager posts to Alertmanager's /api/v2/alerts");
    }
  } else if (a.type == "email") {
    if (a.to.empty()) {
      return Invalid(prefix, where + "an email alert needs to = [\"ops@example.com\"]",
                     "list the recipients");
    }
    for (const std::string& to : a.to) {
      if (to.find_first_of("\r\n,<>") != std::string::npos || to.find('@') == std::string::npos ||
          to.front() == '-') {
        return Invalid(prefix, where + "\"" + to + "\" is not an email address",
                       "write plain addresses like ops@example.com");
      }
    }
    if (a.from.find_first_of("\r\n") != std::string::npos) {
      return Invalid(prefix, where + "from must be one line", "from = \"certkeeper@host\"");
    }
    if (a.sendmail.empty() || a.sendmail[0] != '/') {
      return Invalid(prefix, where + "sendmail must be an absolute path",
                     "sendmail = \"/usr/sbin/sendmail\"");
    }
  } else {
    return Invalid(prefix, where + "type must be \"command\", \"webhook\" or \"email\"",
                   "type = \"webhook\"");
  }
  for (const std::string& e : a.events) {
    if (std::find(std::begin(kEvents), std::end(kEvents), e) == std::end(kEvents)) {
      return Invalid(prefix, where + "unknown event \"" + e + "\"",
                     "events are expiring, renewal-failing, deploy-failed, rolled-back, "
                     "revoked, ca-unreachable, endpoint-mismatch, probe-failing");
    }
  }
  if (a.expiring_grace < Duration::zero() || a.timeout <= Duration::zero() ||
      a.timeout > std::chrono::minutes(5)) {
    return Invalid(prefix, where + "expiring_grace must not be negative and timeout must be in "
                                   "(0, 5m]",
                   "timeout = \"10s\"");
  }
  return Status::Ok();
}

Status CheckEndpoint(const EndpointSettings& e, const std::string& prefix) {
  const std::string where = "endpoint \"" + e.address + "\": ";
  auto parsed = hooks::ParseEndpoint(e.address);
  if (!parsed.ok()) {
    return Invalid(prefix, where + parsed.status().message(), "address = \"10.0.0.5:443\"");
  }
  if (!e.sni.empty() && !CanonicalDnsName(e.sni).ok()) {
    return Invalid(prefix, where + "sni \"" + e.sni + "\" is not a DNS name",
                   "sni = \"www.example.com\"");
  }
  if (!e.certificate.empty() && !ValidateCertificateName(e.certificate).ok()) {
    return Invalid(prefix, where + "certificate \"" + e.certificate + "\" is not a valid name",
                   "name an inventory certificate");
  }
  if (e.timeout <= Duration::zero() || e.timeout > std::chrono::minutes(2)) {
    return Invalid(prefix, where + "timeout must be in (0, 2m]", "timeout = \"10s\"");
  }
  return Status::Ok();
}

}  // namespace

Status CheckMonitoringConfig(const Config& config, const std::string& prefix) {
  std::set<std::string> names;
  for (const AlertSettings& a : config.alerts) {
    CK_RETURN_IF_ERROR(CheckAlert(a, prefix));
    if (!names.insert(a.name).second) {
      return Invalid(prefix, "alert \"" + a.name + "\" is defined twice", "rename one");
    }
  }
  std::set<std::string> keys;
  for (const EndpointSettings& e : config.endpoints) {
    CK_RETURN_IF_ERROR(CheckEndpoint(e, prefix));
    if (!keys.insert(e.Key()).second) {
      return Invalid(prefix, "endpoint \"" + e.Key() + "\" is defined twice",
                     "each address (and sni) once");
    }
  }
  auto listen = challenges::ParseListenAddress(config.serve.listen);
  if (!listen.ok()) {
    return Invalid(prefix, "serve.listen: " + listen.status().message(),
                   "listen = \"127.0.0.1:9150\"");
  }
  for (const auto& every : {config.serve.renew_every, config.serve.probe_every}) {
    if (every && *every < std::chrono::seconds(10)) {
      return Invalid(prefix, "serve: renew_every and probe_every must be at least 10s",
                     "renew_every = \"12h\", probe_every = \"5m\"");
    }
  }
  const RevocationSettings& r = config.revocation;
  if (r.timeout <= Duration::zero() || r.timeout > std::chrono::minutes(2) ||
      r.max_cache <= Duration::zero()) {
    return Invalid(prefix, "revocation: timeout must be in (0, 2m] and max_cache positive",
                   "timeout = \"10s\", max_cache = \"24h\"");
  }
  return Status::Ok();
}

}  // namespace certkeeper::lifecycle
