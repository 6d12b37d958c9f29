#include "hooks/tls_verify.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "hooks/endpoint.h"
#include "tests/support/test_tls_server.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

using std::chrono::milliseconds;
using testing::TestPki;
using certkeeper::testing::TestTlsServer;

class TlsVerifyTest : public ::testing::Test {
 protected:
  TestPki pki_ = TestPki::Create(std::chrono::system_clock::now());
  Material material_ = pki_.MakeMaterial("web", {"example.com", "*.example.com"});
  TestTlsServer server_{material_.cert_pem, material_.key_pem};
  Endpoint endpoint_{"127.0.0.1", server_.port()};
};

TEST_F(TlsVerifyTest, FetchesTheServedFingerprint) {
  auto fp = FetchServedFingerprint(endpoint_, "example.com", milliseconds(5000));
  ASSERT_TRUE(fp.ok()) << fp.status().ToString();
  EXPECT_EQ(*fp, material_.fingerprint_sha256);
}

TEST_F(TlsVerifyTest, RightFingerprintVerifiesWithSniPerDomain) {
  VerifyOptions options;
  Status s = VerifyServedCertificates({endpoint_}, material_.domains,
                                      material_.fingerprint_sha256, options, *RealClock());
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(server_.WaitForHandshakes(2, milliseconds(5000)));
  EXPECT_EQ(server_.server_names(),
            (std::vector<std::string>{"example.com", "certkeeper-verify.example.com"}));
}

TEST_F(TlsVerifyTest, WrongFingerprintFailsWithinItsBound) {
  VerifyOptions options;
  options.total_timeout = milliseconds(800);
  options.max_attempts = 100;
  options.first_interval = milliseconds(20);
  options.max_interval = milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  Status s = VerifyServedCertificates({endpoint_}, {"example.com"}, std::string(64, 'a'),
                                      options, *RealClock());
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find(material_.fingerprint_sha256), std::string::npos) << s.message();
  EXPECT_LT(elapsed, milliseconds(800 + 2000));
  EXPECT_TRUE(server_.WaitForHandshakes(2, milliseconds(5000)));  // it retried
}

TEST_F(TlsVerifyTest, AttemptsAreBounded) {
  VerifyOptions options;
  options.max_attempts = 3;
  options.first_interval = milliseconds(1);
  Status s = VerifyServedCertificates({endpoint_}, {"example.com"}, std::string(64, 'a'),
                                      options, *RealClock());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(server_.WaitForHandshakes(3, milliseconds(5000)));
  EXPECT_FALSE(server_.WaitForHandshakes(4, milliseconds(300)));
}

TEST(TlsVerifyNoServerTest, NothingListeningIsUnavailable) {
  // A port that was free a moment ago: bind, read it, close.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  VerifyOptions options;
  options.max_attempts = 2;
  options.first_interval = milliseconds(1);
  Status s = VerifyServedCertificates({Endpoint{"127.0.0.1", ntohs(addr.sin_port)}},
                                      {"example.com"}, std::string(64, 'a'), options,
                                      *RealClock());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << s.ToString();
}

struct EndpointCase {
  const char* meaning;
  const char* text;
  bool ok;
  const char* host;
  int port;
};

class ParseEndpointTest : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(ParseEndpointTest, Parses) {
  const EndpointCase& c = GetParam();
  auto parsed = ParseEndpoint(c.text);
  ASSERT_EQ(parsed.ok(), c.ok) << c.meaning;
  if (c.ok) {
    EXPECT_EQ(parsed->host, c.host);
    EXPECT_EQ(parsed->port, c.port);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseEndpointTest,
    ::testing::Values(EndpointCase{"ipv4", "127.0.0.1:443", true, "127.0.0.1", 443},
                      EndpointCase{"name", "www.example.com:8443", true, "www.example.com", 8443},
                      EndpointCase{"ipv6", "[::1]:443", true, "::1", 443},
                      EndpointCase{"ipv6_unbracketed", "::1:443", false, "", 0},
                      EndpointCase{"no_port", "example.com", false, "", 0},
                      EndpointCase{"port_zero", "example.com:0", false, "", 0},
                      EndpointCase{"port_too_big", "example.com:65536", false, "", 0},
                      EndpointCase{"port_not_number", "example.com:https", false, "", 0},
                      EndpointCase{"empty_host", ":443", false, "", 0},
                      EndpointCase{"space_in_host", "exa mple.com:443", false, "", 0}),
    [](const auto& info) { return std::string(info.param.meaning); });

TEST(SniNameForTest, WildcardGetsAConcreteLabel) {
  EXPECT_EQ(SniNameFor("*.example.com"), "certkeeper-verify.example.com");
  EXPECT_EQ(SniNameFor("www.example.com"), "www.example.com");
}

}  // namespace
}  // namespace certkeeper::hooks
