// The libcurl this process runs with, for `certkeeper --version`.
#ifndef CERTKEEPER_ACME_CURL_VERSION_H_
#define CERTKEEPER_ACME_CURL_VERSION_H_

#include <string>

namespace certkeeper::acme {

// "7.88.1": curl_version_info(CURLVERSION_NOW)->version of the loaded libcurl.
std::string CurlVersion();

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_CURL_VERSION_H_
