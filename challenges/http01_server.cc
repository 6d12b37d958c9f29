#include "challenges/http01_server.h"

#include <utility>

#include "base/log.h"

namespace certkeeper::challenges {

namespace {

constexpr std::string_view kChallengePath = "/.well-known/acme-challenge/";

// RFC 8555 §8.3: the validation request is a GET; HEAD is answered alike.
std::string Answer(const TokenLookup& lookup, const RequestHead& head) {
  const bool head_only = head.method == "HEAD";
  if (head.method != "GET" && !head_only) {
    return HttpResponse(405, "Method Not Allowed", "text/plain", "Allow: GET, HEAD\r\n", "",
                        false);
  }
  std::string_view path = TargetPath(head.target);
  if (path.substr(0, kChallengePath.size()) == kChallengePath) {
    std::optional<std::string> key_authorization = lookup(path.substr(kChallengePath.size()));
    if (key_authorization) {
      log::Debug("http-01: key authorization served", {{"path", std::string(path)}});
      return HttpResponse(200, "OK", "text/plain", "", *key_authorization, head_only);
    }
  }
  return HttpResponse(404, "Not Found", "text/plain", "", "", head_only);
}

}  // namespace

Result<std::unique_ptr<Http01Server>> Http01Server::Start(int listen_fd, TokenLookup lookup,
                                                         const Http01ServerLimits& limits) {
  HttpServerLimits bounds;
  bounds.max_connections = limits.max_connections;
  bounds.max_request_head = limits.max_request_head;
  bounds.request_timeout = limits.request_timeout;
  auto handler = [lookup = std::move(lookup)](const RequestHead& head) {
    return Answer(lookup, head);
  };
  CK_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
                      HttpServer::Start(listen_fd, "http-01", std::move(handler), bounds));
  return std::unique_ptr<Http01Server>(new Http01Server(std::move(server)));
}

Http01Server::Http01Server(std::unique_ptr<HttpServer> server) : server_(std::move(server)) {}

Http01Server::~Http01Server() = default;

}  // namespace certkeeper::challenges
