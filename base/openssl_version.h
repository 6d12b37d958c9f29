// The OpenSSL library this process runs with (not the headers it was built
// against), for `certkeeper --version` and bug reports.
#ifndef CERTKEEPER_BASE_OPENSSL_VERSION_H_
#define CERTKEEPER_BASE_OPENSSL_VERSION_H_

#include <string>

namespace certkeeper {

// "3.0.11": OpenSSL_version(OPENSSL_VERSION_STRING) of the loaded libcrypto.
std::string OpenSslVersion();

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_OPENSSL_VERSION_H_
