// What today's CAs offer or lack: IP identifiers (RFC 8738), profiles, a
// missing keyChange, operations answered with 501, a reset account database.
#include <gtest/gtest.h>

#include "acme/client.h"
#include "acme/problem.h"
#include "tests/unit/acme/fake_ca_client.h"

namespace certkeeper::acme {
namespace {

using nlohmann::json;
using testing::FakeCaClientTest;

using CaFeaturesTest = FakeCaClientTest;

TEST_F(CaFeaturesTest, IpIdentifiersAreOrderedAsTypeIp) {
  Register();
  auto order = client_->NewOrder({.identifiers = {"192.0.2.1", "Example.COM", "2001:DB8::1"}});
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(ca_->payloads.back()["identifiers"],
            (json{{{"type", "ip"}, {"value", "192.0.2.1"}},
                  {{"type", "dns"}, {"value", "example.com"}},
                  {{"type", "ip"}, {"value", "2001:db8::1"}}}));
  EXPECT_EQ(order->identifiers,
            (std::vector<std::string>{"192.0.2.1", "example.com", "2001:db8::1"}));
  ASSERT_EQ(order->authorizations.size(), 3u);
  auto ip = client_->GetAuthorization(order->authorizations[0]);
  ASSERT_TRUE(ip.ok()) << ip.status().ToString();
  EXPECT_EQ(ip->identifier_type, "ip");
  EXPECT_EQ(ip->identifier, "192.0.2.1");
  EXPECT_FALSE(ip->wildcard);
  auto dns = client_->GetAuthorization(order->authorizations[1]);
  ASSERT_TRUE(dns.ok());
  EXPECT_EQ(dns->identifier_type, "dns");
}

TEST_F(CaFeaturesTest, HostileIpSpellingsAreNotOrdered) {
  Register();
  for (const char* bad : {"127.1", "0x7f.0.0.1", "010.0.0.1", "1.2.3.4.", "fe80::1%eth0",
                          "[::1]", "::ffff:1.2.3.04", "*.192.0.2.1"}) {
    auto order = client_->NewOrder({.identifiers = {bad}});
    ASSERT_FALSE(order.ok()) << bad;
    EXPECT_EQ(order.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ca_->CountPath("/new-order"), 0);
}

json AuthzDoc(const std::string& type, const std::string& value, bool wildcard) {
  json doc = {{"status", "pending"},
              {"identifier", {{"type", type}, {"value", value}}},
              {"challenges", json::array()}};
  if (wildcard) doc["wildcard"] = true;
  return doc;
}

TEST(ParseIdentifiersTest, IpMustBeCanonicalAndNeverAWildcard) {
  const std::string url = "https://ca.test/authz/1";
  auto ok = ParseAuthorization(AuthzDoc("ip", "2001:db8::1", false), url, "https");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->identifier_type, "ip");
  EXPECT_EQ(ok->identifier, "2001:db8::1");
  for (const char* bad : {"2001:DB8::1", "127.1", "010.0.0.1", "::ffff:1.2.3.4", "example.com",
                          "fe80::1%eth0", ""}) {
    auto parsed = ParseAuthorization(AuthzDoc("ip", bad, false), url, "https");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kProtocol) << bad;
  }
  auto wildcard = ParseAuthorization(AuthzDoc("ip", "192.0.2.1", true), url, "https");
  ASSERT_FALSE(wildcard.ok());
  EXPECT_NE(wildcard.status().message().find("wildcard"), std::string::npos);
  // A dns identifier that is an address stays refused, and other types too.
  EXPECT_FALSE(ParseAuthorization(AuthzDoc("dns", "192.0.2.1", false), url, "https").ok());
  EXPECT_FALSE(ParseAuthorization(AuthzDoc("email", "a@example.com", false), url, "https").ok());

  json order = {{"status", "pending"},
                {"identifiers", {{{"type", "ip"}, {"value", "192.0.2.1"}},
                                 {{"type", "dns"}, {"value", "*.example.com"}}}},
                {"finalize", "https://ca.test/finalize/1"}};
  auto parsed = ParseOrder(order, "https://ca.test/order/1", "https");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->identifiers, (std::vector<std::string>{"192.0.2.1", "*.example.com"}));
  order["identifiers"][0]["value"] = "192.0.2.01";
  EXPECT_FALSE(ParseOrder(order, "https://ca.test/order/1", "https").ok());
}

TEST_F(CaFeaturesTest, UnknownProfileListsWhatTheCaOffers) {
  ca_->profiles = {{"classic", "90 days"}, {"shortlived", "6 days"}};
  Register();
  auto order = client_->NewOrder({.identifiers = {"example.com"}, .profile = "tlsserver"});
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(order.status().message().find("the CA at " + ca_->directory_url() +
                                          " offers no profile \"tlsserver\"; it offers: "
                                          "classic, shortlived"),
            std::string::npos)
      << order.status().message();
  EXPECT_NE(order.status().hint().find("`profile`"), std::string::npos);
  EXPECT_NE(order.status().hint().find("[[ca]]"), std::string::npos);
  EXPECT_EQ(ca_->CountPath("/new-order"), 0);

  auto known = client_->NewOrder({.identifiers = {"example.com"}, .profile = "shortlived"});
  ASSERT_TRUE(known.ok()) << known.status().ToString();
  EXPECT_EQ(ca_->payloads.back()["profile"], "shortlived");
}

TEST_F(CaFeaturesTest, UnknownProfileAtACaWithoutProfiles) {
  ca_->profiles.clear();
  Register();
  auto order = client_->NewOrder({.identifiers = {"example.com"}, .profile = "classic"});
  ASSERT_FALSE(order.ok());
  EXPECT_NE(order.status().message().find("it offers no profiles"), std::string::npos)
      << order.status().message();
}

TEST_F(CaFeaturesTest, DirectoryWithoutKeyChangeRefusesRolloverWithoutARequest) {
  ca_->offer_key_change = false;
  Register();
  const size_t before = ca_->requests.size();
  auto new_key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(new_key.ok());
  Status s = client_->RolloverKey(*new_key);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("the CA does not support account key rollover (its directory "
                             "has no keyChange)"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(ca_->requests.size(), before);
  EXPECT_EQ(client_->account_key()->PublicKeyDer().value(), account_key_.PublicKeyDer().value());
  // Everything else still works with that directory.
  EXPECT_TRUE(client_->NewOrder({.identifiers = {"example.com"}}).ok());
}

HttpResponse ProblemResponse(int status, const std::string& type, const std::string& detail) {
  HttpResponse r;
  r.status = status;
  r.headers.Add("Content-Type", "application/problem+json");
  r.body = json{{"type", "urn:ietf:params:acme:error:" + type}, {"detail", detail}}.dump();
  return r;
}

TEST_F(CaFeaturesTest, NotImplementedIsNotUnavailable) {
  Register();
  ca_->intercept = [](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.url.find("/key-change") == std::string::npos) return std::nullopt;
    return ProblemResponse(501, "serverInternal", "key rollover");
  };
  Status s = client_->RolloverKey(*PrivateKey::Generate(KeyType::kEc256));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("the CA at https://ca.test does not support POST keyChange"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(s.hint().find("retry later"), std::string::npos);
  EXPECT_NE(s.hint().find("retrying will not help"), std::string::npos);
}

TEST(NotSupportedTest, StatusAndDetailDecide) {
  const TimePoint now = FromUnixSeconds(2'000'000'000);
  struct Case {
    const char* meaning;
    HttpResponse response;
    ErrorCode code;
  } cases[] = {
      {"501 with a problem", ProblemResponse(501, "serverInternal", "no"),
       ErrorCode::kFailedPrecondition},
      {"501 without a body", HttpResponse{.status = 501, .headers = {}, .body = ""},
       ErrorCode::kFailedPrecondition},
      {"500 saying not implemented", ProblemResponse(500, "serverInternal", "Not Implemented"),
       ErrorCode::kFailedPrecondition},
      {"500 saying not supported",
       ProblemResponse(500, "serverInternal", "revocation is not supported by this CA"),
       ErrorCode::kFailedPrecondition},
      {"503 saying unsupported", ProblemResponse(503, "serverInternal", "unsupported operation"),
       ErrorCode::kFailedPrecondition},
      {"500 otherwise", ProblemResponse(500, "serverInternal", "database down"),
       ErrorCode::kUnavailable},
      {"503 without a body", HttpResponse{.status = 503, .headers = {}, .body = ""},
       ErrorCode::kUnavailable},
      {"4xx saying not supported stays an ACME error",
       ProblemResponse(400, "unsupportedIdentifier", "ip identifiers are not supported"),
       ErrorCode::kAcme},
  };
  for (const Case& c : cases) {
    Status s = ErrorResponseStatus("POST revokeCert", "https://ca.test:8443/revoke", c.response,
                                   now);
    EXPECT_EQ(s.code(), c.code) << c.meaning << ": " << s.ToString();
    if (c.code == ErrorCode::kFailedPrecondition) {
      EXPECT_EQ(s.message().rfind("the CA at https://ca.test:8443 does not support POST "
                                  "revokeCert: HTTP 5",
                                  0),
                0u)
          << c.meaning << ": " << s.message();
    }
  }
}

TEST_F(CaFeaturesTest, AccountDoesNotExistSurfacesWithItsProblem) {
  Register();
  auto order = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_TRUE(order.ok());
  // The CA forgot the account (a reset database): requests by kid name it.
  client_->SetAccountKey(account_key_, ca_->Url("/acct/99"));
  auto fetched = client_->GetOrder(order->url);
  ASSERT_FALSE(fetched.ok());
  EXPECT_TRUE(IsAccountDoesNotExist(fetched.status())) << fetched.status().ToString();
  EXPECT_FALSE(IsCaRefusal(fetched.status()));
  auto again = client_->NewOrder({.identifiers = {"example.com"}});
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(IsAccountDoesNotExist(again.status()));
  // The lookup by key says kNotFound and keeps the problem too.
  auto other = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(other.ok());
  auto found = client_->FindAccountUrl(*other);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(IsAccountDoesNotExist(found.status()));
}

Status WithProblem(std::string type, std::vector<std::string> subtypes = {}) {
  Problem p;
  p.type = "urn:ietf:params:acme:error:" + type;
  for (const std::string& sub : subtypes) {
    Problem s;
    s.type = "urn:ietf:params:acme:error:" + sub;
    p.subproblems.push_back(s);
  }
  return Status(ErrorCode::kAcme, "x").WithProblem(p);
}

TEST(IsCaRefusalTest, PolicyRefusalsOnly) {
  for (const char* type : {"rejectedIdentifier", "caa", "unauthorized",
                           "externalAccountRequired", "userActionRequired"}) {
    EXPECT_TRUE(IsCaRefusal(WithProblem(type))) << type;
  }
  EXPECT_TRUE(IsCaRefusal(WithProblem("compound", {"malformed", "rejectedIdentifier"})));
  for (const char* type : {"badNonce", "rateLimited", "serverInternal", "malformed",
                           "accountDoesNotExist", "connection", "orderNotReady", "caaa"}) {
    EXPECT_FALSE(IsCaRefusal(WithProblem(type))) << type;
  }
  EXPECT_FALSE(IsCaRefusal(WithProblem("compound", {"malformed", "dns"})));
  EXPECT_FALSE(IsCaRefusal(Status(ErrorCode::kUnavailable, "down")));
  EXPECT_FALSE(IsCaRefusal(Status::Ok()));
  EXPECT_FALSE(IsAccountDoesNotExist(Status(ErrorCode::kNotFound, "no")));
  EXPECT_TRUE(IsAccountDoesNotExist(WithProblem("accountDoesNotExist")));
}

}  // namespace
}  // namespace certkeeper::acme
