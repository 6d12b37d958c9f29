// The fleet rules of CheckConfig for a Config built in code: this host's
// name, [store] and each certificate's hosts (lifecycle/config_check_store.cc),
// and Config::DeliversHere.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "lifecycle/config_check.h"
#include "tests/unit/lifecycle/config_rule_rows.h"

namespace certkeeper::lifecycle {
namespace {

CertificateSpec Spec(const std::string& name, std::vector<std::string> hosts) {
  CertificateSpec spec;
  spec.name = name;
  spec.domains = {name + ".example.com"};
  spec.hosts = std::move(hosts);
  return spec;
}

// A fleet config with every rule satisfied: each row below breaks one.
Config FleetConfig() {
  Config config;
  config.source = "fleet.toml";
  config.host = "edge-1";
  config.store.url = "postgresql://certkeeper@db.example.com/certkeeper?sslmode=verify-full";
  config.store.password_file = "/etc/certkeeper/store.password";
  config.store.encryption_key_file = "/etc/certkeeper/fleet.key";
  config.certificates.push_back(Spec("web", {"edge-1", "edge_2", "edge-3.example.net"}));
  config.certificates.push_back(Spec("api", {}));
  return config;
}

TEST(CheckFleetConfig, AcceptsAFleetAndASingleHost) {
  Status s = CheckConfig(FleetConfig());
  EXPECT_TRUE(s.ok()) << s.ToString();
  Config single;
  single.host = "localhost";
  single.store.lease_ttl = std::chrono::seconds(10);
  EXPECT_TRUE(CheckConfig(single).ok());
  single.store.lease_ttl = std::chrono::hours(1);
  EXPECT_TRUE(CheckConfig(single).ok());
  for (const char* url : {"postgres://db/ck", "postgresql://", "postgresql:///ck?host=/run/pg",
                          "postgresql://ck@[::1]:5432/ck", "postgresql://db/ck?passfile=/p",
                          "postgresql://c%3Ak@db/ck"}) {
    EXPECT_TRUE(CheckStoreUrl(url).ok()) << url << ": " << CheckStoreUrl(url).ToString();
  }
}

TEST(CheckFleetConfig, RefusesEachBrokenRuleNamingTheKey) {
  ExpectEachRowRefused(FleetConfig, {
      {"host with a space", [](Config& c) { c.host = "edge 1"; },
       "fleet.toml: host: host name \"edge 1\" contains a character other than letters",
       "set host = \"edge-1\" at the top of the config"},
      {"host starting with a dot", [](Config& c) { c.host = ".."; },
       "fleet.toml: host: host name \"..\" does not start with a letter or digit", ""},
      {"host starting with a dash", [](Config& c) { c.host = "-rf"; },
       "does not start with a letter or digit", ""},
      {"host of 65 characters", [](Config& c) { c.host = std::string(65, 'a'); },
       "fleet.toml: host: host name \"aaaa", "1-64 letters"},
      {"host with a terminal escape", [](Config& c) { c.host = "edge\x1b]0;x\a"; },
       "host name \"edge\\x1b]0;x\\x07\" contains", ""},
      {"host with a newline", [](Config& c) { c.host = "edge\n1"; }, "\"edge\\n1\"", ""},
      {"host that is not ASCII", [](Config& c) { c.host = "\xc3\xa9" "dge"; },
       "does not start with a letter or digit", ""},
      {"url of another engine", [](Config& c) { c.store.url = "mysql://db/ck"; },
       "fleet.toml: store.url: must be a postgresql:// or postgres:// URL", ""},
      {"url with a capital scheme", [](Config& c) { c.store.url = "PostgreSQL://db/ck"; },
       "store.url: must be a postgresql://", ""},
      {"url with user:password@", [](Config& c) { c.store.url = "postgresql://ck:pw@db/ck"; },
       "fleet.toml: store.url: must not hold a password (user:password@)",
       "password_file = \"/etc/certkeeper/store.password\""},
      {"url with an empty password", [](Config& c) { c.store.url = "postgres://ck:@db/ck"; },
       "must not hold a password (user:password@)", ""},
      {"url with a password parameter",
       [](Config& c) { c.store.url = "postgresql://db/ck?sslmode=require&password=pw"; },
       "fleet.toml: store.url: must not hold a password (password= in the query)",
       "password_file"},
      {"url with a password parameter in capitals",
       [](Config& c) { c.store.url = "postgresql://db/ck?PASSWORD=pw"; },
       "password= in the query", ""},
      {"url with a percent-encoded password parameter",
       [](Config& c) { c.store.url = "postgresql://db/ck?pass%77ord=pw"; },
       "password= in the query", ""},
      {"url with a password parameter and no value",
       [](Config& c) { c.store.url = "postgresql://db/ck?a=1&password"; },
       "password= in the query", ""},
      {"url with a tab", [](Config& c) { c.store.url = "postgresql://db/ck\t"; },
       "store.url: contains a space, a control character or a non-ASCII byte at offset 18",
       "percent-encode"},
      {"url with an escape", [](Config& c) { c.store.url = "postgresql://\x1b[2Jdb/ck"; },
       "at offset 13", ""},
      {"url with a space", [](Config& c) { c.store.url = "postgresql://db/c k"; },
       "at offset 17", ""},
      {"url with DEL", [](Config& c) { c.store.url = "postgresql://db/\x7f"; }, "at offset 16",
       ""},
      {"url without an encryption key", [](Config& c) { c.store.encryption_key_file.clear(); },
       "fleet.toml: store.encryption_key_file is required with a [store] url",
       "head -c 32 /dev/urandom > /etc/certkeeper/fleet.key && chmod 600 "
       "/etc/certkeeper/fleet.key"},
      {"relative encryption key file",
       [](Config& c) { c.store.encryption_key_file = "keys/fleet.key"; },
       "fleet.toml: store.encryption_key_file must be an absolute path, not \"keys/fleet.key\"",
       "/etc/certkeeper/fleet.key"},
      {"relative password file", [](Config& c) { c.store.password_file = "./pw"; },
       "fleet.toml: store.password_file must be an absolute path, not \"./pw\"", ""},
      {"lease_ttl under 10s",
       [](Config& c) { c.store.lease_ttl = std::chrono::milliseconds(9999); },
       "fleet.toml: store.lease_ttl: must be between 10s and 1h", "lease_ttl = \"60s\""},
      {"lease_ttl over an hour",
       [](Config& c) { c.store.lease_ttl = std::chrono::hours(1) + std::chrono::seconds(1); },
       "store.lease_ttl: must be between 10s and 1h", ""},
      {"lease_ttl of zero", [](Config& c) { c.store.lease_ttl = Duration::zero(); },
       "store.lease_ttl: must be between 10s and 1h", ""},
      {"hosts without a shared inventory", [](Config& c) { c.store = StoreSettings(); },
       "fleet.toml: certificate \"web\": hosts = [...] needs a shared inventory ([store] url)",
       "one host alone is every host"},
      {"hosts entry with a slash", [](Config& c) { c.certificates[0].hosts = {"a/b"}; },
       "fleet.toml: certificate \"web\": hosts: host name \"a/b\" contains", ""},
      {"hosts entry empty", [](Config& c) { c.certificates[0].hosts = {"edge-1", ""}; },
       "fleet.toml: certificate \"web\": hosts: host name is empty", ""},
      {"hosts entry twice",
       [](Config& c) { c.certificates[1].hosts = {"edge-2", "edge-1", "edge-2"}; },
       "fleet.toml: certificate \"api\": hosts lists \"edge-2\" twice", ""},
  });
}

TEST(CheckFleetConfig, NeverEchoesARefusedUrl) {
  for (const char* url : {"postgresql://ck:hunter2@db/ck", "postgresql://db/ck?password=hunter2",
                          "mysql://ck:hunter2@db", "postgresql://ck:hunter2@db/\n"}) {
    Config config = FleetConfig();
    config.store.url = url;
    Status s = CheckConfig(config);
    ASSERT_FALSE(s.ok()) << url;
    EXPECT_EQ(s.ToUserString().find("hunter2"), std::string::npos) << s.ToUserString();
  }
}

TEST(CheckFleetConfig, HostsOfASpecBuiltOutsideTheConfigAreChecked) {
  Config single;
  Status s = CheckCertificateSpec(single, Spec("new", {"edge-1"}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "certificate \"new\": hosts = [...] needs a shared inventory ([store] url)");
  EXPECT_TRUE(CheckCertificateSpec(FleetConfig(), Spec("new", {"edge-1"})).ok());
}

TEST(DeliversHere, EveryHostWithoutHostsElseOnlyTheListedOnes) {
  Config config = FleetConfig();
  const CertificateSpec& web = config.certificates[0];  // edge-1, edge_2, edge-3.example.net
  const CertificateSpec& api = config.certificates[1];  // every host
  EXPECT_TRUE(config.DeliversHere(web));
  EXPECT_TRUE(config.DeliversHere(api));
  config.host = "edge-3.example.net";
  EXPECT_TRUE(config.DeliversHere(web));
  config.host = "edge-2";
  EXPECT_FALSE(config.DeliversHere(web)) << "edge_2 is listed, not edge-2";
  EXPECT_TRUE(config.DeliversHere(api));
  config.host = "EDGE-1";
  EXPECT_FALSE(config.DeliversHere(web)) << "names match exactly";
  config.host = "edge-1";
  EXPECT_TRUE(config.DeliversHere(web));
}

}  // namespace
}  // namespace certkeeper::lifecycle
