#include "cli/config_file.h"

#include <gtest/gtest.h>

namespace certkeeper::cli {
namespace {

constexpr const char* kFull = R"(state_dir = "/var/lib/certkeeper"

[acme]
server = "https://ca.example/dir"
ca_bundle = "/etc/ssl/extra.pem"
email = "ops@example.com"
agree_tos = true
timeout = "10s"

[solvers.http-01]
webroot = "/var/www/html"

[solvers.tls-alpn-01]
listen = "127.0.0.1:5001"

[solvers.dns-01]
provider = "rfc2136"
resolver = "192.0.2.53:53"
propagation_timeout = "2m"
nameserver = "192.0.2.1:53"
tsig_key_name = "certkeeper."

[renewal]
renew_before_days = 20

[renewal.budgets]
new_orders_per_3h = 10

[[certificate]]
name = "web"
domains = ["Example.COM", "www.example.com."]
key_type = "rsa2048"
challenges = ["dns-01", "http-01"]
deploy = ["nginx"]

[[deploy]]
name = "nginx"
type = "files"
directory = "/etc/nginx/certs"
files = { fullchain = "fullchain.pem", key = "privkey.pem" }
mode = "0640"
reload = ["nginx", "-s", "reload"]
verify = ["127.0.0.1:443"]
)";

TEST(ConfigFile, ParsesEveryDocumentedKey) {
  auto config = ParseConfig(kFull, "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToUserString();
  EXPECT_EQ(config->state_dir, "/var/lib/certkeeper");
  EXPECT_EQ(config->acme.server, "https://ca.example/dir");
  EXPECT_TRUE(config->acme.agree_tos);
  EXPECT_EQ(config->acme.timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(config->solvers.at("http-01").webroot, "/var/www/html");
  EXPECT_EQ(config->solvers.at("tls-alpn-01").listen, "127.0.0.1:5001");
  const auto& dns = config->solvers.at("dns-01");
  EXPECT_EQ(dns.provider, "rfc2136");
  EXPECT_EQ(dns.propagation_timeout, std::chrono::minutes(2));
  EXPECT_EQ(dns.options.at("nameserver"), "192.0.2.1:53");
  EXPECT_EQ(dns.options.at("tsig_key_name"), "certkeeper.");
  EXPECT_EQ(*config->renewal.renew_before, std::chrono::hours(24 * 20));
  EXPECT_EQ(config->renewal.budgets->new_orders_per_3h, 10);
  EXPECT_EQ(config->renewal.budgets->duplicate_certificates_per_week, 5);
  ASSERT_EQ(config->certificates.size(), 1u);
  const auto& cert = config->certificates[0];
  EXPECT_EQ(cert.domains, (std::vector<std::string>{"example.com", "www.example.com"}));
  EXPECT_EQ(cert.key_type, KeyType::kRsa2048);
  EXPECT_EQ(cert.challenges, (std::vector<std::string>{"dns-01", "http-01"}));
  ASSERT_EQ(config->deploy.size(), 1u);
  EXPECT_EQ(config->deploy[0].mode, 0640u);
  EXPECT_EQ(config->deploy[0].reload.size(), 3u);
}

struct BadConfig {
  const char* meaning;
  const char* text;
  const char* expected;  // substring of the error
};

TEST(ConfigFile, RejectsMistakesWithKeyAndLine) {
  const BadConfig cases[] = {
      {"unknown top-level key", "stat_dir = \"/x\"\n", "t.toml:1: unknown key \"stat_dir\""},
      {"unknown acme key", "[acme]\nserver = \"https://a/dir\"\nemial = \"x\"\n",
       "t.toml:3: unknown key \"acme.emial\""},
      {"wrong type", "[acme]\nagree_tos = \"yes\"\n", "t.toml:2: acme.agree_tos: must be true or false"},
      {"unknown solver", "[solvers.smtp-01]\nlisten = \":25\"\n", "unknown solver type"},
      {"http-01 with both modes", "[solvers.http-01]\nlisten = \":80\"\nwebroot = \"/w\"\n",
       "either listen or webroot"},
      {"dns-01 without provider", "[solvers.dns-01]\nresolver = \"1.2.3.4:53\"\n",
       "provider is required"},
      {"bad duration", "[solvers.dns-01]\nprovider = \"exec\"\npropagation_timeout = \"soon\"\n",
       "not a duration"},
      {"bad domain", "[[certificate]]\nname = \"w\"\ndomains = [\"a b.com\"]\n",
       "invalid domain name"},
      {"bad certificate name", "[[certificate]]\nname = \"../w\"\ndomains = [\"a.com\"]\n",
       "invalid certificate name"},
      {"bad key type", "[[certificate]]\nname = \"w\"\ndomains = [\"a.com\"]\nkey_type = \"ed448\"\n",
       "unknown key type"},
      {"no domains", "[[certificate]]\nname = \"w\"\ndomains = []\n", "domains must not be empty"},
      {"duplicate certificate",
       "[[certificate]]\nname = \"w\"\ndomains = [\"a.com\"]\n[[certificate]]\nname = \"w\"\n"
       "domains = [\"b.com\"]\n",
       "defined twice"},
      {"undefined deploy target",
       "[[certificate]]\nname = \"w\"\ndomains = [\"a.com\"]\ndeploy = [\"nope\"]\n",
       "not defined"},
      {"unknown challenge", "[[certificate]]\nname = \"w\"\ndomains = [\"a.com\"]\nchallenges = [\"x-01\"]\n",
       "unknown challenge"},
      {"unknown deploy key",
       "[[deploy]]\nname = \"d\"\ntype = \"files\"\ndirectory = \"/d\"\nreloud = [\"x\"]\n",
       "t.toml:5: unknown key \"deploy[0].reloud\""},
      {"bad deploy type", "[[deploy]]\nname = \"d\"\ntype = \"ftp\"\n", "deploy \"d\""},
      {"syntax error", "[acme\nserver = 1\n", "t.toml:1"},
      {"renew_before_days out of range", "[renewal]\nrenew_before_days = -3\n", "between 0 and"},
      {"timeout zero", "[acme]\nserver = \"https://a/dir\"\ntimeout = 0\n",
       "t.toml:3: acme.timeout: must be more than 0 and at most 10 minutes"},
      {"timeout zero as a string", "[acme]\ntimeout = \"0s\"\n", "t.toml:2: acme.timeout: must be more"},
      {"timeout negative", "[acme]\ntimeout = -30\n", "t.toml:2: acme.timeout: must be more"},
      {"timeout of an hour", "[acme]\ntimeout = \"1h\"\n", "t.toml:2: acme.timeout: must be more"},
      {"timeout that would overflow", "[acme]\ntimeout = 9223372036854775807\n",
       "t.toml:2: acme.timeout: is out of range"},
      {"timeout string that would overflow", "[acme]\ntimeout = \"100000000d\"\n",
       "t.toml:2: acme.timeout: duration \"100000000d\" is longer than 100 years"},
      {"plain http server", "[acme]\nemail = \"a@b.c\"\nserver = \"http://ca.example/dir\"\n",
       "t.toml:3: acme.server: the ACME directory URL uses plain http://"},
      {"plain http server, option false",
       "[acme]\nserver = \"http://127.0.0.1:14000/dir\"\nallow_insecure_http = false\n",
       "t.toml:2: acme.server: the ACME directory URL uses plain http://"},
      {"ftp server", "[acme]\nserver = \"ftp://ca.example/dir\"\nallow_insecure_http = true\n",
       "t.toml:2: acme.server: the ACME directory URL must be an https:// URL"},
      {"server without a scheme", "[acme]\nserver = \"ca.example/dir\"\n",
       "t.toml:2: acme.server: the ACME directory URL must be an https:// URL"},
      {"server without a host", "[acme]\nserver = \"https:///dir\"\n",
       "t.toml:2: acme.server: the ACME directory URL must be an https:// URL"},
      {"allow_insecure_http not a bool", "[acme]\nallow_insecure_http = \"yes\"\n",
       "t.toml:2: acme.allow_insecure_http: must be true or false"},
      {"CA without a name", "[[ca]]\nserver = \"https://a/dir\"\n", "ca[0]: name is required"},
      {"CA without a server", "[[ca]]\nname = \"a\"\n", "CA \"a\": server is required"},
      {"CA defined twice",
       "[[ca]]\nname = \"a\"\nserver = \"https://a/dir\"\n[[ca]]\nname = \"a\"\n"
       "server = \"https://b/dir\"\n",
       "CA \"a\" is defined twice"},
      {"[acme] server beside [[ca]]",
       "[acme]\nserver = \"https://a/dir\"\n[[ca]]\nname = \"b\"\nserver = \"https://b/dir\"\n",
       "cannot be combined"},
      {"unknown CA of a certificate",
       "[[ca]]\nname = \"a\"\nserver = \"https://a/dir\"\n[[certificate]]\nname = \"w\"\n"
       "domains = [\"a.com\"]\ncas = [\"b\"]\n",
       "names CA \"b\", which is not defined"},
      {"EAB key id without its MAC key",
       "[[ca]]\nname = \"a\"\nserver = \"https://a/dir\"\neab_kid = \"k\"\n",
       "set both eab_kid and eab_hmac_file"},
      {"unknown EAB algorithm",
       "[[ca]]\nname = \"a\"\nserver = \"https://a/dir\"\neab_alg = \"RS256\"\n",
       "eab_alg must be HS256, HS384 or HS512"},
      {"plain http CA", "[[ca]]\nname = \"a\"\nserver = \"http://a/dir\"\n",
       "t.toml:3: ca[0].server: the ACME directory URL uses plain http://"},
      {"unknown CA key", "[[ca]]\nname = \"a\"\nserver = \"https://a/dir\"\nprofil = \"x\"\n",
       "unknown key \"ca[0].profil\""},
      {"hostile IP address", "[[certificate]]\nname = \"w\"\ndomains = [\"127.1\"]\n",
       "invalid IP address"},
  };
  for (const BadConfig& c : cases) {
    auto config = ParseConfig(c.text, "t.toml");
    ASSERT_FALSE(config.ok()) << c.meaning;
    EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument) << c.meaning;
    EXPECT_NE(config.status().ToString().find(c.expected), std::string::npos)
        << c.meaning << ": " << config.status().ToString();
  }
}

TEST(ConfigFile, PlainHttpServerOnlyWithTheExplicitOption) {
  auto config = ParseConfig(
      "[acme]\nserver = \"http://127.0.0.1:14000/dir\"\nallow_insecure_http = true\n"
      "timeout = \"10m\"\n",
      "t.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToUserString();
  EXPECT_TRUE(config->acme.allow_insecure_http);
  EXPECT_EQ(config->acme.timeout, std::chrono::minutes(10));
  auto refused = ParseConfig("[acme]\nserver = \"http://127.0.0.1:14000/dir\"\n", "t.toml");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().hint().find("allow_insecure_http = true"), std::string::npos)
      << refused.status().hint();
  auto https = ParseConfig("[acme]\nserver = \"HTTPS://ca.example/dir\"\n", "t.toml");
  ASSERT_TRUE(https.ok()) << https.status().ToUserString();
  EXPECT_FALSE(https->acme.allow_insecure_http);
}

TEST(ConfigFile, MissingFileSaysHowToFixIt) {
  auto config = LoadConfigFile("/nonexistent/certkeeper.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().hint().find("-c"), std::string::npos);
}

TEST(ConfigFile, ParsesSeveralCas) {
  auto config = ParseConfig(R"([[ca]]
name = "le"
server = "https://acme-v02.api.letsencrypt.org/directory"
email = "ops@example.com"
agree_tos = true
profile = "shortlived"
preferred_chain = "ISRG Root X1"
caa_identities = ["letsencrypt.org"]

[[ca]]
name = "backup"
server = "https://acme.backup.example/dir"
eab_kid = "kid-1"
eab_hmac_file = "/etc/certkeeper/backup.hmac"
eab_alg = "HS512"
timeout = "20s"
[ca.budgets]
new_orders_per_3h = 30

[renewal]
return_to_preferred = false

[caa]
resolver = "127.0.0.1:8053"

[[certificate]]
name = "web"
domains = ["www.example.com", "192.0.2.1", "2001:DB8::1"]
cas = ["backup", "le"]
next_key = true
)",
                            "cas.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->cas.size(), 2u);
  const lifecycle::AcmeSettings& le = config->cas[0];
  EXPECT_EQ(le.name, "le");
  EXPECT_EQ(le.profile, "shortlived");
  EXPECT_EQ(le.preferred_chain, "ISRG Root X1");
  EXPECT_EQ(le.caa_identities, std::vector<std::string>{"letsencrypt.org"});
  EXPECT_FALSE(le.budgets.has_value());
  EXPECT_EQ(lifecycle::EffectiveBudgets(le, config->renewal).certificates_per_registered_domain_per_week,
            50)
      << "Let's Encrypt's limits for its own directory";
  const lifecycle::AcmeSettings& backup = config->cas[1];
  EXPECT_EQ(backup.eab_kid, "kid-1");
  EXPECT_EQ(backup.eab_hmac_file, "/etc/certkeeper/backup.hmac");
  EXPECT_EQ(backup.eab_alg, "HS512");
  EXPECT_EQ(backup.timeout, std::chrono::milliseconds(20000));
  ASSERT_TRUE(backup.budgets.has_value());
  EXPECT_EQ(backup.budgets->new_orders_per_3h, 30);
  EXPECT_FALSE(config->renewal.return_to_preferred);
  EXPECT_TRUE(config->caa.enabled);
  EXPECT_EQ(config->caa.resolver, "127.0.0.1:8053");
  ASSERT_EQ(config->certificates.size(), 1u);
  const lifecycle::CertificateSpec& web = config->certificates[0];
  EXPECT_EQ(web.cas, (std::vector<std::string>{"backup", "le"}));
  EXPECT_TRUE(web.next_key);
  EXPECT_EQ(web.domains, (std::vector<std::string>{"www.example.com", "192.0.2.1", "2001:db8::1"}));
  std::vector<std::string> order;
  for (const auto* ca : config->CasFor(web)) order.push_back(ca->name);
  EXPECT_EQ(order, (std::vector<std::string>{"backup", "le"}));
}

TEST(ConfigFile, AnUnknownCaHasNoBudgetUnlessConfigured) {
  auto config = ParseConfig("[[ca]]\nname = \"x\"\nserver = \"https://x.example/dir\"\n", "t.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  lifecycle::BudgetSettings none = lifecycle::EffectiveBudgets(config->cas[0], config->renewal);
  EXPECT_EQ(none.new_orders_per_3h, 0);
  EXPECT_EQ(none.certificates_per_registered_domain_per_week, 0);
  config = ParseConfig("[[ca]]\nname = \"x\"\nserver = \"https://x.example/dir\"\n"
                       "[renewal.budgets]\nnew_orders_per_3h = 7\n",
                       "t.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(lifecycle::EffectiveBudgets(config->cas[0], config->renewal).new_orders_per_3h, 7);
}

TEST(ConfigFile, EmptyFileIsValid) {
  auto config = ParseConfig("", "empty.toml");
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->certificates.empty());
  EXPECT_TRUE(config->solvers.empty());
}

}  // namespace
}  // namespace certkeeper::cli
