#include "base/curl_easy.h"

namespace certkeeper::curl_easy {
namespace {

size_t WriteBoundedBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BoundedBody*>(user);
  size_t n = size * count;
  if (sink->body->size() + n > sink->limit) {
    sink->too_large = true;
    return 0;  // makes libcurl abort with CURLE_WRITE_ERROR
  }
  sink->body->append(data, n);
  return n;
}

}  // namespace

void GlobalInitOnce() {
  static const bool initialized = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)initialized;  // a failed init shows as curl_easy_init returning null
}

void SetCommonOptions(CURL* curl, const CommonOptions& options) {
  curl_easy_setopt(curl, CURLOPT_URL, options.url->c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "certkeeper/" CERTKEEPER_VERSION);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, options.headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBoundedBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, options.body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, options.error_buffer);
}

Status BodyTooLarge(const std::string& url, size_t limit) {
  return Status(ErrorCode::kProtocol, "response body exceeds " + std::to_string(limit) + " bytes")
      .Where(url);
}

}  // namespace certkeeper::curl_easy
