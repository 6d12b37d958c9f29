// The OpenSSL error queue as text, for the messages of every module that calls
// OpenSSL (crypto, TLS clients, the TLS-ALPN-01 challenge certificate).
#ifndef CERTKEEPER_BASE_OPENSSL_ERROR_H_
#define CERTKEEPER_BASE_OPENSSL_ERROR_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace certkeeper {

// Drains this thread's OpenSSL error queue (oldest first) into one line,
// entries separated by "; ", and returns `when_empty` when the queue holds
// nothing. The queue is empty afterwards, so an error left behind cannot be
// blamed on a later, unrelated call. OpenSSL's strings name the failing check
// or function, never key material, so the result may be logged.
std::string OpenSslErrors(std::string_view when_empty = "no detail from OpenSSL");

// A Status of `code` saying `what` failed, with the drained queue as detail.
Status CryptoError(ErrorCode code, std::string what);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_OPENSSL_ERROR_H_
