// What the issuer accepts from the CA and from the configuration before any
// solver runs: authorization names (only those asked for, only valid DNS names),
// challenge tokens (base64url only, RFC 8555 §8.1), and the failover routes a
// certificate gets from its challenge list.
#include "lifecycle/issuer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "acme/resources.h"
#include "challenges/self_check.h"

namespace certkeeper::lifecycle {
namespace {

using nlohmann::json;

struct NameCase {
  const char* meaning;
  std::string identifier;
  bool wildcard;
  bool accepted;
};

TEST(CheckRequestedTest, OnlyValidNamesTheOrderAskedForReachASolver) {
  const std::vector<std::string> domains = {"example.com", "*.example.com", "www.example.org"};
  const NameCase cases[] = {
      {"a requested name", "example.com", false, true},
      {"the wildcard as RFC 8555 §7.1.4 sends it", "example.com", true, true},
      {"another requested name", "www.example.org", false, true},
      {"upper case is the same name", "WWW.Example.ORG", false, true},
      {"a wildcard that was not requested", "www.example.org", true, false},
      {"a name that was not requested", "evil.example.com", false, false},
      {"a wildcard label left in the identifier", "*.example.com", false, false},
      {"path traversal", "../../etc/passwd", false, false},
      {"a slash", "example.com/x", false, false},
      {"shell metacharacters", "$(reboot).example.com", false, false},
      {"a space", "exa mple.com", false, false},
      {"an empty name", "", false, false},
      {"an IP address", "127.0.0.1", false, false},
      {"a newline", "example.com\nx", false, false},
  };
  for (const NameCase& c : cases) {
    acme::Authorization authz;
    authz.identifier = c.identifier;
    authz.wildcard = c.wildcard;
    Status s = CheckRequested(authz, domains);
    EXPECT_EQ(s.ok(), c.accepted) << c.meaning << ": " << s.ToString();
    if (!c.accepted) {
      EXPECT_EQ(s.code(), ErrorCode::kProtocol) << c.meaning;
    }
  }
}

struct TokenCase {
  const char* meaning;
  std::string token;
  bool accepted;         // by the ACME parser: base64url of at least 128 bits
  bool solver_accepted;  // by the solvers' own last check: base64url, 1-256 long
};

const TokenCase kTokens[] = {
    {"base64url", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", true, true},
    {"base64url with - and _", "a-b_cdefghijklmnopqrstuvwA", true, true},
    {"shorter than 128 bits", "abcdefgh", false, true},
    {"empty", "", false, false},
    {"padding", "abc=", false, false},
    {"standard base64 alphabet", "ab+c/d", false, false},
    {"path traversal", "../../etc/passwd", false, false},
    {"a dot", "abc.def", false, false},
    {"a space", "abc def", false, false},
    {"a NUL byte", std::string("abc\0def", 7), false, false},
    {"longer than 256 characters", std::string(257, 'a'), false, false},
};

TEST(TokenTest, OnlyBase64UrlTokensAreAccepted) {
  for (const TokenCase& c : kTokens) {
    Status s = challenges::ValidateToken(c.token);
    EXPECT_EQ(s.ok(), c.solver_accepted) << c.meaning << ": " << s.ToString();
  }
}

// The same rule where the CA's answer is parsed: a bad token never gets into an
// Authorization the issuer would hand to a solver.
TEST(TokenTest, AuthorizationsWithBadTokensAreRefusedWhenParsed) {
  for (const TokenCase& c : kTokens) {
    for (const char* type : {"http-01", "dns-01", "tls-alpn-01"}) {
      json doc = {{"status", "pending"},
                  {"identifier", {{"type", "dns"}, {"value", "example.com"}}},
                  {"challenges",
                   {{{"type", type},
                     {"url", "https://ca.test/chall/1"},
                     {"status", "pending"},
                     {"token", c.token}}}}};
      auto authz = acme::ParseAuthorization(doc, "https://ca.test/authz/1", "https");
      EXPECT_EQ(authz.ok(), c.accepted) << c.meaning << " (" << type << "): "
                                        << authz.status().ToString();
    }
  }
}

struct RouteCase {
  const char* meaning;
  std::vector<std::string> domains;
  std::vector<std::string> wanted;
  std::vector<std::string> configured;
  std::vector<std::string> routes;  // empty: an error
};

TEST(ChallengeRoutesTest, TheCertificatesListFilteredToConfiguredSolvers) {
  const RouteCase cases[] = {
      {"the certificate's order wins", {"a.example.com"}, {"tls-alpn-01", "http-01"},
       {"http-01", "dns-01", "tls-alpn-01"}, {"tls-alpn-01", "http-01"}},
      {"no list: every configured solver", {"a.example.com"}, {},
       {"http-01", "dns-01"}, {"http-01", "dns-01"}},
      {"unconfigured types are skipped", {"a.example.com"}, {"dns-01", "http-01"},
       {"http-01"}, {"http-01"}},
      {"duplicates are tried once", {"a.example.com"}, {"http-01", "http-01", "dns-01"},
       {"http-01", "dns-01"}, {"http-01", "dns-01"}},
      {"nothing configured of the list", {"a.example.com"}, {"dns-01"}, {"http-01"}, {}},
      {"a wildcard needs dns-01", {"*.example.com"}, {"http-01"}, {"http-01", "dns-01"}, {}},
      {"a wildcard with dns-01 later in the list", {"*.example.com", "example.com"},
       {"http-01", "dns-01"}, {"http-01", "dns-01"}, {"http-01", "dns-01"}},
  };
  for (const RouteCase& c : cases) {
    CertificateSpec spec;
    spec.name = "t";
    spec.domains = c.domains;
    spec.challenges = c.wanted;
    auto routes = ChallengeRoutes(spec, c.configured);
    if (c.routes.empty()) {
      EXPECT_FALSE(routes.ok()) << c.meaning;
      if (!routes.ok()) {
        EXPECT_FALSE(routes.status().hint().empty()) << c.meaning;
      }
    } else {
      ASSERT_TRUE(routes.ok()) << c.meaning << ": " << routes.status().ToString();
      EXPECT_EQ(*routes, c.routes) << c.meaning;
    }
  }
}

}  // namespace
}  // namespace certkeeper::lifecycle
