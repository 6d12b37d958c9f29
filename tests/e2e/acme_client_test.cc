// The ACME client against a real Pebble: register, order, answer http-01 from a
// server inside the test, finalize, download, verify the chain, revoke, roll the
// account key over, deactivate; and issuance while Pebble rejects 30% of nonces.
// Each suite starts its own environment through the shared harness
// (tests/support/testenv.h: pebble-testenv/up on free ports, down at the end).
#include <httplib.h>

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "acme/client.h"
#include "acme/curl_http_client.h"
#include "base/crypto.h"
#include "tests/support/testenv.h"

namespace certkeeper::acme {
namespace {

using std::chrono::seconds;

// Serves http-01 key authorizations on 127.0.0.1:PEBBLE_HTTP_PORT.
class Http01Server {
 public:
  bool Start(int port) {
    server_.Get(R"(/\.well-known/acme-challenge/([A-Za-z0-9_-]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  std::lock_guard<std::mutex> lock(mu_);
                  auto it = tokens_.find(req.matches[1]);
                  if (it == tokens_.end()) {
                    res.status = 404;
                    return;
                  }
                  res.set_content(it->second, "text/plain");
                });
    // bind_to_port also listens, so Pebble's connections queue from here on.
    if (!server_.bind_to_port("127.0.0.1", port)) return false;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    return true;
  }
  void Stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  void Set(const std::string& token, const std::string& key_authorization) {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_[token] = key_authorization;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::string> tokens_;
};

std::string RandomDomain() {
  std::random_device rd;
  return "e2e-" + std::to_string(rd() % 1000000000) + ".certkeeper.test";
}

class AcmeClientE2eTest : public ::testing::Test {
 protected:
  static std::vector<std::pair<std::string, std::string>> ExtraEnv() { return {}; }

  static void StartEnvironment(testing::EnvVars env) {
    env_ = testing::TestEnv::Start({.env = std::move(env)}).release();
    if (env_ == nullptr) {
      start_error_ = "the test environment did not start";
      return;
    }
    http01_ = new Http01Server();
    if (!http01_->Start(std::stoi(env_->Get("PEBBLE_HTTP_PORT")))) {
      start_error_ = "cannot listen on PEBBLE_HTTP_PORT";
    }
  }
  // The tests count requests by kind, and a request retried after badNonce
  // counts twice: Pebble must not reject nonces at random here (rejected
  // nonces have their own suite below).
  static void SetUpTestSuite() { StartEnvironment({{"PEBBLE_WFE_NONCEREJECT", "0"}}); }
  static void TearDownTestSuite() {
    if (http01_ != nullptr) http01_->Stop();
    delete http01_;
    http01_ = nullptr;
    delete env_;  // runs pebble-testenv/down
    env_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    ClientOptions options;
    options.directory_url = env_->Get("ACME_DIRECTORY_URL");
    options.ca_bundle_file = env_->Get("ACME_CA_BUNDLE");
    options.timeout = std::chrono::milliseconds(10000);
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    auto key = PrivateKey::Generate(KeyType::kEc256);
    ASSERT_TRUE(key.ok());
    client_->SetAccountKey(*key, "");
  }

  Result<Account> Register() {
    return client_->NewAccount(
        {.contact = {"mailto:e2e@certkeeper.test"}, .terms_of_service_agreed = true});
  }

  // One issuance, the way the lifecycle engine drives it.
  Result<CertificateChains> IssueChains(const std::vector<std::string>& domains,
                                        const PrivateKey& cert_key) {
    const TimePoint deadline = RealClock()->Now() + seconds(60);
    CK_ASSIGN_OR_RETURN(Order order, client_->NewOrder({.identifiers = domains}));
    for (const std::string& url : order.authorizations) {
      CK_ASSIGN_OR_RETURN(Authorization authz, client_->GetAuthorization(url));
      if (authz.status == "valid") continue;
      const Challenge* challenge = authz.Find("http-01");
      if (challenge == nullptr) return Status(ErrorCode::kInternal, "no http-01 offered");
      CK_ASSIGN_OR_RETURN(std::string key_authorization,
                          client_->KeyAuthorization(challenge->token));
      http01_->Set(challenge->token, key_authorization);
      CK_RETURN_IF_ERROR(client_->RespondToChallenge(challenge->url).status());
      CK_ASSIGN_OR_RETURN(authz, client_->PollAuthorization(url, deadline));
      if (authz.status != "valid") {
        return Status(ErrorCode::kAcme, "authorization " + authz.status);
      }
    }
    CK_ASSIGN_OR_RETURN(order, client_->PollOrder(order.url, deadline));
    if (order.status != "ready") return Status(ErrorCode::kAcme, "order " + order.status);
    CK_ASSIGN_OR_RETURN(std::string csr, CreateCsrDer(cert_key, domains));
    CK_ASSIGN_OR_RETURN(order, client_->Finalize(order, csr));
    if (order.status != "valid") {
      CK_ASSIGN_OR_RETURN(order, client_->PollOrder(order.url, deadline));
    }
    if (order.status != "valid") return Status(ErrorCode::kAcme, "order " + order.status);
    return client_->DownloadCertificate(order.certificate, /*with_alternates=*/true);
  }
  Result<std::string> Issue(const std::vector<std::string>& domains,
                            const PrivateKey& cert_key) {
    CK_ASSIGN_OR_RETURN(CertificateChains chains, IssueChains(domains, cert_key));
    return chains.pem;
  }

  void ExpectChainVerifies(const std::string& pem, const std::string& domain) {
    auto certs = SplitPemCertificates(pem);
    ASSERT_TRUE(certs.ok()) << certs.status().ToString();
    ASSERT_GE(certs->size(), 2u);
    std::string intermediates;
    for (size_t i = 1; i < certs->size(); ++i) intermediates += (*certs)[i];
    std::string root = env_->PebbleRootPem();
    ASSERT_FALSE(root.empty());
    Status verified = VerifyChain((*certs)[0], intermediates, root, RealClock()->Now());
    EXPECT_TRUE(verified.ok()) << verified.ToString();
    auto info = ParseCertificatePem(pem);
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(CertificateCovers(*info, domain));
  }

  static void PrintCounts(const std::string& title, const RequestStats& stats) {
    std::cout << title << " (" << stats.Total() << " requests):";
    for (const auto& [kind, count] : stats.Snapshot()) {
      std::cout << " " << kind << "=" << count;
    }
    std::cout << std::endl;
  }

  static testing::TestEnv* env_;
  static Http01Server* http01_;
  static std::string start_error_;
  std::unique_ptr<Client> client_;
};

testing::TestEnv* AcmeClientE2eTest::env_ = nullptr;
Http01Server* AcmeClientE2eTest::http01_ = nullptr;
std::string AcmeClientE2eTest::start_error_;

TEST_F(AcmeClientE2eTest, IssueVerifyAndRevoke) {
  auto account = Register();
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(account->status, "valid");
  EXPECT_FALSE(client_->account_url().empty());

  auto cert_key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(cert_key.ok());
  std::string domain = RandomDomain();
  client_->mutable_stats().Reset();
  auto pem = Issue({domain, "www." + domain}, *cert_key);
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  PrintCounts("requests for one issuance (2 names)", client_->stats());
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewOrder), 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kFinalize), 1);
  ExpectChainVerifies(*pem, "www." + domain);
  EXPECT_TRUE(KeyMatchesCertificate(*cert_key, *pem).ok());

  // Revocation is visible through Pebble's management API.
  auto info = ParseCertificatePem(*pem);
  ASSERT_TRUE(info.ok());
  Status revoked = client_->RevokeCertificate(*pem, RevocationReason::kSuperseded);
  ASSERT_TRUE(revoked.ok()) << revoked.ToString();
  auto cert_status = env_->PebbleCertStatus(info->serial_hex);
  ASSERT_TRUE(cert_status.ok()) << cert_status.status().ToString();
  EXPECT_EQ(cert_status->value("Status", ""), "Revoked") << cert_status->dump();

  // A second revocation of the same certificate is an ACME error, not a crash.
  Status again = client_->RevokeCertificate(*pem, RevocationReason::kSuperseded);
  EXPECT_EQ(again.code(), ErrorCode::kAcme) << again.ToString();
}

TEST_F(AcmeClientE2eTest, RevokeWithTheCertificateKey) {
  ASSERT_TRUE(Register().ok());
  auto cert_key = PrivateKey::Generate(KeyType::kRsa2048);
  ASSERT_TRUE(cert_key.ok());
  auto pem = Issue({RandomDomain()}, *cert_key);
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  Status revoked =
      client_->RevokeCertificate(*pem, RevocationReason::kKeyCompromise, &*cert_key);
  EXPECT_TRUE(revoked.ok()) << revoked.ToString();
}

TEST_F(AcmeClientE2eTest, KeyRolloverThenOrderWithTheNewKey) {
  ASSERT_TRUE(Register().ok());
  std::string url = client_->account_url();
  auto new_key = PrivateKey::Generate(KeyType::kEc384);
  ASSERT_TRUE(new_key.ok());
  Status rolled = client_->RolloverKey(*new_key);
  ASSERT_TRUE(rolled.ok()) << rolled.ToString();
  auto cert_key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(cert_key.ok());
  auto pem = Issue({RandomDomain()}, *cert_key);
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  // The CA finds the same account by the new key.
  auto fresh = Client::Create({.directory_url = env_->Get("ACME_DIRECTORY_URL"),
                               .ca_bundle_file = env_->Get("ACME_CA_BUNDLE")});
  ASSERT_TRUE(fresh.ok());
  (*fresh)->SetAccountKey(*new_key, "");
  auto found = (*fresh)->NewAccount({.only_return_existing = true});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ((*fresh)->account_url(), url);
}

TEST_F(AcmeClientE2eTest, DeactivatedAccountCannotOrder) {
  ASSERT_TRUE(Register().ok());
  auto deactivated = client_->DeactivateAccount();
  ASSERT_TRUE(deactivated.ok()) << deactivated.status().ToString();
  EXPECT_EQ(deactivated->status, "deactivated");
  auto order = client_->NewOrder({.identifiers = {RandomDomain()}});
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), ErrorCode::kAcme) << order.status().ToString();
}

// RFC 8738: Pebble validates http-01 for an IP identifier at the address
// itself and refuses a CSR without the iPAddress SAN ("CSR is missing Order IP").
TEST_F(AcmeClientE2eTest, IpAddressCertificateOverHttp01) {
  ASSERT_TRUE(Register().ok());
  auto cert_key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(cert_key.ok());
  std::string domain = RandomDomain();
  auto pem = Issue({"127.0.0.1", domain}, *cert_key);
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  auto info = ParseCertificatePem(*pem);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->ip_addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(info->dns_names, std::vector<std::string>{domain});
  EXPECT_TRUE(CertificateCovers(*info, "127.0.0.1"));
  EXPECT_TRUE(CertificateCovers(*info, domain));
  EXPECT_FALSE(CertificateCovers(*info, "127.0.0.2"));
  ExpectChainVerifies(*pem, "127.0.0.1");
}

// The directory kept from one client's fetch replaces the next one's GET.
TEST_F(AcmeClientE2eTest, KeptDirectorySavesTheDirectoryRequest) {
  std::string kept;
  ClientOptions first{.directory_url = env_->Get("ACME_DIRECTORY_URL"),
                      .ca_bundle_file = env_->Get("ACME_CA_BUNDLE")};
  first.directory_fetched = [&kept](const std::string& document) { kept = document; };
  auto fetcher = Client::Create(first);
  ASSERT_TRUE(fetcher.ok());
  ASSERT_TRUE((*fetcher)->GetDirectory().ok());
  ASSERT_FALSE(kept.empty());

  ClientOptions second{.directory_url = env_->Get("ACME_DIRECTORY_URL"),
                       .ca_bundle_file = env_->Get("ACME_CA_BUNDLE")};
  second.directory_document = kept;
  auto client = Client::Create(second);
  ASSERT_TRUE(client.ok());
  client_ = std::move(*client);
  auto key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(key.ok());
  client_->SetAccountKey(*key, "");
  ASSERT_TRUE(Register().ok());
  auto cert_key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(cert_key.ok());
  auto pem = Issue({RandomDomain()}, *cert_key);
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  PrintCounts("requests for registration and issuance with a kept directory",
              client_->stats());
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 0);
}

TEST_F(AcmeClientE2eTest, UntrustedServerIsATlsError) {
  auto client = Client::Create({.directory_url = env_->Get("ACME_DIRECTORY_URL")});
  ASSERT_TRUE(client.ok());
  auto directory = (*client)->GetDirectory();
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), ErrorCode::kTls) << directory.status().ToString();
  EXPECT_NE(directory.status().hint().find("--ca-bundle"), std::string::npos);
}

class NonceRejectE2eTest : public AcmeClientE2eTest {
 protected:
  static void SetUpTestSuite() {
    StartEnvironment({{"PEBBLE_WFE_NONCEREJECT", "30"}, {"PEBBLE_ALTERNATE_ROOTS", "1"}});
  }
};

TEST_F(NonceRejectE2eTest, IssuanceSucceedsDespiteRejectedNonces) {
  ASSERT_TRUE(Register().ok());
  auto cert_key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(cert_key.ok());
  client_->mutable_stats().Reset();
  std::string domain = RandomDomain();
  auto chains = IssueChains({domain}, *cert_key);
  ASSERT_TRUE(chains.ok()) << chains.status().ToString();
  PrintCounts("requests with 30% of nonces rejected", client_->stats());
  ExpectChainVerifies(chains->pem, domain);
  // PEBBLE_ALTERNATE_ROOTS=1: one alternate chain for the same leaf.
  ASSERT_EQ(chains->alternates.size(), 1u);
  auto leaf = ParseCertificatePem(chains->pem);
  auto alternate_leaf = ParseCertificatePem(chains->alternates[0]);
  ASSERT_TRUE(leaf.ok() && alternate_leaf.ok());
  EXPECT_EQ(leaf->der, alternate_leaf->der);
  EXPECT_NE(chains->pem, chains->alternates[0]);
}

// The transport on its own: size limit, non-JSON bodies and refused
// connections, against a local plain-HTTP server.
TEST(CurlTransportE2eTest, SizeLimitNonJsonAndRefusedConnections) {
  httplib::Server server;
  server.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(2 << 20, 'x'), "application/json");
  });
  server.Get("/dir", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html>not a directory</html>", "text/html");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&] { server.listen_after_bind(); });
  struct Joiner {
    httplib::Server& s;
    std::thread& t;
    ~Joiner() {
      s.stop();
      t.join();
    }
  } joiner{server, thread};
  std::string base = "http://127.0.0.1:" + std::to_string(port);

  auto http = CurlHttpClient::Create({});
  ASSERT_TRUE(http.ok());
  HttpRequest big;
  big.method = "GET";
  big.url = base + "/big";
  auto too_large = (*http)->Send(big);
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.status().code(), ErrorCode::kProtocol);
  EXPECT_EQ(too_large.status().where(), big.url);
  big.max_response_bytes = 4 << 20;
  auto fits = (*http)->Send(big);
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  EXPECT_EQ(fits->body.size(), size_t{2 << 20});

  auto client = Client::Create({.directory_url = base + "/dir", .allow_insecure_http = true});
  ASSERT_TRUE(client.ok());
  auto directory = (*client)->GetDirectory();
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(directory.status().message().find("text/html"), std::string::npos);

  int closed_port = testing::PickFreePort();
  auto refused = Client::Create(
      {.directory_url = "http://127.0.0.1:" + std::to_string(closed_port) + "/dir",
       .allow_insecure_http = true});
  ASSERT_TRUE(refused.ok());
  auto unreachable = (*refused)->GetDirectory();
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(unreachable.status().where().find(std::to_string(closed_port)),
            std::string::npos);
}

}  // namespace
}  // namespace certkeeper::acme
