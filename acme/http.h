// The HTTP seam of the ACME client. Everything acme/ sends goes through one
// HttpClient::Send, so unit tests inject a scripted CA and the real transport
// (CurlHttpClient) is one small class.
#ifndef CERTKEEPER_ACME_HTTP_H_
#define CERTKEEPER_ACME_HTTP_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace certkeeper::acme {

// Header fields in arrival order. Names compare case-insensitively (RFC 9110
// §5.1); a name may occur several times (Link, RFC 8288).
class HttpHeaders {
 public:
  void Add(std::string name, std::string value);
  // The first value of `name`, if any.
  std::optional<std::string> Get(std::string_view name) const;
  std::vector<std::string> GetAll(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const {
    return entries_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

struct HttpRequest {
  std::string method;  // "GET", "HEAD" or "POST"
  std::string url;
  HttpHeaders headers;
  std::string body;
  // The transport fails with kProtocol when the body grows beyond this.
  size_t max_response_bytes = 1 << 20;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

// Contract: Send performs exactly one exchange (no retries, no redirects) and
// returns the response whatever its status code; an error Status means no
// response was received (connection, TLS, timeout, size limit). Implementations
// MUST be safe to call from several threads at once and MUST verify TLS.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// True for "application/json", "application/problem+json", any "+json" type,
// parameters ignored.
bool IsJsonContentType(std::string_view content_type);

// One target of a Link header field (RFC 8288 §3): <uri>; rel="name".
struct Link {
  std::string uri;
  std::string rel;
};
// Parses every Link header of a response; malformed entries are skipped.
std::vector<Link> ParseLinks(const HttpHeaders& headers);

// Lower-cases ASCII; used for header names and scheme comparisons.
std::string AsciiLower(std::string_view text);

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_HTTP_H_
