#include "challenges/rest_client.h"

#include <curl/curl.h>

#include <utility>

#include "base/curl_easy.h"

namespace certkeeper::challenges {
namespace {

Status MapError(CURLcode code, const std::string& url, const char* detail) {
  std::string what = curl_easy_strerror(code);
  if (detail != nullptr && detail[0] != '\0') what += ": " + std::string(detail);
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return Status(ErrorCode::kTls, "TLS failure: " + what)
          .Where(url)
          .Hint("the API's certificate must verify; for a private CA set ca_file to its root");
    case CURLE_OPERATION_TIMEDOUT:
      return Status(ErrorCode::kDeadlineExceeded, "no answer in time: " + what)
          .Where(url)
          .Hint("is the API up? raise `timeout` if it is slow");
    default:
      return Status(ErrorCode::kUnavailable, "cannot reach the API: " + what)
          .Where(url)
          .Hint("check the URL and that the server's API/webserver is enabled and listening");
  }
}

class CurlRestClient : public RestClient {
 public:
  explicit CurlRestClient(CurlRestOptions options) : options_(std::move(options)) {}

  Result<RestResponse> Send(const RestRequest& request) override {
    curl_easy::GlobalInitOnce();
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return Status(ErrorCode::kInternal, "curl_easy_init failed").Where(request.url);
    RestResponse response;
    curl_easy::BoundedBody sink{&response.body, options_.max_response_bytes};
    char error_buffer[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = nullptr;
    for (const std::string& h : request.headers) headers = curl_slist_append(headers, h.c_str());
    headers = curl_slist_append(headers, "Accept: application/json");
    if (!request.body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");

    curl_easy::SetCommonOptions(curl, {.url = &request.url,
                                       .connect_timeout = options_.timeout,
                                       .total_timeout = options_.timeout,
                                       .headers = headers,
                                       .body = &sink,
                                       .error_buffer = error_buffer});
    // A plain-http request (loopback only) carries its API key in clear text:
    // it never goes through a proxy. https honours https_proxy, tunnelled.
    if (request.url.rfind("http://", 0) == 0) curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (request.method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PATCH" ||
        request.method == "PUT") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    char* content_type = nullptr;
    if (code == CURLE_OK) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
      if (content_type != nullptr) response.content_type = content_type;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (code != CURLE_OK) {
      if (sink.too_large) return curl_easy::BodyTooLarge(request.url, options_.max_response_bytes);
      return MapError(code, request.url, error_buffer);
    }
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  CurlRestOptions options_;
};

}  // namespace

std::unique_ptr<RestClient> MakeCurlRestClient(CurlRestOptions options) {
  return std::make_unique<CurlRestClient>(std::move(options));
}

}  // namespace certkeeper::challenges
