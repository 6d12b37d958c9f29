// The socket under an OpenSSL connection, without SIGPIPE.
//
// OpenSSL's socket BIO (SSL_set_fd) writes with write(2). Writing to a
// connection whose peer has gone away raises SIGPIPE, and SIGPIPE ends a
// process that has not ignored it: a TLS client or server of a library MUST
// NOT depend on its embedder's signal disposition, and MUST NOT change it
// either (it is process-wide). SetSslSocket is SSL_set_fd with a BIO that
// writes with send(MSG_NOSIGNAL) instead, so the peer's absence is an EPIPE
// error on that connection and nothing else.
#ifndef CERTKEEPER_BASE_TLS_SOCKET_H_
#define CERTKEEPER_BASE_TLS_SOCKET_H_

#include <openssl/ssl.h>

namespace certkeeper {

// Makes the socket fd (blocking or not; it stays owned by the caller, who
// closes it after SSL_free) the transport of ssl, for reading and writing.
// False when OpenSSL could not allocate the BIO (the reason is on the error
// queue, see base/openssl_error.h).
bool SetSslSocket(SSL* ssl, int fd);

// The errno of the last send or recv on ssl's socket (SetSslSocket) that
// failed for another reason than "try again", or 0: what a handshake that
// failed with an empty OpenSSL error queue ran into ("Broken pipe").
int SslSocketErrno(const SSL* ssl);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_TLS_SOCKET_H_
