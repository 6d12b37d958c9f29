#include "base/openssl_version.h"

#include <openssl/crypto.h>

namespace certkeeper {

std::string OpenSslVersion() { return OpenSSL_version(OPENSSL_VERSION_STRING); }

}  // namespace certkeeper
