// What every libcurl request of certkeeper has in common, whoever sends it (the
// ACME transport in acme/, the DNS providers' management APIs in challenges/):
// one process-wide initialisation, the same safety options on every handle, and
// a response body bounded in size.
//
// Contract: SetCommonOptions always turns peer and host verification on; there
// is no way to turn them off here, and callers must not do it afterwards. The
// trust anchors (CURLOPT_CAINFO and friends), the method and its body, proxies
// and any other option are the caller's to set.
#ifndef CERTKEEPER_BASE_CURL_EASY_H_
#define CERTKEEPER_BASE_CURL_EASY_H_

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "base/status.h"

namespace certkeeper::curl_easy {

// curl_global_init(CURL_GLOBAL_DEFAULT) once per process; thread-safe. Call it
// before the first curl_easy_init.
void GlobalInitOnce();

// A response body collected into *body up to `limit` bytes. A response that
// would grow past it aborts the transfer (curl_easy_perform returns
// CURLE_WRITE_ERROR) and sets too_large; see BodyTooLarge.
struct BoundedBody {
  std::string* body;
  size_t limit;
  bool too_large = false;
};

// What SetCommonOptions sets. The pointers must stay valid until the transfer
// is over; headers may be null.
struct CommonOptions {
  const std::string* url;
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds total_timeout;
  curl_slist* headers;
  BoundedBody* body;
  char* error_buffer;  // CURL_ERROR_SIZE bytes, for CURLOPT_ERRORBUFFER
};

// Sets the URL, http and https as the only protocols, no redirects followed, no
// signals (safe in threads), TLS peer and host verification on, both timeouts,
// the User-Agent certkeeper/VERSION, the request headers, the bounded body sink
// and the error buffer.
void SetCommonOptions(CURL* curl, const CommonOptions& options);

// The error for a transfer aborted by BoundedBody's limit: kProtocol, at url.
Status BodyTooLarge(const std::string& url, size_t limit);

}  // namespace certkeeper::curl_easy

#endif  // CERTKEEPER_BASE_CURL_EASY_H_
