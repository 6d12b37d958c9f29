// The directory kept between runs: a kept document saves the GET, and a CA
// that moved its URLs (404 at a kept URL) costs one refetch and one retry.
#include <gtest/gtest.h>

#include "acme/client.h"
#include "base/encoding.h"
#include "tests/unit/acme/fake_ca_client.h"

namespace certkeeper::acme {
namespace {

using nlohmann::json;
using testing::FakeCaClientTest;

class DirectoryCacheTest : public FakeCaClientTest {
 protected:
  // The body the CA serves, as a first run would have kept it.
  std::string FetchedDocument() {
    std::string kept;
    int calls = 0;
    ClientOptions options;
    options.directory_fetched = [&](const std::string& document) {
      kept = document;
      ++calls;
    };
    NewClient(options);
    ca_->requests.clear();
    EXPECT_TRUE(client_->GetDirectory().ok());
    EXPECT_TRUE(client_->GetDirectory().ok());  // cached: no second fetch, no second call
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(ca_->CountPath("/dir"), 1);
    return kept;
  }

  // A client seeded with `document`; fresh fetches are counted in fetched_.
  void SeededClient(const std::string& document) {
    ClientOptions options;
    options.directory_document = document;
    options.directory_fetched = [this](const std::string& body) { fetched_.push_back(body); };
    NewClient(options);
    ca_->requests.clear();
  }

  std::string WithUrl(const std::string& document, const char* member, const std::string& path) {
    json doc = json::parse(document);
    doc[member] = ca_->Url(path);
    return doc.dump();
  }

  std::vector<std::string> fetched_;
};

TEST_F(DirectoryCacheTest, KeptDocumentSavesTheDirectoryRequest) {
  std::string document = FetchedDocument();
  ASSERT_FALSE(document.empty());
  SeededClient(document);
  Register();
  ASSERT_TRUE(client_->NewOrder({.identifiers = {"example.com"}}).ok());
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 0);
  EXPECT_EQ(ca_->CountPath("/dir"), 0);
  EXPECT_TRUE(fetched_.empty());
  // newNonce, newAccount, newOrder: nothing else.
  EXPECT_EQ(client_->stats().Total(), 3);
}

TEST_F(DirectoryCacheTest, StaleNewOrderUrlCostsOneRefetchAndOneRetry) {
  SeededClient(WithUrl(FetchedDocument(), "newOrder", "/old-new-order"));
  Register();
  auto order = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewOrder), 2);
  EXPECT_EQ(ca_->CountPath("/old-new-order"), 1);
  EXPECT_EQ(ca_->CountPath("/new-order"), 1);
  ASSERT_EQ(fetched_.size(), 1u);  // the fresh document, to be kept instead
  EXPECT_EQ(json::parse(fetched_[0])["newOrder"], ca_->Url("/new-order"));
  // From then on the fresh directory is used directly.
  ASSERT_TRUE(client_->NewOrder({.identifiers = {"example.com"}}).ok());
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewOrder), 3);
}

TEST_F(DirectoryCacheTest, StaleNonceUrlIsRefetched) {
  SeededClient(WithUrl(FetchedDocument(), "newNonce", "/old-nonce"));
  Register();
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewNonce), 2);
  EXPECT_EQ(fetched_.size(), 1u);
}

// The binding names the newAccount URL, so the retry must sign it anew.
TEST_F(DirectoryCacheTest, StaleNewAccountUrlRebuildsTheBinding) {
  ca_->eab_keys["kid"] = "mac key bytes";
  SeededClient(WithUrl(FetchedDocument(), "newAccount", "/old-new-acct"));
  auto account = client_->NewAccount(
      {.external_account_binding =
           NewAccountRequest::ExternalAccountBinding{.kid = "kid", .mac_key = "mac key bytes"}});
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewAccount), 2);
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
}

// The inner JWS names the keyChange URL, so the retry must sign it anew.
TEST_F(DirectoryCacheTest, StaleKeyChangeUrlRebuildsTheInnerJws) {
  SeededClient(WithUrl(FetchedDocument(), "keyChange", "/old-key-change"));
  Register();
  auto new_key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(new_key.ok());
  Status rolled = client_->RolloverKey(*new_key);
  ASSERT_TRUE(rolled.ok()) << rolled.ToString();
  EXPECT_EQ(client_->stats().Get(RequestKind::kKeyChange), 2);
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
}

TEST_F(DirectoryCacheTest, StaleRenewalInfoUrlIsRefetched) {
  SeededClient(WithUrl(FetchedDocument(), "renewalInfo", "/old-ari"));
  auto info = client_->GetRenewalInfo(
      testing::MakeCertificate(cert_key_, {"example.com"}, std::string("\x01\x02", 2)));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(client_->stats().Get(RequestKind::kRenewalInfo), 2);
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
}

TEST_F(DirectoryCacheTest, RefetchHappensOnceEvenIfTheFreshUrlAlso404s) {
  SeededClient(WithUrl(FetchedDocument(), "newOrder", "/old-new-order"));
  Register();
  ca_->intercept = [this](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.url != ca_->Url("/new-order")) return std::nullopt;
    HttpResponse gone;
    gone.status = 404;
    return gone;
  };
  auto order = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewOrder), 2);
}

// A 404 at a URL of a directory this client fetched itself is the answer.
TEST_F(DirectoryCacheTest, FetchedDirectoryIsNotRefetchedOn404) {
  Register();
  ca_->intercept = [this](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.url != ca_->Url("/new-order")) return std::nullopt;
    HttpResponse gone;
    gone.status = 404;
    return gone;
  };
  ASSERT_FALSE(client_->NewOrder({.identifiers = {"example.com"}}).ok());
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
  EXPECT_EQ(client_->stats().Get(RequestKind::kNewOrder), 1);
}

// Other errors at a kept URL are answers too: no refetch.
TEST_F(DirectoryCacheTest, KeptDirectoryIsNotRefetchedOnOtherErrors) {
  SeededClient(FetchedDocument());
  Register();
  ca_->rate_limit_new_order = "60";
  ASSERT_FALSE(client_->NewOrder({.identifiers = {"example.com"}}).ok());
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 0);
}

TEST_F(DirectoryCacheTest, UnusableDocumentIsIgnoredAndFetched) {
  for (const std::string& bad :
       {std::string("{not json"), std::string("[]"), std::string(R"({"newNonce":1})"),
        WithUrl(FetchedDocument(), "newOrder", "/x").replace(0, 1, "[")}) {
    SCOPED_TRACE(bad);
    fetched_.clear();
    SeededClient(bad);
    Register();
    EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
    EXPECT_EQ(fetched_.size(), 1u);
  }
  // A document whose URLs use another scheme is refused like a fetched one.
  json doc = json::parse(FetchedDocument());
  doc["newOrder"] = "http://ca.test/new-order";
  fetched_.clear();
  SeededClient(doc.dump());
  ASSERT_TRUE(client_->GetDirectory().ok());
  EXPECT_EQ(client_->stats().Get(RequestKind::kDirectory), 1);
  EXPECT_EQ(client_->GetDirectory()->new_order, ca_->Url("/new-order"));
}

}  // namespace
}  // namespace certkeeper::acme
