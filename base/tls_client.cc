#include "base/tls_client.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/socket.h>

#include <memory>

#include "base/openssl_error.h"
#include "base/openssl_ptr.h"
#include "base/tls_socket.h"
#include "base/unique_fd.h"

namespace certkeeper {

namespace {

// kPinnedLeaf: the peer's leaf must be byte for byte the pinned DER.
int VerifyPinned(X509_STORE_CTX* store, void* arg) {
  const auto* expected = static_cast<const std::string*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  unsigned char* der = nullptr;
  int len = leaf ? i2d_X509(leaf, &der) : -1;
  bool match = len > 0 && !expected->empty() &&
               std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(len)) ==
                   *expected;
  OPENSSL_free(der);
  if (!match) X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return match ? 1 : 0;
}

Result<std::string> AlpnWire(const std::vector<std::string>& protocols, std::string_view where) {
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      return Status(ErrorCode::kInvalidArgument,
                    "an ALPN protocol name must be 1 to 255 bytes, not " +
                        std::to_string(p.size()))
          .Where(std::string(where));
    }
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

Result<SslCtxPtr> MakeContext(const TlsClientOptions& options) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    return Status(ErrorCode::kInternal, "cannot create a TLS context: " + OpenSslErrors());
  }
  if (options.peer_check == TlsPeerCheck::kAcceptAny) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx.get(), VerifyPinned,
                                     const_cast<std::string*>(&options.pinned_leaf_der));
  }
  return ctx;
}

Status HandshakeFailure(SSL* ssl, const TlsClientOptions& options, std::string_view where) {
  std::string detail = OpenSslErrors("");
  if (options.peer_check == TlsPeerCheck::kPinnedLeaf &&
      SSL_get_verify_result(ssl) == X509_V_ERR_CERT_REJECTED) {
    return Status(ErrorCode::kTls,
                  "the server presented a certificate other than the pinned one")
        .Where(std::string(where));
  }
  if (detail.empty()) {
    int err = SslSocketErrno(ssl);
    detail = err != 0 ? strerror(err) : "the connection was closed";
  }
  return Status(ErrorCode::kTls, "TLS handshake failed: " + detail).Where(std::string(where));
}

Result<TlsPeer> PeerOf(SSL* ssl, std::string_view where) {
  TlsPeer peer;
  // On a client, the chain includes the leaf (SSL_get_peer_cert_chain(3)).
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    unsigned char* der = nullptr;
    int len = i2d_X509(sk_X509_value(chain, i), &der);
    if (len <= 0) {
      return Status(ErrorCode::kTls, "cannot encode the served certificate")
          .Where(std::string(where));
    }
    peer.chain_der.emplace_back(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  if (peer.chain_der.empty()) {
    return Status(ErrorCode::kTls, "the server sent no certificate").Where(std::string(where));
  }
  const unsigned char* proto = nullptr;
  unsigned int proto_len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &proto_len);
  if (proto != nullptr) peer.alpn.assign(reinterpret_cast<const char*>(proto), proto_len);
  return peer;
}

// Drives SSL_connect on the non-blocking socket until it completes (true),
// fails (false) or the deadline passes (kDeadlineExceeded).
template <typename Step>
Result<bool> Drive(SSL* ssl, int fd, SteadyDeadline deadline, std::string_view where, Step step) {
  while (true) {
    int rc = step(ssl);
    if (rc == 1) return true;
    int err = SSL_get_error(ssl, rc);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) return false;
    CK_RETURN_IF_ERROR(WaitForFd(fd, events, deadline, where));
  }
}

std::string HostPort(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

Result<TlsPeer> TlsHandshake(int fd, const TlsClientOptions& options, SteadyDeadline deadline,
                             std::string_view where) {
  ERR_clear_error();
  CK_ASSIGN_OR_RETURN(std::string alpn, AlpnWire(options.alpn, where));
  CK_ASSIGN_OR_RETURN(auto ctx, MakeContext(options));
  SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl || !SetSslSocket(ssl.get(), fd) ||
      (!options.server_name.empty() &&
       SSL_set_tlsext_host_name(ssl.get(), options.server_name.c_str()) != 1) ||
      (!alpn.empty() &&
       SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                           static_cast<unsigned>(alpn.size())) != 0)) {
    return Status(ErrorCode::kInternal, "cannot set up the TLS connection: " + OpenSslErrors())
        .Where(std::string(where));
  }
  Result<bool> done = Drive(ssl.get(), fd, deadline, where, SSL_connect);
  if (!done.ok()) {
    ERR_clear_error();
    if (done.status().code() != ErrorCode::kDeadlineExceeded) return done.status();
    return Status(ErrorCode::kDeadlineExceeded, "TLS handshake timed out").Where(std::string(where));
  }
  if (!*done) return HandshakeFailure(ssl.get(), options, where);
  Result<TlsPeer> peer = PeerOf(ssl.get(), where);
  // Best effort: the close_notify is a courtesy to the server (RFC 8446 §6.1);
  // what was served is already known, so its failure changes nothing.
  SSL_shutdown(ssl.get());
  ERR_clear_error();
  return peer;
}

Result<TlsPeer> TlsConnect(const std::string& host, int port, const TlsClientOptions& options,
                           SteadyDeadline deadline) {
  std::string where = HostPort(host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    return Status(ErrorCode::kUnavailable,
                  std::string("cannot resolve the host: ") + gai_strerror(rc))
        .Where(where);
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  Status last(ErrorCode::kUnavailable, "no address to connect to");
  last.Where(where);
  for (const addrinfo* addr = list.get(); addr != nullptr; addr = addr->ai_next) {
    fs::UniqueFd fd(socket(addr->ai_family, addr->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           addr->ai_protocol));
    if (!fd) {
      last = Status(ErrorCode::kIo, std::string("socket: ") + strerror(errno)).Where(where);
      continue;
    }
    last = ConnectBefore(fd.get(), addr->ai_addr, addr->ai_addrlen, deadline, where);
    if (!last.ok()) continue;
    return TlsHandshake(fd.get(), options, deadline, where);
  }
  return last;
}

}  // namespace certkeeper
