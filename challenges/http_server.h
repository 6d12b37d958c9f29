// A small HTTP/1.1 server for hostile networks: the loop behind the standalone
// HTTP-01 solver (challenges/http01_server.h) and `certkeeper serve`. Any host
// that can reach it may be an attacker, so every client is bounded in bytes,
// time and number, and what it answers is decided by a handler.
#ifndef CERTKEEPER_CHALLENGES_HTTP_SERVER_H_
#define CERTKEEPER_CHALLENGES_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "challenges/http_request_head.h"

namespace certkeeper::challenges {

struct HttpServerLimits {
  // Connections open at once. When full, a new connection closes the oldest one
  // still sending its request (or, when every one is being answered, the
  // oldest of all), so that slow or idle clients cannot lock others out: each
  // connection keeps its place until this many newer ones arrived.
  size_t max_connections = 512;
  // Request line plus header fields; a longer head is answered 431.
  size_t max_request_head = kMaxRequestHead;
  // From accept to the last byte of the response: the request must be complete
  // well before. A connection still open then is closed.
  std::chrono::milliseconds request_timeout{10000};
};

// Builds the complete response (status line, header fields, body) to a
// well-formed request head. Called on the server's thread, one request at a
// time; it MUST NOT block for long (every other client waits meanwhile).
using HttpHandler = std::function<std::string(const RequestHead& head)>;

// A response with Content-Length and "Connection: close"; extra_headers are
// complete lines ("Allow: GET, HEAD\r\n"). head_only leaves the body out
// (RFC 9110 §9.3.2: HEAD gets the same header fields as GET).
std::string HttpResponse(int status, std::string_view reason, std::string_view content_type,
                         std::string_view extra_headers, std::string_view body, bool head_only);

// One thread, non-blocking sockets multiplexed with poll(). Per connection it
// reads at most max_request_head bytes and never a body, answers exactly one
// request and closes ("Connection: close"): a malformed head gets 400, a head
// over the limit 431, any other the handler's response. Memory is bounded by
// max_connections * (max_request_head + the largest response).
class HttpServer {
 public:
  // Serves on listen_fd (bound and listening; ownership passes to the server,
  // also on error) until destroyed. `name` prefixes its log lines.
  static Result<std::unique_ptr<HttpServer>> Start(int listen_fd, std::string name,
                                                   HttpHandler handler,
                                                   const HttpServerLimits& limits);
  // Stops: the thread ends within one poll round, every socket is closed.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  class Loop;
  explicit HttpServer(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_HTTP_SERVER_H_
