#include "base/openssl_error.h"

#include <openssl/err.h>

namespace certkeeper {

std::string OpenSslErrors(std::string_view when_empty) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string(when_empty) : out;
}

Status CryptoError(ErrorCode code, std::string what) {
  return Status(code, what + ": " + OpenSslErrors());
}

}  // namespace certkeeper
