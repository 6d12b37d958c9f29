// The fleet settings of certkeeper.toml: `host`, [store] and a certificate's
// `hosts` (cli/config_store.cc, checked by lifecycle::CheckFleetConfig).
#include <gtest/gtest.h>

#include <string>

#include "cli/config_file.h"

namespace certkeeper::cli {
namespace {

constexpr const char* kFleet = R"(host = "edge-1"

[store]
url = "postgresql://certkeeper@db.example.com:5432/certkeeper?sslmode=verify-full"
password_file = "/etc/certkeeper/store.password"
encryption_key_file = "/etc/certkeeper/fleet.key"
lease_ttl = "90s"

[[certificate]]
name = "web"
domains = ["example.com"]
hosts = ["edge-1", "edge-2.example.net"]

[[certificate]]
name = "api"
domains = ["api.example.com"]
)";

TEST(ConfigStore, ParsesHostStoreAndCertificateHosts) {
  auto config = ParseConfig(kFleet, "fleet.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToUserString();
  EXPECT_EQ(config->host, "edge-1");
  EXPECT_EQ(config->store.url,
            "postgresql://certkeeper@db.example.com:5432/certkeeper?sslmode=verify-full");
  EXPECT_TRUE(config->store.shared());
  EXPECT_EQ(config->store.password_file, "/etc/certkeeper/store.password");
  EXPECT_EQ(config->store.encryption_key_file, "/etc/certkeeper/fleet.key");
  EXPECT_EQ(config->store.lease_ttl, std::chrono::seconds(90));
  ASSERT_EQ(config->certificates.size(), 2u);
  EXPECT_EQ(config->certificates[0].hosts,
            (std::vector<std::string>{"edge-1", "edge-2.example.net"}));
  EXPECT_TRUE(config->certificates[1].hosts.empty());
  EXPECT_TRUE(config->DeliversHere(config->certificates[0]));
  EXPECT_TRUE(config->DeliversHere(config->certificates[1])) << "no hosts: every host";
}

TEST(ConfigStore, DefaultsAreTheHostnameAndTheEmbeddedInventory) {
  auto config = ParseConfig("", "empty.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToUserString();
  EXPECT_EQ(config->host, lifecycle::DefaultHostName());
  EXPECT_FALSE(config->host.empty());
  EXPECT_FALSE(config->store.shared());
  EXPECT_TRUE(config->store.password_file.empty());
  EXPECT_TRUE(config->store.encryption_key_file.empty());
  EXPECT_EQ(config->store.lease_ttl, std::chrono::seconds(60));
  auto postgres = ParseConfig(
      "[store]\nurl = \"postgres:///certkeeper\"\nencryption_key_file = \"/k\"\n"
      "lease_ttl = 3600\n",
      "t.toml");
  ASSERT_TRUE(postgres.ok()) << postgres.status().ToUserString();
  EXPECT_EQ(postgres->store.lease_ttl, std::chrono::hours(1));
  EXPECT_EQ(postgres->host, lifecycle::DefaultHostName());
}

struct BadFleet {
  const char* meaning;
  const char* text;
  const char* expected;  // substring of the error
  const char* hint;      // substring of the hint; "" when not checked
};

constexpr const char* kKey = "encryption_key_file = \"/etc/certkeeper/fleet.key\"\n";

TEST(ConfigStore, RejectsMistakesNamingTheKey) {
  const std::string store = std::string("[store]\n") + kKey;
  const std::string shared = store + "url = \"postgresql://db/ck\"\n";
  const BadFleet cases[] = {
      {"host not a string", "host = 1\n", "t.toml:1: host: must be a string", ""},
      {"host with a space", "host = \"edge 1\"\n",
       "t.toml:1: host: host name \"edge 1\" contains a character other than", "\"edge-1\""},
      {"host empty", "host = \"\"\n", "t.toml:1: host: host name is empty", ""},
      {"host too long", "host = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n",
       "is longer than 64 characters", ""},
      {"host that is a path", "host = \"../etc\"\n", "does not start with a letter or digit", ""},
      {"host with a control character", "host = \"edge\\u001b[2J\"\n",
       "host name \"edge\\x1b[2J\" contains", ""},
      {"unknown store key", "[store]\nuri = \"postgresql://db/ck\"\n",
       "t.toml:2: unknown key \"store.uri\"", ""},
      {"store not a table", "store = \"postgresql://db/ck\"\n", "t.toml:1: store: must be a table",
       ""},
      {"url of another engine", "[store]\nurl = \"mysql://db/ck\"\n",
       "t.toml:2: store.url: must be a postgresql:// or postgres:// URL", ""},
      {"url with a password", "[store]\nurl = \"postgresql://ck:s3cret@db/ck\"\n",
       "t.toml:2: store.url: must not hold a password (user:password@)", "password_file"},
      {"url with a password parameter",
       "[store]\nurl = \"postgresql://ck@db/ck?sslmode=require&password=s3cret\"\n",
       "store.url: must not hold a password (password= in the query)", "password_file"},
      {"url with an encoded password parameter",
       "[store]\nurl = \"postgresql://db/ck?%70assword=s3cret\"\n",
       "store.url: must not hold a password (password= in the query)", ""},
      {"url with a control character", "[store]\nurl = \"postgresql://db/ck\\u000a\"\n",
       "store.url: contains a space, a control character or a non-ASCII byte at offset 18", ""},
      {"url without an encryption key", "[store]\nurl = \"postgresql://db/ck\"\n",
       "t.toml: store.encryption_key_file is required with a [store] url",
       "head -c 32 /dev/urandom > /etc/certkeeper/fleet.key && chmod 600 "
       "/etc/certkeeper/fleet.key"},
      {"relative encryption key file",
       "[store]\nurl = \"postgresql://db/ck\"\nencryption_key_file = \"fleet.key\"\n",
       "t.toml: store.encryption_key_file must be an absolute path, not \"fleet.key\"", ""},
      {"relative password file", "[store]\npassword_file = \"pw\"\n",
       "t.toml: store.password_file must be an absolute path, not \"pw\"", ""},
      {"lease_ttl too short", "[store]\nlease_ttl = \"5s\"\n",
       "t.toml:2: store.lease_ttl: must be between 10s and 1h", ""},
      {"lease_ttl too long", "[store]\nlease_ttl = \"2h\"\n",
       "t.toml:2: store.lease_ttl: must be between 10s and 1h", ""},
      {"lease_ttl not a duration", "[store]\nlease_ttl = \"soon\"\n",
       "t.toml:2: store.lease_ttl: ", ""},
      {"hosts without a shared inventory",
       "[[certificate]]\nname = \"w\"\ndomains = [\"a.com\"]\nhosts = [\"edge-1\"]\n",
       "t.toml: certificate \"w\": hosts = [...] needs a shared inventory ([store] url)",
       "one host alone is every host"},
      {"hosts not strings", "[[certificate]]\nname = \"w\"\ndomains = [\"a.com\"]\nhosts = [1]\n",
       "certificate[0].hosts: must be an array of strings", ""},
  };
  for (const BadFleet& c : cases) {
    auto config = ParseConfig(c.text, "t.toml");
    ASSERT_FALSE(config.ok()) << c.meaning;
    EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument) << c.meaning;
    EXPECT_NE(config.status().ToString().find(c.expected), std::string::npos)
        << c.meaning << ": " << config.status().ToString();
    EXPECT_NE(config.status().hint().find(c.hint), std::string::npos)
        << c.meaning << ": " << config.status().hint();
  }
  const std::string certificate = "[[certificate]]\nname = \"w\"\ndomains = [\"a.com\"]\n";
  const BadFleet shared_cases[] = {
      {"host entry with a slash", "hosts = [\"edge/1\"]\n",
       "t.toml: certificate \"w\": hosts: host name \"edge/1\" contains", ""},
      {"host entry twice", "hosts = [\"edge-1\", \"edge-2\", \"edge-1\"]\n",
       "t.toml: certificate \"w\": hosts lists \"edge-1\" twice", ""},
  };
  for (const BadFleet& c : shared_cases) {
    auto config = ParseConfig(shared + certificate + c.text, "t.toml");
    ASSERT_FALSE(config.ok()) << c.meaning;
    EXPECT_NE(config.status().ToString().find(c.expected), std::string::npos)
        << c.meaning << ": " << config.status().ToString();
  }
  auto ok = ParseConfig(shared + certificate + "hosts = [\"edge-1\"]\n", "t.toml");
  EXPECT_TRUE(ok.ok()) << ok.status().ToUserString();
}

TEST(ConfigStore, NeverEchoesTheUrlItRefuses) {
  for (const char* url : {"postgresql://ck:hunter2@db/ck", "postgresql://db/ck?password=hunter2",
                          "mysql://ck:hunter2@db/ck", "postgresql://ck:hunter2@db/\\u0007"}) {
    auto config = ParseConfig(std::string("[store]\nurl = \"") + url + "\"\n", "t.toml");
    ASSERT_FALSE(config.ok()) << url;
    EXPECT_EQ(config.status().ToUserString().find("hunter2"), std::string::npos)
        << config.status().ToUserString();
  }
}

}  // namespace
}  // namespace certkeeper::cli
