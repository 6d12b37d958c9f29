// The engine's own rules for a Config built in code, as a daemon or another
// program would build it: no TOML anywhere, so every rule is proved to live in
// lifecycle/ and not in the CLI's parser.
#include "lifecycle/config_check.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/fs.h"
#include "tests/unit/lifecycle/config_rule_rows.h"

namespace certkeeper::lifecycle {
namespace {

hooks::TargetConfig FilesTarget(const std::string& name, const std::string& directory) {
  hooks::TargetConfig target;
  target.name = name;
  target.type = hooks::TargetType::kFiles;
  target.directory = directory;
  return target;
}

CertificateSpec Spec(const std::string& name, std::vector<std::string> domains,
                     std::vector<std::string> challenges, std::vector<std::string> deploy) {
  CertificateSpec spec;
  spec.name = name;
  spec.domains = std::move(domains);
  spec.challenges = std::move(challenges);
  spec.deploy = std::move(deploy);
  return spec;
}

// Every rule satisfied: each row below breaks exactly one.
Config ValidConfig() {
  Config config;
  config.source = "site.toml";
  config.state_dir = "/var/lib/certkeeper";
  config.acme.server = "https://ca.example/dir";
  SolverSettings http;
  http.type = "http-01";
  http.listen = "0.0.0.0:80";
  config.solvers["http-01"] = http;
  SolverSettings dns;
  dns.type = "dns-01";
  dns.provider = "exec";
  dns.command = {"/usr/local/bin/dns-hook"};
  config.solvers["dns-01"] = dns;
  SolverSettings alpn;
  alpn.type = "tls-alpn-01";
  alpn.listen = "0.0.0.0:443";
  config.solvers["tls-alpn-01"] = alpn;
  config.certificates.push_back(
      Spec("web", {"example.com", "www.example.com"}, {"http-01", "tls-alpn-01"}, {"nginx"}));
  config.certificates.push_back(Spec("wild", {"*.example.com"}, {"dns-01"}, {}));
  config.certificates.push_back(Spec("any", {"any.example.com"}, {}, {}));
  config.deploy.push_back(FilesTarget("nginx", "/etc/nginx/certs"));
  return config;
}

TEST(CheckConfig, AcceptsAValidConfig) {
  Status s = CheckConfig(ValidConfig());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(CheckConfig(Config()).ok()) << "an empty config is valid";
}

TEST(CheckConfig, RefusesBrokenCertificateAndTargetRulesNamingWhatAndWhere) {
  ExpectEachRowRefused(ValidConfig, {
      {"unknown challenge type",
       [](Config& c) { c.certificates[0].challenges = {"http-01", "smtp-01"}; },
       "site.toml: certificate \"web\": unknown challenge \"smtp-01\"",
       "challenges are http-01, dns-01 and tls-alpn-01"},
      {"challenge type in upper case",
       [](Config& c) { c.certificates[1].challenges = {"DNS-01"}; },
       "site.toml: certificate \"wild\": unknown challenge \"DNS-01\"", ""},
      {"deploy reference missing",
       [](Config& c) { c.certificates[0].deploy = {"nginx", "apache"}; },
       "site.toml: certificate \"web\" names deploy target \"apache\", which is not defined",
       "add a [[deploy]] table with name = \"apache\""},
      {"deploy target directory not absolute",
       [](Config& c) { c.deploy[0].directory = "certs"; },
       "site.toml: deploy target \"nginx\": directory: must be an absolute path", ""},
      {"deploy target mode readable by others", [](Config& c) { c.deploy[0].mode = 0644; },
       "site.toml: deploy target \"nginx\": mode: gives others access to the private key", ""},
      {"command target without a command",
       [](Config& c) {
         hooks::TargetConfig t;
         t.name = "hook";
         t.type = hooks::TargetType::kCommand;
         c.deploy.push_back(t);
       },
       "site.toml: deploy target \"hook\": command: is required", ""},
      {"duplicate certificate name",
       [](Config& c) { c.certificates.push_back(Spec("web", {"other.example.com"}, {}, {})); },
       "site.toml: certificate \"web\" is defined twice", ""},
      {"duplicate deploy target name",
       [](Config& c) { c.deploy.push_back(FilesTarget("nginx", "/srv/certs")); },
       "site.toml: deploy target \"nginx\" is defined twice", ""},
      {"certificate name that is a path", [](Config& c) { c.certificates[0].name = "../web"; },
       "site.toml: certificate \"../web\": invalid certificate name", ""},
      {"certificate without domains", [](Config& c) { c.certificates[2].domains.clear(); },
       "site.toml: certificate \"any\": domains must not be empty", ""},
      {"domain that is not a DNS name",
       [](Config& c) { c.certificates[2].domains = {"any example.com"}; },
       "site.toml: certificate \"any\": invalid domain name", ""},
      {"domain not in canonical form",
       [](Config& c) { c.certificates[2].domains = {"Any.Example.COM."}; },
       "site.toml: certificate \"any\": domain \"Any.Example.COM.\" is not in canonical form "
       "\"any.example.com\"",
       ""},
  });
}

TEST(CheckConfig, RefusesBrokenSolverAndAcmeRulesNamingWhatAndWhere) {
  ExpectEachRowRefused(ValidConfig, {
      {"unknown solver type", [](Config& c) { c.solvers["smtp-01"].type = "smtp-01"; },
       "site.toml: unknown solver type \"solvers.smtp-01\"",
       "solver types are http-01, dns-01 and tls-alpn-01"},
      {"solver filed under another type", [](Config& c) { c.solvers["dns-01"].type = "http-01"; },
       "site.toml: solvers.dns-01: the settings are for type \"http-01\"", ""},
      {"http-01 with listen and webroot",
       [](Config& c) { c.solvers["http-01"].webroot = "/var/www/html"; },
       "site.toml: solvers.http-01: set either listen or webroot, not both", ""},
      {"dns-01 without a provider", [](Config& c) { c.solvers["dns-01"].provider.clear(); },
       "site.toml: solvers.dns-01: provider is required", "rfc2136"},
      {"plain http server without the option",
       [](Config& c) { c.acme.server = "http://ca.example/dir"; },
       "the ACME directory URL uses plain http://", "--allow-insecure-http"},
      {"server that is not a URL", [](Config& c) { c.acme.server = "ca.example/dir"; },
       "the ACME directory URL must be an https:// URL", ""},
      {"request timeout of zero", [](Config& c) { c.acme.timeout = std::chrono::milliseconds(0); },
       "site.toml: acme.timeout: the ACME request timeout must be more than 0", ""},
      {"request timeout over ten minutes",
       [](Config& c) { c.acme.timeout = std::chrono::minutes(11); },
       "site.toml: acme.timeout: the ACME request timeout must be more than 0", ""},
  });
}

TEST(CheckConfig, PlainHttpServerOnlyWithTheExplicitOption) {
  Config config = ValidConfig();
  config.acme.server = "http://127.0.0.1:14000/dir";
  config.acme.allow_insecure_http = true;
  Status s = CheckConfig(config);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(CheckConfig, MessagesDoNotNameAFileWhenTheConfigHasNone) {
  Config config = ValidConfig();
  config.source.clear();
  config.certificates.push_back(Spec("web", {"other.example.com"}, {}, {}));
  Status s = CheckConfig(config);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "certificate \"web\" is defined twice");
  config = ValidConfig();
  config.source.clear();
  config.deploy[0].directory = "certs";
  s = CheckConfig(config);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("deploy target \"nginx\": directory:", 0), 0u) << s.message();
}

TEST(CheckCertificateSpec, ChecksASpecBuiltOutsideTheConfig) {
  const Config config = ValidConfig();
  // `issue NAME -d ... --deploy nginx`: not in config.certificates.
  Status ok = CheckCertificateSpec(config, Spec("new", {"new.example.com"}, {"dns-01"}, {"nginx"}));
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  Status challenge =
      CheckCertificateSpec(config, Spec("new", {"new.example.com"}, {"smtp-01"}, {}));
  ASSERT_FALSE(challenge.ok());
  // The spec is not from the file: its messages do not name the file.
  EXPECT_EQ(challenge.message(), "certificate \"new\": unknown challenge \"smtp-01\"");
  Status deploy = CheckCertificateSpec(config, Spec("new", {"new.example.com"}, {}, {"ftp"}));
  ASSERT_FALSE(deploy.ok());
  EXPECT_EQ(deploy.message(),
            "certificate \"new\" names deploy target \"ftp\", which is not defined");
  Status name = CheckCertificateSpec(config, Spec("a/b", {"new.example.com"}, {}, {}));
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.message().find("invalid certificate name"), std::string::npos) << name.message();
  EXPECT_FALSE(CheckCertificateSpec(config, Spec("new", {}, {}, {})).ok());
}

TEST(OpenCheckedEngine, RefusesABrokenConfigBeforeTouchingTheStateDir) {
  fs::TempDir dir;
  FakeClock clock(FromUnixSeconds(1767225600));
  Config config = ValidConfig();
  config.state_dir = dir.path() + "/state";
  config.certificates[0].deploy = {"apache"};
  auto refused = OpenCheckedEngine(config, &clock);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("\"apache\""), std::string::npos)
      << refused.status().ToString();
  EXPECT_FALSE(fs::Exists(config.state_dir));

  config.certificates[0].deploy = {"nginx"};
  auto opened = OpenCheckedEngine(config, &clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(fs::Exists(config.state_dir));
}

}  // namespace
}  // namespace certkeeper::lifecycle
