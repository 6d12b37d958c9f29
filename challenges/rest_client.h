// RestClient: the HTTP seam of DNS providers that speak to a management API
// over HTTP (PowerDNS). acme/ has its own transport; this one is smaller: one
// request, JSON in and out, bounded in size and time, TLS always verified (the
// libcurl options both share are in base/curl_easy.h). Unit tests inject a
// fake API.
#ifndef CERTKEEPER_CHALLENGES_REST_CLIENT_H_
#define CERTKEEPER_CHALLENGES_REST_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace certkeeper::challenges {

struct RestRequest {
  std::string method;                // "GET", "PATCH", "PUT", "POST", "DELETE"
  std::string url;                   // http:// or https://
  std::vector<std::string> headers;  // "Name: value"; may hold secrets, never logged
  std::string body;                  // sent as application/json when not empty
};

struct RestResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Contract: Send performs exactly one exchange (no retries, no redirects) and
// returns the response whatever its status code; an error Status means no
// complete response was received (connection, TLS, timeout, size limit) and
// names the URL, never a header value.
class RestClient {
 public:
  virtual ~RestClient() = default;
  virtual Result<RestResponse> Send(const RestRequest& request) = 0;
};

struct CurlRestOptions {
  // PEM trust anchors used INSTEAD of the system roots (a private API behind a
  // private CA); empty: the system roots.
  std::string ca_file;
  std::chrono::milliseconds timeout{10000};  // whole exchange, connect included
  size_t max_response_bytes = 4 << 20;
};

// libcurl: http and https only, peer and host always verified.
std::unique_ptr<RestClient> MakeCurlRestClient(CurlRestOptions options);

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_REST_CLIENT_H_
