#include "challenges/tls_alpn_solver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <optional>

#include <gtest/gtest.h>

#include "tests/unit/challenges/task_fixture.h"

namespace certkeeper::challenges {
namespace {

using task_fixture::kThumbprint;
using task_fixture::Task;

int ConnectTcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv = {3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

struct Handshake {
  bool ok = false;
  std::string alpn;
  std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};
};

// A client like a validating CA (RFC 8737 §3). The certificate is inspected by
// the test, not verified against a trust store: it is self-signed by design.
Handshake Connect(int port, const std::string& sni, std::optional<std::string> alpn,
                  int max_version = 0) {
  Handshake out;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  int fd = ConnectTcp(port);
  EXPECT_GE(fd, 0);
  if (fd < 0) return out;
  SSL_set_fd(ssl.get(), fd);
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  if (alpn) {
    std::string wire = std::string(1, static_cast<char>(alpn->size())) + *alpn;
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  out.ok = SSL_connect(ssl.get()) == 1;
  if (out.ok) {
    const unsigned char* proto = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl.get(), &proto, &len);
    out.alpn.assign(reinterpret_cast<const char*>(proto), len);
    out.cert.reset(SSL_get1_peer_certificate(ssl.get()));
    SSL_shutdown(ssl.get());
  }
  ERR_clear_error();
  close(fd);
  return out;
}

std::vector<std::string> DnsNames(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS) {
      out.push_back("<not a dNSName>");
      continue;
    }
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                     ASN1_STRING_length(name->d.dNSName));
  }
  GENERAL_NAMES_free(names);
  return out;
}

// Checks the id-pe-acmeIdentifier extension against RFC 8737 §3: critical, its
// value the DER OCTET STRING of SHA-256(key authorization).
void ExpectAcmeIdentifier(X509* cert, const std::string& key_authorization) {
  unsigned char digest[32];
  unsigned int digest_len = 0;
  ASSERT_EQ(EVP_Digest(key_authorization.data(), key_authorization.size(), digest,
                       &digest_len, EVP_sha256(), nullptr),
            1);
  std::string expected = std::string("\x04\x20", 2) +
                         std::string(reinterpret_cast<char*>(digest), digest_len);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  int index = X509_get_ext_by_OBJ(cert, oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(index, 0) << "no acmeIdentifier extension";
  X509_EXTENSION* ext = X509_get_ext(cert, index);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                        ASN1_STRING_length(data)),
            expected);
}

std::unique_ptr<TlsAlpnSolver> MakeSolver(TlsAlpnOptions options = {}) {
  options.listen = "127.0.0.1:0";
  Result<std::unique_ptr<TlsAlpnSolver>> solver = TlsAlpnSolver::Create(options);
  EXPECT_TRUE(solver.ok()) << solver.status().ToString();
  return std::move(*solver);
}

TEST(TlsAlpnSolverTest, ServesTheChallengeCertificateForEachName) {
  auto solver = MakeSolver();
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokenA"),
                                      Task("b.example.com", "tokenB")};
  ASSERT_TRUE(solver->SelfCheck(tasks).ok());
  Status s = solver->Present(tasks);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(solver->TakeNotes().size(), 3u);  // bind check plus one per name
  for (const ChallengeTask& task : tasks) {
    for (int version : {0, TLS1_2_VERSION}) {
      Handshake hs = Connect(solver->bound_port(), task.identifier, "acme-tls/1", version);
      ASSERT_TRUE(hs.ok) << task.identifier << " version " << version;
      EXPECT_EQ(hs.alpn, "acme-tls/1");
      ASSERT_NE(hs.cert, nullptr);
      EXPECT_EQ(DnsNames(hs.cert.get()), std::vector<std::string>{task.identifier});
      ExpectAcmeIdentifier(hs.cert.get(), task.key_authorization);
    }
  }
  // SNI is case-insensitive.
  Handshake upper = Connect(solver->bound_port(), "A.EXAMPLE.COM", "acme-tls/1");
  ASSERT_TRUE(upper.ok);
  EXPECT_EQ(DnsNames(upper.cert.get()), std::vector<std::string>{"a.example.com"});
  EXPECT_TRUE(solver->CleanUp(tasks).ok());
}

TEST(TlsAlpnSolverTest, RefusesClientsWithoutAcmeTlsOrWithAnUnknownName) {
  auto solver = MakeSolver();
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokenA")};
  ASSERT_TRUE(solver->Present(tasks).ok());
  int port = solver->bound_port();
  EXPECT_FALSE(Connect(port, "a.example.com", std::nullopt).ok);
  EXPECT_FALSE(Connect(port, "a.example.com", "h2").ok);
  EXPECT_FALSE(Connect(port, "a.example.com", "http/1.1").ok);
  EXPECT_FALSE(Connect(port, "other.example.com", "acme-tls/1").ok);
  EXPECT_FALSE(Connect(port, "", "acme-tls/1").ok);
  // Refused clients do not disturb the listener.
  EXPECT_TRUE(Connect(port, "a.example.com", "acme-tls/1").ok);
  EXPECT_TRUE(solver->CleanUp(tasks).ok());
}

// The engine's first authorization poll waits for the CA's handshakes:
// counted per name, the self-check's own and refused ones left out.
TEST(TlsAlpnSolverTest, CountsTheCasHandshakesAfterPresent) {
  auto solver = MakeSolver();
  ChallengeTask task = Task("a.example.com", "tokenA");
  ASSERT_TRUE(solver->Present({task}).ok());
  int port = solver->bound_port();
  EXPECT_FALSE(Connect(port, "a.example.com", "h2").ok);
  EXPECT_FALSE(Connect(port, "other.example.com", "acme-tls/1").ok);
  ServedWaitOptions none;
  none.first_timeout = std::chrono::milliseconds(20);
  std::optional<ServedWaitResult> before = solver->AwaitServed(task, none);
  ASSERT_TRUE(before.has_value());
  EXPECT_TRUE(before->timed_out);
  ASSERT_TRUE(Connect(port, "A.Example.COM", "acme-tls/1").ok);
  ServedWaitOptions patient;
  patient.first_timeout = std::chrono::milliseconds(20'000);
  patient.max_wait = std::chrono::milliseconds(30'000);
  std::optional<ServedWaitResult> seen = solver->AwaitServed(task, patient);
  ASSERT_TRUE(seen.has_value());
  EXPECT_FALSE(seen->timed_out);
  EXPECT_EQ(seen->served, 1);
  EXPECT_TRUE(solver->CleanUp({task}).ok());
  EXPECT_FALSE(solver->AwaitServed(task, none).has_value());
}

TEST(TlsAlpnSolverTest, CleanUpOfOneNameKeepsTheOther) {
  auto solver = MakeSolver();
  ChallengeTask a = Task("a.example.com", "tokenA");
  ChallengeTask b = Task("b.example.com", "tokenB");
  ASSERT_TRUE(solver->Present({a}).ok());
  ASSERT_TRUE(solver->Present({b}).ok());
  int port = solver->bound_port();
  ASSERT_TRUE(solver->CleanUp({a}).ok());
  EXPECT_FALSE(Connect(port, "a.example.com", "acme-tls/1").ok);
  EXPECT_TRUE(Connect(port, "b.example.com", "acme-tls/1").ok);
  ASSERT_TRUE(solver->CleanUp({b}).ok());
  EXPECT_FALSE(solver->listening());
}

TEST(TlsAlpnSolverTest, SilentClientNeitherBlocksOthersNorStop) {
  TlsAlpnOptions options;
  options.handshake_timeout = std::chrono::milliseconds(300);
  auto solver = MakeSolver(options);
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokenA")};
  ASSERT_TRUE(solver->Present(tasks).ok());
  int port = solver->bound_port();
  int silent = ConnectTcp(port);
  ASSERT_GE(silent, 0);
  EXPECT_TRUE(Connect(port, "a.example.com", "acme-tls/1").ok);
  // The listener drops the silent client once the handshake time is up.
  pollfd pfd = {silent, POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);
  char byte;
  EXPECT_EQ(read(silent, &byte, 1), 0);
  close(silent);

  int silent2 = ConnectTcp(port);
  ASSERT_GE(silent2, 0);
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(solver->CleanUp(tasks).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  close(silent2);
}

// Idle TCP connections and half-sent handshakes, more than any fixed pool of
// handshake slots, must not lock the CA's handshake out.
TEST(TlsAlpnSolverTest, IdleAndSlowClientsDoNotLockOutTheHandshake) {
  auto solver = MakeSolver();
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokenA")};
  ASSERT_TRUE(solver->Present(tasks).ok());
  int port = solver->bound_port();
  std::vector<int> hostile;
  // Beyond the listener's cap of 256: the oldest idle ones make room.
  for (int i = 0; i < 256 + 32; ++i) hostile.push_back(ConnectTcp(port));
  // A TLS record header announcing a ClientHello that never comes.
  for (int i = 0; i < 16; ++i) {
    int fd = ConnectTcp(port);
    hostile.push_back(fd);
    if (fd >= 0) {
      EXPECT_EQ(send(fd, "\x16\x03\x01\x02\x00\x01", 6, MSG_NOSIGNAL), 6);
    }
  }
  for (int fd : hostile) EXPECT_GE(fd, 0);
  auto started = std::chrono::steady_clock::now();
  Handshake h = Connect(port, "a.example.com", "acme-tls/1");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.alpn, "acme-tls/1");
  EXPECT_EQ(DnsNames(h.cert.get()), std::vector<std::string>{"a.example.com"});
  for (int fd : hostile) {
    if (fd >= 0) close(fd);
  }
  ASSERT_TRUE(solver->CleanUp(tasks).ok());
}

TEST(TlsAlpnSolverTest, CleanUpFreesThePortAndBusyPortFailsClearly) {
  auto solver = MakeSolver();
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokenA")};
  ASSERT_TRUE(solver->Present(tasks).ok());
  int port = solver->bound_port();
  std::string listen = "127.0.0.1:" + std::to_string(port);

  TlsAlpnOptions options;
  options.listen = listen;
  auto second = std::move(*TlsAlpnSolver::Create(options));
  Status busy = second->SelfCheck(tasks);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.message(), "tls-alpn-01: cannot listen on " + listen + ": address in use");

  ASSERT_TRUE(solver->CleanUp(tasks).ok());
  EXPECT_TRUE(second->SelfCheck(tasks).ok());
  Status s = second->Present(tasks);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(second->bound_port(), port);
  EXPECT_TRUE(second->CleanUp(tasks).ok());
}

TEST(TlsAlpnSolverTest, RejectsInvalidTasks) {
  auto solver = MakeSolver();
  ChallengeTask wildcard = Task("example.com", "tok");
  wildcard.wildcard = true;
  EXPECT_FALSE(solver->SelfCheck({wildcard}).ok());
  EXPECT_FALSE(solver->Present({Task("not a name", "tok")}).ok());
  EXPECT_FALSE(solver->Present({Task("a.example.com", "bad/token")}).ok());
  EXPECT_FALSE(solver->SelfCheck({Task("a.example.com", "t1"), Task("a.example.com", "t2")}).ok());
  EXPECT_FALSE(solver->listening());
  TlsAlpnOptions hostname;
  hostname.listen = "example.com:443";
  EXPECT_FALSE(TlsAlpnSolver::Create(hostname).ok());
}

// The iPAddress entries of the certificate's subjectAltName, as text.
std::vector<std::string> IpAddresses(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_IPADD) continue;
    int len = ASN1_STRING_length(name->d.iPAddress);
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(name->d.iPAddress), text,
              sizeof(text));
    out.emplace_back(text);
  }
  GENERAL_NAMES_free(names);
  return out;
}

TEST(TlsAlpnSolverTest, IpIdentifierIsServedForItsReverseNameWithAnIpAddressSan) {
  auto solver = MakeSolver();
  std::vector<ChallengeTask> tasks = {Task("127.0.0.1", "tokenV4"),
                                      Task("2001:db8::1", "tokenV6")};
  ASSERT_TRUE(solver->SelfCheck(tasks).ok());
  Status s = solver->Present(tasks);  // includes the self-check with the reverse SNI
  ASSERT_TRUE(s.ok()) << s.ToString();
  int port = solver->bound_port();
  const std::vector<std::pair<std::string, std::string>> sni = {
      {"127.0.0.1", "1.0.0.127.in-addr.arpa"},
      {"2001:db8::1",
       "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"}};
  for (size_t i = 0; i < tasks.size(); ++i) {
    Handshake hs = Connect(port, sni[i].second, "acme-tls/1");
    ASSERT_TRUE(hs.ok) << sni[i].second;
    ASSERT_NE(hs.cert, nullptr);
    // RFC 8738 §6: the iPAddress SAN, and no dNSName at all.
    EXPECT_EQ(IpAddresses(hs.cert.get()), std::vector<std::string>{sni[i].first});
    EXPECT_EQ(DnsNames(hs.cert.get()), std::vector<std::string>{"<not a dNSName>"});
    ExpectAcmeIdentifier(hs.cert.get(), tasks[i].key_authorization);
  }
  // The address itself is not a valid SNI (RFC 6066 §3) and selects nothing.
  EXPECT_FALSE(Connect(port, "127.0.0.1", "acme-tls/1").ok);
  std::vector<SolverNote> notes = solver->TakeNotes();
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[1].identifier, "127.0.0.1");
  ASSERT_TRUE(solver->CleanUp({tasks[0]}).ok());
  EXPECT_FALSE(Connect(port, sni[0].second, "acme-tls/1").ok);
  EXPECT_TRUE(Connect(port, sni[1].second, "acme-tls/1").ok);
  ASSERT_TRUE(solver->CleanUp(tasks).ok());
}

}  // namespace
}  // namespace certkeeper::challenges
