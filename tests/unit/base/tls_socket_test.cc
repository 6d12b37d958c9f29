#include "base/tls_socket.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "base/openssl_ptr.h"
#include "base/unique_fd.h"
#include "tests/support/sigpipe_default.h"
#include "tests/support/test_cert.h"

namespace certkeeper {
namespace {

using testing::MadeCert;
using testing::MakeCert;

// A ClientHello as a client would send it, made in memory.
std::string ClientHello() {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr ssl(SSL_new(ctx.get()));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);
  SSL_set_tlsext_host_name(ssl.get(), "example.test");
  EXPECT_EQ(SSL_get_error(ssl.get(), SSL_connect(ssl.get())), SSL_ERROR_WANT_READ);
  char* data = nullptr;
  long len = BIO_get_mem_data(out, &data);
  return std::string(data, static_cast<size_t>(len));
}

// A server (the TLS-ALPN-01 listener's side) whose client sent its hello and
// hung up: the server's answer meets EPIPE. With SIGPIPE at its default
// disposition, as in a program that embeds the engine without ignoring it,
// OpenSSL's own socket BIO (SSL_set_fd) ends this test binary here.
TEST(SetSslSocketTest, AnswerToAClientThatHungUpFailsWithoutSigpipe) {
  testing::SigpipeDefault sigpipe_kills;
  MadeCert cert = MakeCert("example.test", nullptr, 1);
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  ASSERT_EQ(SSL_CTX_use_certificate(ctx.get(), cert.cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), cert.key.get()), 1);
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  fs::UniqueFd server_end(pair[0]);
  std::string hello = ClientHello();
  ASSERT_EQ(write(pair[1], hello.data(), hello.size()), static_cast<ssize_t>(hello.size()));
  close(pair[1]);

  SslPtr ssl(SSL_new(ctx.get()));
  ASSERT_TRUE(SetSslSocket(ssl.get(), server_end.get()));
  EXPECT_EQ(SslSocketErrno(ssl.get()), 0);
  EXPECT_NE(SSL_accept(ssl.get()), 1);
  EXPECT_EQ(SslSocketErrno(ssl.get()), EPIPE);
  ERR_clear_error();
}

TEST(SetSslSocketTest, SocketErrnoOfAnotherBioIsZero) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr ssl(SSL_new(ctx.get()));
  EXPECT_EQ(SslSocketErrno(ssl.get()), 0);  // no BIO at all
  BIO* mem = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), mem, mem);
  EXPECT_EQ(SslSocketErrno(ssl.get()), 0);
}

}  // namespace
}  // namespace certkeeper
