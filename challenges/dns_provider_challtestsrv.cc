#include "challenges/dns_provider_challtestsrv.h"

#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace certkeeper::challenges {

Result<std::unique_ptr<ChalltestsrvDnsProvider>> ChalltestsrvDnsProvider::Create(
    ChalltestsrvOptions options) {
  std::string_view url = options.url;
  auto bad = [&](std::string why) {
    return Status(ErrorCode::kInvalidArgument,
                  "dns-01 challtestsrv provider: invalid url '" + options.url + "': " + why)
        .Hint("write the management API address as http://127.0.0.1:8055");
  };
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return bad("must start with http://");
  std::string_view hostport = url.substr(kScheme.size());
  if (!hostport.empty() && hostport.back() == '/') hostport.remove_suffix(1);
  if (hostport.empty()) return bad("no host");
  if (hostport.find_first_of("/?#@ ") != std::string_view::npos) {
    return bad("only scheme, host and port are allowed");
  }
  options.url = std::string(kScheme) + std::string(hostport);
  if (options.timeout.count() <= 0) return bad("timeout must be positive");
  return std::unique_ptr<ChalltestsrvDnsProvider>(new ChalltestsrvDnsProvider(std::move(options)));
}

Status ChalltestsrvDnsProvider::Post(std::string_view path, const std::string& body) {
  httplib::Client client(options_.url);
  auto secs = options_.timeout.count() / 1000;
  auto usecs = (options_.timeout.count() % 1000) * 1000;
  client.set_connection_timeout(secs, usecs);
  client.set_read_timeout(secs, usecs);
  client.set_write_timeout(secs, usecs);
  std::string where = options_.url + std::string(path);
  httplib::Result res = client.Post(std::string(path), body, "application/json");
  if (!res) {
    return Status(ErrorCode::kUnavailable, "dns-01 challtestsrv provider: request failed: " +
                                               httplib::to_string(res.error()))
        .Where(where)
        .Hint("is pebble-challtestsrv running with its management API at this address?");
  }
  if (res->status != 200) {
    return Status(ErrorCode::kProtocol, "dns-01 challtestsrv provider: HTTP " +
                                            std::to_string(res->status) + " " + res->body)
        .Where(where);
  }
  return Status::Ok();
}

Status ChalltestsrvDnsProvider::Present(std::string_view fqdn, std::string_view value) {
  std::vector<std::string>& held = values_[std::string(fqdn)];
  if (std::find(held.begin(), held.end(), value) != held.end()) return Status::Ok();
  nlohmann::json body = {{"host", fqdn}, {"value", value}};
  CK_RETURN_IF_ERROR(Post("/set-txt", body.dump()));
  held.emplace_back(value);
  return Status::Ok();
}

Status ChalltestsrvDnsProvider::CleanUp(std::string_view fqdn, std::string_view value) {
  auto it = values_.find(fqdn);
  std::vector<std::string> keep;
  if (it != values_.end()) {
    for (const std::string& v : it->second) {
      if (v != value) keep.push_back(v);
    }
  }
  nlohmann::json clear = {{"host", fqdn}};
  CK_RETURN_IF_ERROR(Post("/clear-txt", clear.dump()));
  if (it != values_.end()) it->second.clear();
  for (const std::string& v : keep) CK_RETURN_IF_ERROR(Present(fqdn, v));
  if (it != values_.end() && it->second.empty()) values_.erase(it);
  return Status::Ok();
}

Status ChalltestsrvDnsProvider::Check() {
  nlohmann::json body = {{"host", "_certkeeper-check.invalid."}};
  return Post("/clear-txt", body.dump());
}

}  // namespace certkeeper::challenges
