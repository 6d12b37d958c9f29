#include "base/tls_socket.h"

#include <errno.h>
#include <openssl/bio.h>
#include <sys/socket.h>

namespace certkeeper {

namespace {

struct SocketState {
  int fd = -1;
  int last_errno = 0;
};

bool Retryable(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

// A failed send or recv: "try again" for the non-blocking loop of libssl, or
// the error remembered for the caller's message.
int Failed(BIO* bio, SocketState* state, bool writing) {
  if (!Retryable(errno)) {
    state->last_errno = errno;
  } else if (writing) {
    BIO_set_retry_write(bio);
  } else {
    BIO_set_retry_read(bio);
  }
  return -1;
}

int Write(BIO* bio, const char* data, int len) {
  auto* state = static_cast<SocketState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = send(state->fd, data, static_cast<size_t>(len), MSG_NOSIGNAL);
  return n >= 0 ? static_cast<int>(n) : Failed(bio, state, /*writing=*/true);
}

int Read(BIO* bio, char* out, int len) {
  auto* state = static_cast<SocketState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = recv(state->fd, out, static_cast<size_t>(len), 0);
  return n >= 0 ? static_cast<int>(n) : Failed(bio, state, /*writing=*/false);
}

long Ctrl(BIO*, int cmd, long, void*) {
  // libssl flushes after each flight; send() keeps nothing to flush. Every
  // other control (kTLS offload, duplication, ...) is not supported.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int Destroy(BIO* bio) {
  delete static_cast<SocketState*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

struct Kind {
  BIO_METHOD* method = nullptr;
  int type = 0;
};

const Kind& OurKind() {
  // Made once and never freed: every connection of the process shares it.
  static const Kind kind = [] {
    Kind k;
    k.type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK;
    k.method = BIO_meth_new(k.type, "socket (MSG_NOSIGNAL)");
    if (k.method != nullptr &&
        (BIO_meth_set_write(k.method, Write) != 1 || BIO_meth_set_read(k.method, Read) != 1 ||
         BIO_meth_set_ctrl(k.method, Ctrl) != 1 ||
         BIO_meth_set_destroy(k.method, Destroy) != 1)) {
      BIO_meth_free(k.method);
      k.method = nullptr;
    }
    return k;
  }();
  return kind;
}

}  // namespace

bool SetSslSocket(SSL* ssl, int fd) {
  BIO* bio = OurKind().method != nullptr ? BIO_new(OurKind().method) : nullptr;
  if (bio == nullptr) return false;
  BIO_set_data(bio, new SocketState{.fd = fd});
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);  // ssl owns bio (one reference for both directions)
  return true;
}

int SslSocketErrno(const SSL* ssl) {
  BIO* bio = SSL_get_rbio(ssl);
  if (bio == nullptr || OurKind().method == nullptr || BIO_method_type(bio) != OurKind().type) {
    return 0;
  }
  return static_cast<const SocketState*>(BIO_get_data(bio))->last_errno;
}

}  // namespace certkeeper
