// The real HTTP transport: libcurl with kept-alive connections, bounded waits and
// TLS verification that is always on.
#ifndef CERTKEEPER_ACME_CURL_HTTP_CLIENT_H_
#define CERTKEEPER_ACME_CURL_HTTP_CLIENT_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "acme/http.h"
#include "base/status.h"

namespace certkeeper::acme {

struct CurlOptions {
  // PEM file of extra trust anchors, ADDED to the system roots (for a private or
  // test CA such as Pebble). Empty: system roots only.
  std::string ca_bundle_file{};
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{30000};  // per request
  // At most this many idle handles (each holding a kept-alive connection) are
  // kept for reuse; concurrent callers beyond it get a fresh handle.
  size_t max_idle_handles = 4;
};

class CurlHttpClient : public HttpClient {
 public:
  // Fails when the CA bundle cannot be read or holds no certificate.
  static Result<std::unique_ptr<CurlHttpClient>> Create(const CurlOptions& options);
  ~CurlHttpClient() override;

  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  // Thread-safe. Never follows redirects. Errors: kTls for certificate or
  // handshake failures, kUnavailable for connection failures and timeouts,
  // kProtocol for responses larger than request.max_response_bytes.
  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Handle;
  explicit CurlHttpClient(CurlOptions options);
  std::unique_ptr<Handle> Acquire();
  void Release(std::unique_ptr<Handle> handle);

  CurlOptions options_;
  std::string ca_blob_;  // system roots + extra bundle, PEM; empty: curl default
  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;
};

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_CURL_HTTP_CLIENT_H_
