#include "challenges/dns_provider_powerdns.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>

#include "base/fs.h"
#include "challenges/dns01_solver.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges {
namespace {

using nlohmann::json;

constexpr char kBase[] = "http://127.0.0.1:8081";
constexpr char kKey[] = "s3cret-api-key";

// An in-memory PowerDNS API: zones, TXT/A RRsets, the X-API-Key check, and the
// answers (and error shapes) of pdns 4.7 for the calls the provider makes.
class FakePowerDns : public RestClient {
 public:
  struct RrSet {
    uint32_t ttl = 0;
    std::vector<std::string> contents;
  };

  std::set<std::string> zones = {"example.com.", "sub.example.com."};
  std::map<std::pair<std::string, std::string>, RrSet> rrsets;  // (name, type)
  std::vector<std::string> log;                                  // "METHOD path"
  std::vector<json> patches;
  int force_status = 0;  // answer every request with this status
  std::string force_body;

  Result<RestResponse> Send(const RestRequest& request) override {
    std::string prefix = std::string(kBase) + "/api/v1/servers/localhost";
    std::string path = request.url.substr(0, prefix.size()) == prefix
                           ? request.url.substr(prefix.size())
                           : "<foreign>" + request.url;
    log.push_back(request.method + " " + path);
    if (force_status != 0) return RestResponse{force_status, "application/json", force_body};
    bool key_ok = false;
    for (const std::string& h : request.headers) key_ok |= h == std::string("X-API-Key: ") + kKey;
    if (!key_ok) return RestResponse{401, "text/plain", "Unauthorized"};
    if (path.empty() && request.method == "GET") {
      return Json(200, {{"daemon_type", "authoritative"}, {"id", "localhost"}});
    }
    if (path.rfind("/zones?zone=", 0) == 0) {
      std::string name = path.substr(12);
      json list = json::array();
      if (zones.count(name) != 0) list.push_back({{"id", name}, {"name", name}});
      return Json(200, list);
    }
    if (path.rfind("/zones/", 0) != 0) return RestResponse{404, "text/plain", "Not Found"};
    std::string zone = path.substr(7, path.find('?') == std::string::npos
                                          ? std::string::npos
                                          : path.find('?') - 7);
    if (zones.count(zone) == 0) return RestResponse{404, "text/plain", "Not Found"};
    if (request.method == "GET") {
      // Like servers before 4.6: every RRset of the zone, whatever the filter.
      json sets = json::array();
      for (const auto& [key, set] : rrsets) {
        if (!dns::IsSubdomain(key.first, zone)) continue;
        json records = json::array();
        for (const std::string& c : set.contents) records.push_back({{"content", c}, {"disabled", false}});
        sets.push_back({{"name", key.first}, {"type", key.second}, {"ttl", set.ttl}, {"records", records}});
      }
      return Json(200, {{"name", zone}, {"rrsets", sets}});
    }
    if (request.method != "PATCH") return RestResponse{405, "text/plain", "Method Not Allowed"};
    json body = json::parse(request.body, nullptr, false);
    patches.push_back(body);
    for (const json& set : body["rrsets"]) {
      std::string name = set["name"];
      if (!dns::IsSubdomain(name, zone)) {
        return Json(422, {{"error", "RRset " + name + " IN TXT: Name is out of zone"}});
      }
      auto key = std::make_pair(name, set["type"].get<std::string>());
      if (set["changetype"] == "DELETE") {
        rrsets.erase(key);
        continue;
      }
      RrSet& out = rrsets[key];
      out.ttl = set["ttl"];
      out.contents.clear();
      for (const json& r : set["records"]) out.contents.push_back(r["content"]);
    }
    return RestResponse{204, "", ""};
  }

  std::vector<std::string> Txt(const std::string& name) {
    auto it = rrsets.find({name, "TXT"});
    return it == rrsets.end() ? std::vector<std::string>{} : it->second.contents;
  }
  size_t Count(const std::string& prefix) const {
    size_t n = 0;
    for (const std::string& l : log) n += l.rfind(prefix, 0) == 0;
    return n;
  }

 private:
  static RestResponse Json(int status, const json& doc) {
    return RestResponse{status, "application/json", doc.dump()};
  }
};

class PowerDnsProviderTest : public ::testing::Test {
 protected:
  PowerDnsProvider& Make(const std::string& zone = "", const std::string& key = kKey) {
    auto fake = std::make_unique<FakePowerDns>();
    api_ = fake.get();
    PowerDnsOptions o;
    o.api_url = kBase;
    o.api_key = key;
    o.zone = zone;
    provider_ = std::make_unique<PowerDnsProvider>(o, std::move(fake));
    return *provider_;
  }
  FakePowerDns* api_ = nullptr;
  std::unique_ptr<PowerDnsProvider> provider_;
};

TEST_F(PowerDnsProviderTest, KeepsOtherValuesAtTheNameAndRemovesOnlyItsOwn) {
  PowerDnsProvider& p = Make();
  const std::string name = "_acme-challenge.example.com.";
  api_->rrsets[{name, "TXT"}] = {300, {"\"someone-else\""}};
  api_->rrsets[{name, "A"}] = {300, {"192.0.2.1"}};
  ASSERT_TRUE(p.Present(name, "wildcard-value").ok());
  Status s = p.Present(name, "apex-value");
  ASSERT_TRUE(s.ok()) << s.ToUserString();
  EXPECT_EQ(api_->Txt(name), (std::vector<std::string>{"\"someone-else\"", "\"wildcard-value\"",
                                                       "\"apex-value\""}));
  ASSERT_TRUE(p.CleanUp(name, "wildcard-value").ok());
  EXPECT_EQ(api_->Txt(name), (std::vector<std::string>{"\"someone-else\"", "\"apex-value\""}));
  ASSERT_TRUE(p.CleanUp(name, "apex-value").ok());
  EXPECT_EQ(api_->Txt(name), (std::vector<std::string>{"\"someone-else\""}));
  EXPECT_EQ(api_->rrsets[std::make_pair(name, std::string("TXT"))].ttl, 300u) << "an existing RRset keeps its TTL";
  EXPECT_EQ(api_->rrsets.count({name, "A"}), 1u);
  for (const json& patch : api_->patches) EXPECT_EQ(patch["rrsets"][0]["changetype"], "REPLACE");
}

TEST_F(PowerDnsProviderTest, LastValueRemovedDeletesTheRrSet) {
  PowerDnsProvider& p = Make();
  const std::string name = "_acme-challenge.www.example.com.";
  ASSERT_TRUE(p.Present(name, "v").ok());
  EXPECT_EQ(api_->rrsets[std::make_pair(name, std::string("TXT"))].ttl, 60u);
  ASSERT_TRUE(p.CleanUp(name, "v").ok());
  EXPECT_EQ(api_->rrsets.count({name, "TXT"}), 0u);
  ASSERT_EQ(api_->patches.size(), 2u);
  EXPECT_EQ(api_->patches[1]["rrsets"][0]["changetype"], "DELETE");
  EXPECT_FALSE(api_->patches[1]["rrsets"][0].contains("records"));
}

TEST_F(PowerDnsProviderTest, PresentTwiceAndCleanUpOfAMissingValueWriteNothing) {
  PowerDnsProvider& p = Make();
  const std::string name = "_acme-challenge.example.com.";
  ASSERT_TRUE(p.Present(name, "v").ok());
  ASSERT_TRUE(p.Present(name, "v").ok());
  ASSERT_TRUE(p.CleanUp(name, "never-written").ok());
  EXPECT_EQ(api_->Count("PATCH"), 1u);
  EXPECT_EQ(api_->Txt(name), (std::vector<std::string>{"\"v\""}));
}

TEST_F(PowerDnsProviderTest, FindsTheLongestZoneWalkingUpAndCachesIt) {
  PowerDnsProvider& p = Make();
  const std::string name = "_acme-challenge.a.sub.example.com.";
  Result<std::string> zone = p.ZoneFor(name);
  ASSERT_TRUE(zone.ok()) << zone.status().ToUserString();
  EXPECT_EQ(*zone, "sub.example.com.");
  EXPECT_EQ(api_->Count("GET /zones?zone="), 3u);
  ASSERT_TRUE(p.Present(name, "v").ok());
  EXPECT_EQ(api_->Count("GET /zones?zone="), 3u);
  EXPECT_EQ(api_->Count("PATCH /zones/sub.example.com."), 1u);
}

TEST_F(PowerDnsProviderTest, NoZoneOnTheServerIsAClearError) {
  PowerDnsProvider& p = Make();
  Status s = p.Present("_acme-challenge.example.org.", "v");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no zone that holds _acme-challenge.example.org."), std::string::npos)
      << s.message();
  EXPECT_EQ(api_->Count("PATCH"), 0u);
}

TEST_F(PowerDnsProviderTest, ConfiguredZoneMustHoldTheName) {
  PowerDnsProvider& p = Make("example.com.");
  Status s = p.Present("_acme-challenge.example.net.", "v");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.hint().find("CNAME"), std::string::npos) << s.hint();
  EXPECT_TRUE(api_->log.empty());
}

TEST_F(PowerDnsProviderTest, WrongKeyNamesStatusUrlAndHintButNotTheKey) {
  PowerDnsProvider& p = Make("", "wrong-key-value");
  Status s = p.Present("_acme-challenge.example.com.", "v");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(s.message().find("HTTP 401: Unauthorized"), std::string::npos) << s.message();
  EXPECT_NE(s.where().find("http://127.0.0.1:8081/api/v1/servers/localhost/zones"),
            std::string::npos)
      << s.where();
  EXPECT_NE(s.hint().find("api_key_file"), std::string::npos) << s.hint();
  EXPECT_EQ(s.ToUserString().find("wrong-key-value"), std::string::npos);
}

TEST_F(PowerDnsProviderTest, PowerDnsErrorFieldIsShownWithAZoneHint) {
  PowerDnsProvider& p = Make("example.com.");
  api_->force_status = 422;
  api_->force_body = R"({"error": "RRset x.example.com. IN TXT: Name is out of zone\n\u001b[31m"})";
  Status s = p.Present("_acme-challenge.example.com.", "v");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("HTTP 422: RRset x.example.com. IN TXT: Name is out of zone"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find('\x1b'), std::string::npos) << "server text reaches no terminal raw";
  EXPECT_NE(s.hint().find("zone"), std::string::npos) << s.hint();
}

TEST_F(PowerDnsProviderTest, FieldsOfTheWrongTypeReadAsAbsent) {
  PowerDnsProvider& p = Make("example.com.");
  api_->force_status = 200;
  api_->force_body = R"({"rrsets": [
      {"name": "_acme-challenge.example.com.", "type": "TXT", "ttl": "soon",
       "records": [{"content": "\"v\"", "disabled": "no"}, {"content": 5}, 7]},
      {"name": 1, "type": 5}, "junk"]})";
  Status s = p.Present("_acme-challenge.example.com.", "v");
  EXPECT_TRUE(s.ok()) << s.ToUserString();
  EXPECT_EQ(api_->Count("PATCH"), 0u) << "\"v\" is there (its odd disabled flag reads as false)";
  api_->force_body = R"({"daemon_type": 1})";
  EXPECT_EQ(p.Check().code(), ErrorCode::kProtocol);
  PowerDnsProvider& q = Make();
  api_->force_status = 200;
  api_->force_body = R"([{"name": 3, "id": null}])";
  EXPECT_FALSE(q.ZoneFor("_acme-challenge.example.com.").ok());
}

TEST_F(PowerDnsProviderTest, CheckChangesNothing) {
  PowerDnsProvider& p = Make("example.com.");
  Status s = p.Check();
  ASSERT_TRUE(s.ok()) << s.ToUserString();
  EXPECT_EQ(api_->log, (std::vector<std::string>{"GET ", "GET /zones?zone=example.com."}));
}

TEST_F(PowerDnsProviderTest, CheckReportsAZoneTheServerLacks) {
  PowerDnsProvider& p = Make("missing.example.");
  Status s = p.Check();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no zone missing.example."), std::string::npos) << s.message();
  EXPECT_EQ(api_->Count("PATCH"), 0u);
}

TEST_F(PowerDnsProviderTest, CheckReportsARejectedKey) {
  PowerDnsProvider& p = Make("", "nope");
  Status s = p.Check();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied);
}

struct TxtRow {
  const char* meaning;
  std::string value;
  std::string presentation;
};

TEST(TxtPresentationTest, Table) {
  const std::vector<TxtRow> rows = {
      {"base64url digest as is", "abc-_XYZ09", "\"abc-_XYZ09\""},
      {"quote escaped", "a\"b", "\"a\\\"b\""},
      {"backslash escaped", "a\\b", "\"a\\\\b\""},
      {"space kept inside quotes", "a b", "\"a b\""},
      {"control byte as DDD", std::string("a\nb"), "\"a\\010b\""},
      {"high byte as DDD", std::string("\xff"), "\"\\255\""},
      {"empty value", "", "\"\""},
      {"256 octets split after 255", std::string(256, 'x'),
       "\"" + std::string(255, 'x') + "\" \"x\""},
  };
  for (const TxtRow& row : rows) {
    EXPECT_EQ(TxtPresentation(row.value), row.presentation) << row.meaning;
    Result<std::string> back = ParseTxtPresentation(row.presentation);
    ASSERT_TRUE(back.ok()) << row.meaning;
    EXPECT_EQ(*back, row.value) << row.meaning << ": round trip";
  }
}

TEST(TxtPresentationTest, ParsesWhatPowerDnsStores) {
  struct Row {
    const char* meaning;
    const char* content;
    std::optional<std::string> value;
  };
  const std::vector<Row> rows = {
      {"strings are joined", "\"ab\" \"cd\"", "abcd"},
      {"bare word", "plain", "plain"},
      {"DDD escape", "\"\\065\"", "A"},
      {"unterminated", "\"abc", std::nullopt},
      {"short DDD", "\"\\06\"", std::nullopt},
      {"DDD above 255", "\"\\300\"", std::nullopt},
      {"trailing backslash", "\"abc\\", std::nullopt},
  };
  for (const Row& row : rows) {
    Result<std::string> v = ParseTxtPresentation(row.content);
    EXPECT_EQ(v.ok(), row.value.has_value()) << row.meaning;
    if (v.ok() && row.value) {
      EXPECT_EQ(*v, *row.value) << row.meaning;
    }
  }
}

TEST(PowerDnsUrlTest, Table) {
  struct Row {
    const char* meaning;
    const char* url;
    std::optional<std::string> normalized;
  };
  const std::vector<Row> rows = {
      {"loopback http", "http://127.0.0.1:8081", "http://127.0.0.1:8081"},
      {"trailing slash dropped", "http://127.0.0.1:8081/", "http://127.0.0.1:8081"},
      {"api/v1 suffix dropped", "http://localhost:8081/api/v1/", "http://localhost:8081"},
      {"ipv6 loopback", "http://[::1]:8081", "http://[::1]:8081"},
      {"https anywhere, path prefix kept", "HTTPS://DNS.example.com/pdns",
       "https://dns.example.com/pdns"},
      {"plain http to another host refused", "http://192.0.2.10:8081", std::nullopt},
      {"http to a lookalike of localhost refused", "http://127.0.0.1.example.com", std::nullopt},
      {"other scheme", "ftp://127.0.0.1", std::nullopt},
      {"user info", "https://admin@dns.example.com", std::nullopt},
      {"query", "https://dns.example.com/?x=1", std::nullopt},
      {"bad port", "http://127.0.0.1:99999", std::nullopt},
      {"no host", "https://", std::nullopt},
      {"space", "http://127.0.0.1 :8081", std::nullopt},
  };
  for (const Row& row : rows) {
    Result<std::string> n = NormalizePowerDnsUrl(row.url);
    EXPECT_EQ(n.ok(), row.normalized.has_value()) << row.meaning << ": " << n.status().ToString();
    if (n.ok() && row.normalized) {
      EXPECT_EQ(*n, *row.normalized) << row.meaning;
    }
  }
}

class PowerDnsConfigTest : public ::testing::Test {
 protected:
  Dns01Config Config() {
    Dns01Config c;
    c.provider = "powerdns";
    c.options = {{"api_url", "http://127.0.0.1:8081"}, {"api_key_file", KeyFile("key\n", 0600)}};
    return c;
  }
  std::string KeyFile(const std::string& text, int mode) {
    std::string path = dir_.path() + "/key" + std::to_string(files_++);
    EXPECT_TRUE(fs::WriteFileAtomic(path, text, fs::WriteOptions{static_cast<mode_t>(mode), {}, {}})
                    .ok());
    return path;
  }
  Status Make(const Dns01Config& c, std::vector<std::string>* warnings = nullptr) {
    dns::NetDnsClient client;
    auto p = MakeDnsProvider(c, &client, RealClock(), warnings);
    if (p.ok()) {
      EXPECT_EQ((*p)->name(), "powerdns");
    }
    return p.status();
  }
  fs::TempDir dir_;
  int files_ = 0;
};

TEST_F(PowerDnsConfigTest, ValidConfigBuildsWithoutNetwork) {
  std::vector<std::string> warnings;
  Dns01Config c = Config();
  c.options["zone"] = "Example.COM";
  c.options["ttl"] = "120";
  c.options["timeout"] = "5s";
  c.options["server_id"] = "localhost";
  Status s = Make(c, &warnings);
  EXPECT_TRUE(s.ok()) << s.ToUserString();
  EXPECT_TRUE(warnings.empty());
}

TEST_F(PowerDnsConfigTest, BadConfigsNameTheKey) {
  struct Row {
    const char* meaning;
    std::string key;
    std::optional<std::string> value;  // nullopt: remove the key
    std::string expect;                // in the message
  };
  const std::vector<Row> rows = {
      {"unknown key", "api_key", "inline-secret", "api_key: unknown key"},
      {"missing api_url", "api_url", std::nullopt, "api_url: required"},
      {"missing api_key_file", "api_key_file", std::nullopt, "api_key_file: required"},
      {"key file absent", "api_key_file", "/nonexistent/pdns.key", "does not exist"},
      {"bad url", "api_url", "127.0.0.1:8081", "must start with http:// or https://"},
      {"remote plain http", "api_url", "http://dns.example.com:8081", "unencrypted"},
      {"bad server id", "server_id", "a/b", "server_id"},
      {"bad ttl", "ttl", "1m", "ttl"},
      {"bad timeout", "timeout", "soon", "timeout"},
      {"ca_file absent", "ca_file", "/nonexistent/ca.pem", "ca_file"},
  };
  for (const Row& row : rows) {
    Dns01Config c = Config();
    if (row.value) {
      c.options[row.key] = *row.value;
    } else {
      c.options.erase(row.key);
    }
    Status s = Make(c);
    ASSERT_FALSE(s.ok()) << row.meaning;
    EXPECT_EQ(s.code() == ErrorCode::kInvalidArgument || s.code() == ErrorCode::kNotFound, true)
        << row.meaning;
    EXPECT_NE(s.message().find(row.expect), std::string::npos) << row.meaning << ": " << s.message();
    EXPECT_FALSE(s.hint().empty()) << row.meaning;
  }
}

TEST_F(PowerDnsConfigTest, KeyFileContentIsChecked) {
  Dns01Config c = Config();
  c.options["api_key_file"] = KeyFile("\n  \n", 0600);
  EXPECT_NE(Make(c).message().find("empty"), std::string::npos);
  c.options["api_key_file"] = KeyFile("two\nlines\n", 0600);
  Status s = Make(c);
  EXPECT_NE(s.message().find("printable"), std::string::npos) << s.message();
  EXPECT_EQ(s.ToUserString().find("lines"), std::string::npos) << "the key is not echoed";
}

TEST_F(PowerDnsConfigTest, ReadableKeyFileWarns) {
  Dns01Config c = Config();
  c.options["api_key_file"] = KeyFile("key\n", 0644);
  std::vector<std::string> warnings;
  ASSERT_TRUE(Make(c, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("chmod 600"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace certkeeper::challenges
