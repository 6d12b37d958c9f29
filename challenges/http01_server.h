// The HTTP server behind the standalone HTTP-01 solver (RFC 8555 §8.3). During
// validation any host on the internet can reach it, and it runs as root, so
// every client is bounded in bytes, time and number.
#ifndef CERTKEEPER_CHALLENGES_HTTP01_SERVER_H_
#define CERTKEEPER_CHALLENGES_HTTP01_SERVER_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "challenges/http_server.h"

namespace certkeeper::challenges {

struct Http01ServerLimits {
  // Connections open at once. When full, a new connection closes the oldest one
  // still sending its request, so that slow or idle clients cannot lock the CA
  // out: each connection keeps its place until this many newer ones arrived.
  size_t max_connections = 512;
  // Request line plus header fields; a longer head is answered 431.
  size_t max_request_head = kMaxRequestHead;
  // From accept to the last byte of the response: the request must be complete
  // well before. A connection still open then is closed.
  std::chrono::milliseconds request_timeout{10000};
};

// The key authorization for a token, or nullopt for an unknown token. Called on
// the server's thread; it MUST be thread-safe and MUST NOT block.
using TokenLookup = std::function<std::optional<std::string>(std::string_view token)>;

// An HttpServer (challenges/http_server.h: one thread, every client bounded)
// that answers exactly one request per connection and closes:
//  - GET or HEAD /.well-known/acme-challenge/<token> for a token the lookup
//    knows: 200, text/plain, the key authorization as body (HEAD: no body);
//  - other GET/HEAD targets: 404; other methods: 405 with Allow: GET, HEAD;
//  - a malformed head: 400; a head over the limit: 431.
// Memory is bounded by max_connections * (max_request_head + a response).
class Http01Server {
 public:
  // Serves on listen_fd (bound and listening; ownership passes to the server,
  // also on error) until Stop.
  static Result<std::unique_ptr<Http01Server>> Start(int listen_fd, TokenLookup lookup,
                                                     const Http01ServerLimits& limits);
  // Stops: the thread ends within one poll round, every socket is closed.
  ~Http01Server();
  Http01Server(const Http01Server&) = delete;
  Http01Server& operator=(const Http01Server&) = delete;

 private:
  explicit Http01Server(std::unique_ptr<HttpServer> server);
  std::unique_ptr<HttpServer> server_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_HTTP01_SERVER_H_
