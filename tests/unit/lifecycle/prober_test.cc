// Endpoint probes against local TLS servers: what a server serves is recorded
// and judged (names, chain, expiry, live version), and a server that refuses,
// stalls or serves a bad chain is a result, never an error or a hang.
#include "lifecycle/prober.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/crypto.h"
#include "base/fs.h"
#include "lifecycle/monitor.h"
#include "lifecycle/probe_tls.h"
#include "store/sql_inventory.h"
#include "tests/support/test_tls_server.h"
#include "tests/unit/lifecycle/engine_test_fixture.h"

namespace certkeeper::lifecycle {
namespace {

using certkeeper::testing::TestTlsServer;
using std::chrono::hours;
using std::chrono::milliseconds;

// A TCP socket on 127.0.0.1 that is bound and, with listen_backlog >= 0,
// listening, but never accepts: the kernel completes the TCP handshake and the
// TLS ClientHello is never answered. Without listening, a connect is refused.
class SilentSocket {
 public:
  explicit SilentSocket(bool listening) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        (listening && listen(fd_, 8) != 0) ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot bind 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentSocket() { close(fd_); }
  SilentSocket(const SilentSocket&) = delete;
  SilentSocket& operator=(const SilentSocket&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string Local(int port) { return "127.0.0.1:" + std::to_string(port); }

class ProberTest : public testing::EngineTest<> {
 protected:
  void SetUp() override {
    SetUpEngineTest();
    roots_ = dir_.path() + "/roots.pem";
    ASSERT_TRUE(fs::WriteFileAtomic(roots_, pki_.root.cert_pem).ok());
  }

  hooks::Material MakeLeaf(const std::vector<std::string>& domains) {
    return pki_.MakeMaterial("web", domains, now_);
  }

  // Serves m's full chain on a fresh server (kept until the test ends).
  int Serve(const hooks::Material& m) {
    servers_.push_back(std::make_unique<TestTlsServer>(m.fullchain_pem, m.key_pem));
    return servers_.back()->port();
  }

  EndpointSettings Endpoint(int port, std::string sni, std::string certificate = "",
                            bool trusted = true) {
    EndpointSettings e;
    e.address = Local(port);
    e.sni = std::move(sni);
    e.certificate = std::move(certificate);
    if (trusted) e.ca_bundle = roots_;
    e.timeout = std::chrono::seconds(5);
    return e;
  }

  std::vector<ProbeView> ProbeAll() {
    auto engine = OpenEngine();
    if (!engine) return {};
    auto probes = engine->Probe();
    EXPECT_TRUE(probes.ok()) << probes.status().ToString();
    return probes.ok() ? *probes : std::vector<ProbeView>{};
  }

  std::string roots_;
  std::vector<std::unique_ptr<TestTlsServer>> servers_;
};

TEST_F(ProberTest, RecordsWhatAGoodEndpointServes) {
  hooks::Material m = MakeLeaf({"example.com", "www.example.com"});
  config_.endpoints = {Endpoint(Serve(m), "www.example.com")};
  std::vector<ProbeView> probes = ProbeAll();
  ASSERT_EQ(probes.size(), 1u);
  const ProbeView& p = probes[0];
  EXPECT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.error, "");
  EXPECT_TRUE(p.names_match);
  EXPECT_TRUE(p.chain_valid);
  EXPECT_EQ(p.live_match, "");  // no certificate named
  auto leaf = ParseCertificatePem(m.cert_pem);
  ASSERT_TRUE(leaf.ok());
  // The same forms as the inventory's versions (VersionView).
  EXPECT_EQ(p.fingerprint, leaf->sha256_fingerprint);
  EXPECT_EQ(p.serial, leaf->serial_hex);
  EXPECT_EQ(p.issuer, leaf->issuer);
  EXPECT_EQ(p.names, (std::vector<std::string>{"example.com", "www.example.com"}));
  EXPECT_EQ(p.not_after, leaf->not_after);
  EXPECT_EQ(p.not_before, leaf->not_before);
  EXPECT_GT(p.handshake_seconds, 0);
  EXPECT_EQ(p.at, now_);
  EXPECT_EQ(p.endpoint, Local(servers_[0]->port()) + "/www.example.com");
  EXPECT_EQ(servers_[0]->server_names(), (std::vector<std::string>{"www.example.com"}));

  // Recorded: the snapshot holds the same probe, every field read back.
  auto engine = OpenEngine();
  ASSERT_NE(engine, nullptr);
  auto snap = engine->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->probes.size(), 1u);
  const ProbeView& stored = snap->probes[0];
  EXPECT_EQ(stored.fingerprint, p.fingerprint);
  EXPECT_EQ(stored.serial, p.serial);
  EXPECT_EQ(stored.issuer, p.issuer);
  EXPECT_EQ(stored.names, p.names);
  EXPECT_EQ(stored.not_after, p.not_after);
  EXPECT_EQ(stored.sni, "www.example.com");
  EXPECT_EQ(stored.address, p.address);
  EXPECT_TRUE(stored.ok && stored.names_match && stored.chain_valid);
  EXPECT_NEAR(stored.handshake_seconds, p.handshake_seconds, 1e-6);
  ASSERT_TRUE(snap->last_probe.has_value());
  EXPECT_EQ(snap->last_probe->outcomes.at("ok"), 1);
}

TEST_F(ProberTest, NamesTheServedCertificateDoesNotCoverAreAMismatch) {
  hooks::Material m = MakeLeaf({"example.com"});
  config_.endpoints = {Endpoint(Serve(m), "other.example.org")};
  std::vector<ProbeView> probes = ProbeAll();
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_TRUE(probes[0].ok);
  EXPECT_FALSE(probes[0].names_match);
  EXPECT_TRUE(probes[0].chain_valid);
  EXPECT_NE(probes[0].error.find("does not cover other.example.org"), std::string::npos)
      << probes[0].error;
}

TEST_F(ProberTest, WithoutSniTheAddressHostMustBeCovered) {
  // 127.0.0.1 is an IP address: no SNI is sent (RFC 6066 §3) and only an
  // iPAddress SAN covers it, which this certificate lacks.
  hooks::Material m = MakeLeaf({"example.com"});
  config_.endpoints = {Endpoint(Serve(m), "")};
  std::vector<ProbeView> probes = ProbeAll();
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_TRUE(probes[0].ok);
  EXPECT_FALSE(probes[0].names_match);
  EXPECT_NE(probes[0].error.find("does not cover 127.0.0.1"), std::string::npos);
  EXPECT_EQ(servers_[0]->server_names(), (std::vector<std::string>{""}));
}

TEST_F(ProberTest, ExpiredCertificateHasAnInvalidChain) {
  hooks::Material m = pki_.MakeMaterialWithValidity("web", {"example.com"}, now_ - hours(24 * 90),
                                                    now_ - hours(24));
  config_.endpoints = {Endpoint(Serve(m), "example.com")};
  std::vector<ProbeView> probes = ProbeAll();
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_TRUE(probes[0].ok);
  EXPECT_TRUE(probes[0].names_match);
  EXPECT_FALSE(probes[0].chain_valid);
  EXPECT_NE(probes[0].error.find("expired"), std::string::npos) << probes[0].error;
  ASSERT_TRUE(probes[0].not_after.has_value());
  EXPECT_LT(*probes[0].not_after, now_);
}

TEST_F(ProberTest, ChainToRootsOtherThanTheTrustedOnesIsInvalid) {
  hooks::Material m = MakeLeaf({"example.com"});
  // The system trust store knows nothing of the test root.
  EndpointSettings system = Endpoint(Serve(m), "example.com", "", /*trusted=*/false);
  // A bundle holding another root.
  hooks::testing::TestPki other = hooks::testing::TestPki::Create(now_);
  std::string other_roots = dir_.path() + "/other.pem";
  ASSERT_TRUE(fs::WriteFileAtomic(other_roots, other.root.cert_pem).ok());
  EndpointSettings wrong = Endpoint(Serve(m), "example.com");
  wrong.ca_bundle = other_roots;
  // A bundle that cannot be read fails closed.
  EndpointSettings missing = Endpoint(Serve(m), "example.com");
  missing.ca_bundle = dir_.path() + "/missing.pem";
  config_.endpoints = {system, wrong, missing};
  std::vector<ProbeView> probes = ProbeAll();
  ASSERT_EQ(probes.size(), 3u);
  for (const ProbeView& p : probes) {
    EXPECT_TRUE(p.ok) << p.address;
    EXPECT_TRUE(p.names_match) << p.address;
    EXPECT_FALSE(p.chain_valid) << p.address;
  }
  EXPECT_NE(probes[0].error.find("chain does not verify"), std::string::npos) << probes[0].error;
  EXPECT_NE(probes[1].error.find("chain does not verify"), std::string::npos) << probes[1].error;
  EXPECT_NE(probes[2].error.find("cannot read the ca_bundle"), std::string::npos)
      << probes[2].error;
}

TEST_F(ProberTest, LiveMatchComparesWithTheLiveVersion) {
  hooks::Material live = MakeLeaf({"example.com"});
  hooks::Material other = MakeLeaf({"example.com"});
  {
    auto engine = OpenEngine();
    ASSERT_NE(engine, nullptr);
    ImportMaterial(*engine, "web", live);
  }
  config_.endpoints = {Endpoint(Serve(live), "example.com", "web"),
                       Endpoint(Serve(other), "example.com", "web"),
                       Endpoint(Serve(live), "example.com", "unmanaged")};
  std::vector<ProbeView> probes = ProbeAll();
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_EQ(probes[0].live_match, "yes");
  EXPECT_EQ(probes[0].error, "");
  EXPECT_EQ(probes[1].live_match, "no");
  EXPECT_TRUE(probes[1].chain_valid && probes[1].names_match);
  EXPECT_NE(probes[1].error.find("other than the live version 1 of web"), std::string::npos)
      << probes[1].error;
  // A certificate the inventory does not have: unknown, not a mismatch.
  EXPECT_EQ(probes[2].live_match, "");
  EXPECT_EQ(probes[2].error, "");
}

TEST_F(ProberTest, RefusedConnectionIsAFailedResult) {
  SilentSocket closed(/*listening=*/false);
  config_.endpoints = {Endpoint(closed.port(), "example.com")};
  std::vector<ProbeView> probes = ProbeAll();
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_FALSE(probes[0].ok);
  EXPECT_NE(probes[0].error.find("refused"), std::string::npos) << probes[0].error;
  EXPECT_TRUE(probes[0].fingerprint.empty());
  EXPECT_FALSE(probes[0].not_after.has_value());
}

TEST_F(ProberTest, ServerThatNeverAnswersEndsAtTheTimeout) {
  SilentSocket stalled(/*listening=*/true);
  hooks::Material m = MakeLeaf({"example.com"});
  EndpointSettings slow = Endpoint(stalled.port(), "example.com");
  slow.timeout = milliseconds(300);
  // The good endpoint after it is still probed, in config order.
  config_.endpoints = {slow, Endpoint(Serve(m), "example.com")};
  std::vector<ProbeView> probes = ProbeAll();
  ASSERT_EQ(probes.size(), 2u);
  EXPECT_FALSE(probes[0].ok);
  EXPECT_NE(probes[0].error.find("timed out"), std::string::npos) << probes[0].error;
  EXPECT_TRUE(probes[1].ok) << probes[1].error;
  EXPECT_EQ(probes[1].address, Local(servers_[0]->port()));
}

TEST_F(ProberTest, ManyEndpointsAreReturnedInConfigOrder) {
  hooks::Material m = MakeLeaf({"example.com"});
  SilentSocket closed(/*listening=*/false);
  for (int i = 0; i < 12; ++i) {
    config_.endpoints.push_back(i % 3 == 0 ? Endpoint(closed.port(), "n" + std::to_string(i) +
                                                                         ".example.com")
                                           : Endpoint(Serve(m), "example.com"));
  }
  std::vector<ProbeView> probes = ProbeAll();
  ASSERT_EQ(probes.size(), config_.endpoints.size());
  for (size_t i = 0; i < probes.size(); ++i) {
    EXPECT_EQ(probes[i].endpoint, config_.endpoints[i].Key());
    EXPECT_EQ(probes[i].ok, i % 3 != 0) << i << ": " << probes[i].error;
  }
}

TEST_F(ProberTest, HistoryOlderThanThirtyDaysIsPruned) {
  hooks::Material m = MakeLeaf({"example.com"});
  config_.endpoints = {Endpoint(Serve(m), "example.com")};
  ASSERT_EQ(ProbeAll().size(), 1u);
  clock_->Advance(hours(24 * 10));
  ASSERT_EQ(ProbeAll().size(), 1u);
  clock_->Advance(hours(24 * 25));  // the first probe is now 35 days old
  ASSERT_EQ(ProbeAll().size(), 1u);
  auto inventory = store::SqlInventory::Open(config_.state_dir + "/certkeeper.db");
  ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
  auto history = (*inventory)->ListProbes(config_.endpoints[0].Key(), 10);
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].at, now_ + hours(24 * 35));
  EXPECT_EQ((*history)[1].at, now_ + hours(24 * 10));
}

TEST_F(ProberTest, NoEndpointsProbesNothing) {
  EXPECT_TRUE(ProbeAll().empty());
}

// names_match follows RFC 6125 §6.4.3: a wildcard stands for exactly one
// whole leftmost label.
TEST(JudgeServedChainTest, WildcardCoversExactlyOneLabel) {
  hooks::testing::TestPki pki = hooks::testing::TestPki::Create(std::chrono::system_clock::now());
  hooks::Material m = pki.MakeMaterial("w", {"*.example.com"});
  auto leaf = ParseCertificatePem(m.cert_pem);
  ASSERT_TRUE(leaf.ok());
  struct Row {
    const char* name;
    bool covered;
  } rows[] = {{"www.example.com", true},   {"WWW.Example.COM", true},
              {"example.com", false},      {"a.b.example.com", false},
              {"www.example.org", false},  {"xexample.com", false}};
  for (const Row& row : rows) {
    store::ProbeRecord record;
    JudgeServedChain({leaf->der}, row.name, ProbeTrust{pki.root.cert_pem, ""},
                     std::chrono::system_clock::now(), record);
    EXPECT_EQ(record.names_match, row.covered) << row.name;
    EXPECT_FALSE(record.chain_valid) << "the intermediate was not sent";
  }
}

TEST(JudgeServedChainTest, TooManyCertificatesAreNotVerified) {
  hooks::testing::TestPki pki = hooks::testing::TestPki::Create(std::chrono::system_clock::now());
  hooks::Material m = pki.MakeMaterial("w", {"example.com"});
  auto leaf = ParseCertificatePem(m.cert_pem);
  auto intermediate = ParseCertificatePem(pki.intermediate.cert_pem);
  ASSERT_TRUE(leaf.ok() && intermediate.ok());
  std::vector<std::string> chain = {leaf->der};
  chain.resize(kMaxServedCertificates + 1, intermediate->der);
  store::ProbeRecord record;
  JudgeServedChain(chain, "example.com", ProbeTrust{pki.root.cert_pem, ""},
                   std::chrono::system_clock::now(), record);
  EXPECT_FALSE(record.chain_valid);
  EXPECT_NE(record.error.find("11 certificates"), std::string::npos) << record.error;
  // Two are a valid chain.
  chain.resize(2);
  store::ProbeRecord two;
  JudgeServedChain(chain, "example.com", ProbeTrust{pki.root.cert_pem, ""},
                   std::chrono::system_clock::now(), two);
  EXPECT_TRUE(two.chain_valid) << two.error;
}

TEST(JudgeServedChainTest, UnparsableLeafIsReportedNotTrusted) {
  store::ProbeRecord record;
  JudgeServedChain({"not a certificate"}, "example.com", ProbeTrust{},
                   std::chrono::system_clock::now(), record);
  EXPECT_FALSE(record.chain_valid);
  EXPECT_FALSE(record.names_match);
  EXPECT_NE(record.error.find("does not parse"), std::string::npos) << record.error;
}

}  // namespace
}  // namespace certkeeper::lifecycle
