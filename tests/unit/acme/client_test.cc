// The client against a scripted CA: a whole issuance, request accounting,
// badNonce handling, error mapping and validation of what the server sends.
#include "acme/client.h"

#include <gtest/gtest.h>

#include "acme/jws.h"
#include "base/encoding.h"
#include "tests/unit/acme/fake_ca.h"

namespace certkeeper::acme {
namespace {

using std::chrono::milliseconds;
using testing::FakeCa;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cert_key = PrivateKey::Generate(KeyType::kEc256);
    ASSERT_TRUE(cert_key.ok());
    cert_key_ = *cert_key;
    cert_pem_ = testing::MakeCertificate(cert_key_, {"example.com", "www.example.com"},
                                         std::string("\x87\x65\x43\x21", 4));
    ca_ = std::make_shared<FakeCa>(cert_pem_);
    auto account_key = PrivateKey::Generate(KeyType::kEc256);
    ASSERT_TRUE(account_key.ok());
    account_key_ = *account_key;
    ClientOptions options;
    options.directory_url = ca_->directory_url();
    options.clock = &clock_;
    auto client = Client::Create(options, ca_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    client_->SetAccountKey(account_key_, "");
  }

  void Register() {
    auto account = client_->NewAccount(
        {.contact = {"mailto:ops@example.com"}, .terms_of_service_agreed = true});
    ASSERT_TRUE(account.ok()) << account.status().ToString();
    ASSERT_EQ(account->url, ca_->Url("/acct/1"));
  }

  TimePoint Deadline() { return clock_.Now() + std::chrono::seconds(30); }

  FakeClock clock_{FromUnixSeconds(1'900'000'000)};
  PrivateKey cert_key_ = *PrivateKey::Generate(KeyType::kEc256);
  PrivateKey account_key_ = cert_key_;
  std::string cert_pem_;
  std::shared_ptr<FakeCa> ca_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, FullIssuanceUsesTheMinimumNumberOfRequests) {
  Register();
  EXPECT_EQ(client_->account_url(), ca_->Url("/acct/1"));
  EXPECT_EQ(ca_->payloads.back()["termsOfServiceAgreed"], true);
  client_->mutable_stats().Reset();
  const TimePoint start = clock_.Now();

  auto order = client_->NewOrder({.identifiers = {"Example.COM", "www.example.com"}});
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(order->status, "pending");
  EXPECT_EQ(order->identifiers, (std::vector<std::string>{"example.com", "www.example.com"}));
  ASSERT_EQ(order->authorizations.size(), 2u);

  for (const std::string& url : order->authorizations) {
    auto authz = client_->GetAuthorization(url);
    ASSERT_TRUE(authz.ok()) << authz.status().ToString();
    const Challenge* http01 = authz->Find("http-01");
    ASSERT_NE(http01, nullptr);
    auto key_authorization = client_->KeyAuthorization(http01->token);
    ASSERT_TRUE(key_authorization.ok());
    EXPECT_EQ(*key_authorization, http01->token + "." + *JwkThumbprint(account_key_));
    auto challenge = client_->RespondToChallenge(http01->url);
    ASSERT_TRUE(challenge.ok()) << challenge.status().ToString();
    EXPECT_EQ(challenge->status, "processing");
    auto done = client_->PollAuthorization(url, Deadline());
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_EQ(done->status, "valid");
  }
  auto ready = client_->PollOrder(order->url, Deadline());
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(ready->status, "ready");

  auto csr = CreateCsrDer(cert_key_, {"example.com", "www.example.com"});
  ASSERT_TRUE(csr.ok());
  auto finalized = client_->Finalize(*ready, *csr);
  ASSERT_TRUE(finalized.ok()) << finalized.status().ToString();
  EXPECT_EQ(finalized->status, "processing");
  EXPECT_EQ(ca_->last_csr_der, *csr);
  auto valid = client_->PollOrder(order->url, Deadline());
  ASSERT_TRUE(valid.ok()) << valid.status().ToString();
  ASSERT_EQ(valid->status, "valid");

  auto chains = client_->DownloadCertificate(valid->certificate, /*with_alternates=*/true);
  ASSERT_TRUE(chains.ok()) << chains.status().ToString();
  EXPECT_EQ(chains->pem, cert_pem_);
  ASSERT_EQ(chains->alternate_urls.size(), 1u);
  EXPECT_EQ(chains->alternate_urls[0], valid->certificate + "/alt");
  ASSERT_EQ(chains->alternates.size(), 1u);

  const RequestStats& stats = client_->stats();
  EXPECT_EQ(stats.Get(RequestKind::kDirectory), 0);  // cached from registration
  EXPECT_EQ(stats.Get(RequestKind::kNewNonce), 0);   // every response fed the pool
  EXPECT_EQ(stats.Get(RequestKind::kNewOrder), 1);
  EXPECT_EQ(stats.Get(RequestKind::kAuthorization), 2);
  EXPECT_EQ(stats.Get(RequestKind::kChallenge), 2);
  EXPECT_EQ(stats.Get(RequestKind::kPollAuthorization), 2);
  EXPECT_EQ(stats.Get(RequestKind::kFinalize), 1);
  EXPECT_EQ(stats.Get(RequestKind::kPollOrder), 2);
  EXPECT_EQ(stats.Get(RequestKind::kCertificate), 2);
  EXPECT_EQ(stats.Total(), 12);
  EXPECT_EQ(stats.Snapshot().at("poll-authz"), 2);
  // Four polls, each after the initial 2 ms: no fixed multi-second interval.
  EXPECT_EQ(clock_.Now() - start, milliseconds(8));
}

TEST_F(ClientTest, FirstRequestFetchesDirectoryAndOneNonce) {
  Register();
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewNonce), 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewAccount), 1);
  auto account = client_->GetAccount();
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewNonce), 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
}

// With --jobs the pool is shared: another request can take the nonce a newNonce
// fetch just added, and a CA can send an unusable value once. Either way the
// client fetches again instead of failing the order.
TEST_F(ClientTest, NewNonceWithoutAUsableNonceIsFetchedAgain) {
  int unusable = 2;
  ca_->intercept = [&](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.method != "HEAD" || unusable == 0) return std::nullopt;
    --unusable;
    HttpResponse response;
    response.status = 200;
    response.headers.Add("Replay-Nonce", "not base64url!");
    return response;
  };
  Register();
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewNonce), 3);
  EXPECT_EQ(unusable, 0);
}

TEST_F(ClientTest, NewNonceFetchesAreBounded) {
  ca_->intercept = [&](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.method != "HEAD") return std::nullopt;
    HttpResponse response;
    response.status = 200;
    return response;
  };
  auto account = client_->NewAccount(
      {.contact = {"mailto:ops@example.com"}, .terms_of_service_agreed = true});
  ASSERT_FALSE(account.ok());
  EXPECT_NE(account.status().ToString().find("no valid Replay-Nonce"), std::string::npos)
      << account.status().ToString();
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewNonce), 3);
}

TEST_F(ClientTest, BadNonceIsRetriedWithTheErrorResponsesNonce) {
  Register();
  ca_->reject_nonces = 3;
  client_->mutable_stats().Reset();
  auto account = client_->GetAccount();
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(client_->stats().Get(RequestKind::kAccount), 4);
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewNonce), 0);
}

TEST_F(ClientTest, BadNonceRetriesAreBounded) {
  Register();
  ca_->reject_nonces = 1000;
  client_->mutable_stats().Reset();
  auto account = client_->GetAccount();
  ASSERT_FALSE(account.ok());
  EXPECT_EQ(account.status().code(), ErrorCode::kAcme);
  ASSERT_NE(account.status().problem(), nullptr);
  EXPECT_TRUE(account.status().problem()->Is("badNonce"));
  EXPECT_EQ(client_->stats().Get(RequestKind::kAccount), 11);  // 1 + 10 retries
}

TEST_F(ClientTest, RateLimitSurfacesWithRetryAfterAndIsNotRetried) {
  Register();
  ca_->rate_limit_new_order = "120";
  client_->mutable_stats().Reset();
  auto order = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), ErrorCode::kRateLimited);
  ASSERT_TRUE(order.status().retry_after().has_value());
  EXPECT_EQ(*order.status().retry_after(), clock_.Now() + std::chrono::seconds(120));
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewOrder), 1);
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
}

TEST_F(ClientTest, NonJsonAndTruncatedJsonAreProtocolErrors) {
  Register();
  std::string body;
  std::string content_type;
  ca_->intercept = [&](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.url != ca_->Url("/acct/1")) return std::nullopt;
    HttpResponse response;
    response.status = 200;
    response.headers.Add("Content-Type", content_type);
    response.headers.Add("Replay-Nonce", "fresh" + std::to_string(r.body.size()));
    response.body = body;
    return response;
  };
  content_type = "text/html";
  body = "<html>hello</html>";
  auto html = client_->GetAccount();
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(html.status().message().find("text/html"), std::string::npos);
  EXPECT_EQ(html.status().where(), ca_->Url("/acct/1"));

  content_type = "application/json";
  body = R"({"status":"valid","contact":["mailto:a@exa)";
  auto truncated = client_->GetAccount();
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(truncated.status().message().find("not valid JSON"), std::string::npos);
  EXPECT_EQ(truncated.status().where(), ca_->Url("/acct/1"));

  body = R"({"status":"sleeping"})";
  auto bad_status = client_->GetAccount();
  ASSERT_FALSE(bad_status.ok());
  EXPECT_EQ(bad_status.status().code(), ErrorCode::kProtocol);
}

TEST_F(ClientTest, PollingBacksOffGeometrically) {
  Register();
  ca_->authz_pending_polls = 3;
  auto order = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_TRUE(order.ok());
  auto authz = client_->GetAuthorization(order->authorizations[0]);
  ASSERT_TRUE(authz.ok());
  ASSERT_TRUE(client_->RespondToChallenge(authz->challenges[0].url).ok());
  client_->mutable_stats().Reset();
  const TimePoint start = clock_.Now();
  auto done = client_->PollAuthorization(authz->url, Deadline());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->status, "valid");
  EXPECT_EQ(client_->stats().Get(RequestKind::kPollAuthorization), 4);
  EXPECT_EQ(clock_.Now() - start, milliseconds(2 + 4 + 8 + 16));
}

TEST_F(ClientTest, PollingHonoursRetryAfter) {
  Register();
  ca_->authz_pending_polls = 2;
  ca_->poll_retry_after = "3";
  auto order = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_TRUE(order.ok());
  auto authz = client_->GetAuthorization(order->authorizations[0]);
  ASSERT_TRUE(authz.ok());
  ASSERT_TRUE(client_->RespondToChallenge(authz->challenges[0].url).ok());
  const TimePoint start = clock_.Now();
  auto done = client_->PollAuthorization(authz->url, Deadline());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->status, "valid");
  EXPECT_EQ(clock_.Now() - start, milliseconds(2 + 3000 + 3000));
}

TEST_F(ClientTest, PollingStopsAtTheDeadline) {
  Register();
  ca_->authz_pending_polls = 1'000'000;
  auto order = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_TRUE(order.ok());
  auto authz = client_->GetAuthorization(order->authorizations[0]);
  ASSERT_TRUE(authz.ok());
  ASSERT_TRUE(client_->RespondToChallenge(authz->challenges[0].url).ok());
  client_->mutable_stats().Reset();
  const TimePoint start = clock_.Now();
  auto done = client_->PollAuthorization(authz->url, start + milliseconds(100));
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(done.status().message().find("pending"), std::string::npos);
  EXPECT_EQ(clock_.Now() - start, milliseconds(100));
  // Polls at 2, 6, 14, 30, 62 and (capped by the deadline) 100 ms.
  EXPECT_EQ(client_->stats().Get(RequestKind::kPollAuthorization), 6);
}

TEST_F(ClientTest, RetryAfterBeyondTheDeadlineIsCapped) {
  Register();
  ca_->authz_pending_polls = 1'000'000;
  ca_->poll_retry_after = "600";
  auto order = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_TRUE(order.ok());
  auto authz = client_->GetAuthorization(order->authorizations[0]);
  ASSERT_TRUE(authz.ok());
  ASSERT_TRUE(client_->RespondToChallenge(authz->challenges[0].url).ok());
  const TimePoint start = clock_.Now();
  auto done = client_->PollAuthorization(authz->url, start + std::chrono::seconds(1));
  EXPECT_EQ(done.status().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(clock_.Now() - start, std::chrono::seconds(1));
}

TEST_F(ClientTest, KeyRolloverSwitchesToTheNewKey) {
  Register();
  auto new_key = PrivateKey::Generate(KeyType::kEc384);
  ASSERT_TRUE(new_key.ok());
  Status s = client_->RolloverKey(*new_key);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*client_->account_key()->PublicKeyDer(), *new_key->PublicKeyDer());
  // The fake CA now only accepts the new key for this account.
  auto account = client_->GetAccount();
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  client_->SetAccountKey(account_key_, client_->account_url());
  auto stale = client_->GetAccount();
  EXPECT_FALSE(stale.ok());
}

TEST_F(ClientTest, DeactivatedAccountIsRefused) {
  Register();
  auto deactivated = client_->DeactivateAccount();
  ASSERT_TRUE(deactivated.ok()) << deactivated.status().ToString();
  EXPECT_EQ(deactivated->status, "deactivated");
  EXPECT_EQ(client_->GetAccount().status().code(), ErrorCode::kAcme);
}

TEST_F(ClientTest, OnlyReturnExistingFindsOrRefuses) {
  auto missing = client_->NewAccount({.only_return_existing = true});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().problem()->Is("accountDoesNotExist"));
  Register();
  client_->SetAccountKey(account_key_, "");
  auto found = client_->NewAccount({.only_return_existing = true});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(client_->account_url(), ca_->Url("/acct/1"));
}

TEST_F(ClientTest, RevokeWithAccountKeyOrCertificateKey) {
  Register();
  ASSERT_TRUE(client_->RevokeCertificate(cert_pem_, RevocationReason::kSuperseded).ok());
  EXPECT_EQ(ca_->last_revocation["reason"], 4);
  EXPECT_FALSE(ca_->last_revocation_used_jwk);
  auto der = ParseCertificatePem(cert_pem_);
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(ca_->last_revocation["certificate"], Base64UrlEncode(der->der));

  Status by_key =
      client_->RevokeCertificate(cert_pem_, RevocationReason::kKeyCompromise, &cert_key_);
  ASSERT_TRUE(by_key.ok()) << by_key.ToString();
  EXPECT_TRUE(ca_->last_revocation_used_jwk);
  EXPECT_EQ(ca_->last_revocation["reason"], 1);
  // A key that does not belong to the certificate is refused before any request.
  EXPECT_FALSE(
      client_->RevokeCertificate(cert_pem_, RevocationReason::kKeyCompromise, &account_key_)
          .ok());
}

TEST_F(ClientTest, RenewalInfoAndCertificateIdentifier) {
  auto id = AriCertificateId(cert_pem_);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  // The serial 0x87654321 has its high bit set: DER adds a leading zero.
  EXPECT_EQ(id->substr(id->find('.') + 1), Base64UrlEncode(std::string("\0\x87\x65\x43\x21", 5)));
  auto info = client_->GetRenewalInfo(cert_pem_);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(FormatRfc3339(info->window_start), "2030-01-02T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(info->window_end), "2030-01-03T00:00:00Z");
  EXPECT_EQ(info->explanation_url, "https://ca.test/why");
  ASSERT_TRUE(info->retry_after.has_value());
  EXPECT_EQ(*info->retry_after, clock_.Now() + std::chrono::hours(6));
  EXPECT_EQ(ca_->requests.back().url, ca_->Url("/ari/") + *id);
  EXPECT_EQ(client_->stats().Get(RequestKind::kRenewalInfo), 1);

  Register();
  auto order = client_->NewOrder({.identifiers = {"example.com"}, .replaces = *id});
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(ca_->payloads.back()["replaces"], *id);
}

TEST_F(ClientTest, ServerUrlsMustUseTheDirectoryScheme) {
  Register();
  ca_->intercept = [&](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.url != ca_->Url("/authz/1")) return std::nullopt;
    HttpResponse response;
    response.status = 200;
    response.headers.Add("Content-Type", "application/json");
    response.body = nlohmann::json{
        {"status", "pending"},
        {"identifier", {{"type", "dns"}, {"value", "example.com"}}},
        {"challenges",
         {{{"type", "http-01"}, {"url", "http://ca.test/chall/1"},
           {"token", std::string(43, 'A')}, {"status", "pending"}}}}}.dump();
    return response;
  };
  auto order = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_TRUE(order.ok());
  auto authz = client_->GetAuthorization(order->authorizations[0]);
  ASSERT_FALSE(authz.ok());
  EXPECT_EQ(authz.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(authz.status().message().find("scheme"), std::string::npos);
}

TEST(ParseChallengeTest, TokensNeedEnoughEntropy) {
  auto challenge = [](const std::string& token) {
    return ParseChallenge({{"type", "http-01"}, {"url", "https://ca.test/c/1"},
                           {"token", token}, {"status", "pending"}},
                          "https");
  };
  EXPECT_TRUE(challenge(std::string(22, 'A')).ok());  // 132 bits
  EXPECT_FALSE(challenge(std::string(20, 'A')).ok());  // 120 bits
  EXPECT_FALSE(challenge("../../etc/passwd/aaaaaaaaaaaaaaaaaaa").ok());
  EXPECT_FALSE(challenge("").ok());
}

TEST(ClientCreateTest, RejectsBadDirectoryUrl) {
  auto ca = std::make_shared<FakeCa>("");
  EXPECT_EQ(Client::Create({.directory_url = "ftp://x/dir"}, ca).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Client::Create({.directory_url = "not a url"}, ca).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(ClientCreateTest, PlainHttpOnlyWhenAllowed) {
  auto ca = std::make_shared<FakeCa>("");
  auto refused = Client::Create({.directory_url = "http://127.0.0.1:14000/dir"}, ca);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("plain http://"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().hint().find("--allow-insecure-http"), std::string::npos);
  EXPECT_TRUE(Client::Create({.directory_url = "http://127.0.0.1:14000/dir",
                              .allow_insecure_http = true},
                             ca)
                  .ok());
  // The option allows http, nothing else.
  EXPECT_FALSE(
      Client::Create({.directory_url = "ftp://x/dir", .allow_insecure_http = true}, ca).ok());
  EXPECT_FALSE(Client::Create({.directory_url = "https:///dir"}, ca).ok());
  EXPECT_TRUE(Client::Create({.directory_url = "https://ca.test/dir"}, ca).ok());
}

TEST(ClientCreateTest, TimeoutMustBePositiveAndBounded) {
  auto ca = std::make_shared<FakeCa>("");
  for (auto t : {std::chrono::milliseconds(0), std::chrono::milliseconds(-1),
                 std::chrono::milliseconds(std::chrono::minutes(11))}) {
    auto c = Client::Create({.directory_url = "https://ca.test/dir", .timeout = t}, ca);
    ASSERT_FALSE(c.ok()) << t.count();
    EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(Client::Create({.directory_url = "https://ca.test/dir",
                              .timeout = std::chrono::minutes(10)},
                             ca)
                  .ok());
}

TEST(RevocationReasonTest, Names) {
  EXPECT_EQ(*ParseRevocationReason("keyCompromise"), RevocationReason::kKeyCompromise);
  EXPECT_EQ(*ParseRevocationReason("superseded"), RevocationReason::kSuperseded);
  EXPECT_EQ(ParseRevocationReason("because").status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace certkeeper::acme
