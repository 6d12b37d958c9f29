#include "base/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <string>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "tests/support/sigpipe_default.h"
#include "tests/support/test_cert.h"
#include "tests/support/test_tls_server.h"

namespace certkeeper {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::MadeCert;
using testing::MakeCert;
using testing::TestTlsServer;

class TlsClientTest : public ::testing::Test {
 protected:
  MadeCert intermediate_ = MakeCert("Test Intermediate", nullptr, 1);
  MadeCert leaf_ = MakeCert("example.test", &intermediate_, 2);
  TestTlsServer server_{leaf_.CertPem() + intermediate_.CertPem(), leaf_.KeyPem(),
                        {"acme-tls/1"}};

  static TlsClientOptions AcceptAny(std::string sni) {
    TlsClientOptions options;
    options.server_name = std::move(sni);
    options.peer_check = TlsPeerCheck::kAcceptAny;
    return options;
  }
  static SteadyDeadline In(milliseconds ms) { return steady_clock::now() + ms; }
};

TEST_F(TlsClientTest, SendsSniAndReturnsTheServedChainLeafFirst) {
  Result<TlsPeer> peer =
      TlsConnect("127.0.0.1", server_.port(), AcceptAny("example.test"), In(milliseconds(5000)));
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  ASSERT_EQ(peer->chain_der.size(), 2u);
  EXPECT_EQ(peer->chain_der[0], leaf_.Der());
  EXPECT_EQ(peer->chain_der[1], intermediate_.Der());
  EXPECT_EQ(peer->alpn, "");  // none offered, none selected
  ASSERT_TRUE(server_.WaitForHandshakes(1, milliseconds(5000)));
  EXPECT_EQ(server_.server_names(), std::vector<std::string>{"example.test"});
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(TlsClientTest, NegotiatesTheAlpnProtocolTheServerAccepts) {
  TlsClientOptions options = AcceptAny("example.test");
  options.alpn = {"h2", "acme-tls/1"};
  Result<TlsPeer> peer = TlsConnect("127.0.0.1", server_.port(), options, In(milliseconds(5000)));
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  EXPECT_EQ(peer->alpn, "acme-tls/1");

  options.alpn = {"http/1.1"};
  peer = TlsConnect("127.0.0.1", server_.port(), options, In(milliseconds(5000)));
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  EXPECT_EQ(peer->alpn, "");
}

TEST_F(TlsClientTest, InvalidAlpnNameIsRefusedBeforeConnecting) {
  TlsClientOptions options = AcceptAny("example.test");
  options.alpn = {""};
  Result<TlsPeer> peer = TlsConnect("127.0.0.1", server_.port(), options, In(milliseconds(5000)));
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), ErrorCode::kInvalidArgument) << peer.status().ToString();
  options.alpn = {std::string(256, 'a')};
  peer = TlsConnect("127.0.0.1", server_.port(), options, In(milliseconds(5000)));
  EXPECT_EQ(peer.status().code(), ErrorCode::kInvalidArgument) << peer.status().ToString();
}

TEST_F(TlsClientTest, PinnedLeafIsAcceptedAndAnyOtherRefused) {
  TlsClientOptions options;
  options.server_name = "example.test";
  options.pinned_leaf_der = leaf_.Der();
  Result<TlsPeer> peer = TlsConnect("127.0.0.1", server_.port(), options, In(milliseconds(5000)));
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  EXPECT_EQ(peer->chain_der[0], leaf_.Der());

  options.pinned_leaf_der = intermediate_.Der();
  peer = TlsConnect("127.0.0.1", server_.port(), options, In(milliseconds(5000)));
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), ErrorCode::kTls);
  EXPECT_NE(peer.status().message().find("other than the pinned one"), std::string::npos)
      << peer.status().ToString();
  EXPECT_EQ(peer.status().where(), "127.0.0.1:" + std::to_string(server_.port()));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(TlsClientTest, DefaultOptionsTrustNothing) {
  Result<TlsPeer> peer =
      TlsConnect("127.0.0.1", server_.port(), TlsClientOptions{}, In(milliseconds(5000)));
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), ErrorCode::kTls) << peer.status().ToString();
}

// A listener whose connections the kernel completes but nobody serves: the
// handshake is never answered.
class SilentListener {
 public:
  SilentListener() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (!fd_ || bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(fd_.get(), 4) != 0 ||
        getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
  }
  int port() const { return port_; }

 private:
  fs::UniqueFd fd_;
  int port_ = 0;
};

TEST(TlsClientDeadlineTest, ServerThatNeverAnswersEndsAtTheDeadline) {
  SilentListener silent;
  auto started = steady_clock::now();
  SteadyDeadline deadline = started + milliseconds(300);
  Result<TlsPeer> peer =
      TlsConnect("127.0.0.1", silent.port(), TlsClientOptions{}, deadline);
  auto ended = steady_clock::now();
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), ErrorCode::kDeadlineExceeded) << peer.status().ToString();
  EXPECT_EQ(peer.status().message(), "TLS handshake timed out");
  EXPECT_GE(ended, deadline);
  // Not a timing figure: a bound far above the deadline, only to tell "ended
  // at its deadline" from "waited for something else".
  EXPECT_LT(ended - started, std::chrono::seconds(30));
}

TEST(TlsClientConnectTest, NothingListeningIsUnavailable) {
  int port;
  {
    SilentListener closed;  // a port that was free a moment ago, now closed again
    port = closed.port();
  }
  Result<TlsPeer> peer = TlsConnect("127.0.0.1", port, TlsClientOptions{},
                                    steady_clock::now() + milliseconds(5000));
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), ErrorCode::kUnavailable) << peer.status().ToString();
  EXPECT_NE(peer.status().message().find("cannot connect"), std::string::npos);
}

TEST(TlsClientSigpipeTest, PeerGoneBeforeTheClientHelloFailsWithoutSigpipe) {
  testing::SigpipeDefault sigpipe_kills;
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  fs::UniqueFd ours(pair[0]);
  close(pair[1]);  // the peer hangs up: the ClientHello write meets EPIPE
  Result<TlsPeer> peer = TlsHandshake(ours.get(), TlsClientOptions{},
                                      steady_clock::now() + milliseconds(5000), "peer");
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), ErrorCode::kTls) << peer.status().ToString();
  EXPECT_NE(peer.status().message().find(strerror(EPIPE)), std::string::npos)
      << peer.status().ToString();
  EXPECT_EQ(peer.status().where(), "peer");
}

TEST(TlsClientSigpipeTest, PeerThatClosesMidHandshakeFailsWithoutSigpipe) {
  testing::SigpipeDefault sigpipe_kills;
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  fs::UniqueFd ours(pair[0]);
  fs::UniqueFd theirs(pair[1]);
  // The peer reads the ClientHello, then hangs up without a word.
  std::thread peer_side([&] {
    pollfd p{theirs.get(), POLLIN, 0};
    if (poll(&p, 1, 5000) == 1) {
      char buf[4096];
      while (read(theirs.get(), buf, sizeof buf) > 0) {
      }
    }
    theirs.Reset();
  });
  Result<TlsPeer> peer = TlsHandshake(ours.get(), TlsClientOptions{},
                                      steady_clock::now() + milliseconds(5000), "peer");
  peer_side.join();
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), ErrorCode::kTls) << peer.status().ToString();
  EXPECT_NE(peer.status().message().find("TLS handshake failed"), std::string::npos);
}

}  // namespace
}  // namespace certkeeper
