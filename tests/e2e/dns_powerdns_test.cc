// DNS-01 through a real PowerDNS Authoritative Server (pebble-testenv --with
// pdns: gsqlite3 backend, HTTP API with a generated key, Pebble asking pdns):
//  - provider = "powerdns" issues a wildcard and its base name, keeps a value
//    someone else put at the same name, and leaves none of its own behind;
//  - a wrong API key is reported with the status, the URL and a hint;
//  - the exec example of docs/dns-plugins.md (docs/examples/dns-pdns-exec.sh)
//    issues against the same API, so the documented script cannot rot.
#include <gtest/gtest.h>

#include <set>

#include "challenges/dns_provider_powerdns.h"
#include "tests/e2e/dns_server_suite.h"

namespace certkeeper::failover {
namespace {

class DnsPowerDnsTest : public DnsServerSuite {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.pdns = true;
    StartEnv(options, "pdns");
  }

  static std::string Zone() {
    std::string zone = env_->Get("PDNS_ZONE");  // "pdns.test."
    if (!zone.empty()) zone.pop_back();
    return zone;
  }
  static std::string Solver(const std::string& key_file) {
    return "[solvers.dns-01]\nprovider = \"powerdns\"\napi_url = " +
           Quoted(env_->Get("PDNS_API_URL")) + "\napi_key_file = " + Quoted(key_file) +
           "\nresolver = " + Quoted(env_->Get("PDNS_SERVER")) +
           "\npropagation_timeout = \"20s\"\ntimeout = \"5s\"\n";
  }

  // TXT values at name as pdns itself answers them.
  static std::set<std::string> TxtAtPdns(const std::string& name) {
    return TxtAt(env_->Get("PDNS_SERVER"), name);
  }
};

TEST_F(DnsPowerDnsTest, ProviderIssuesWildcardAndBaseAndKeepsOthersValues) {
  const std::string base = "api." + Zone();
  const std::string record = "_acme-challenge." + base + ".";
  // A value that is not certkeeper's, written through the same API.
  challenges::Dns01Config c;
  c.provider = "powerdns";
  c.options = {{"api_url", env_->Get("PDNS_API_URL")},
               {"api_key_file", env_->Get("PDNS_API_KEY_FILE")}};
  challenges::dns::NetDnsClient client;
  auto other = challenges::MakeDnsProvider(c, &client, RealClock(), nullptr);
  ASSERT_TRUE(other.ok()) << other.status().ToUserString();
  Status checked = (*other)->Check();
  ASSERT_TRUE(checked.ok()) << checked.ToUserString();
  ASSERT_TRUE((*other)->Present(record, "someone-elses-value").ok());

  Session session(env_);
  session.WriteConfig(Solver(env_->Get("PDNS_API_KEY_FILE")));
  const std::vector<std::string> domains = {base, "*." + base};
  CommandResult r = session.Issue("pdns", domains, "dns-01");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectIssuedWithDns01(session, "pdns", domains);
  EXPECT_EQ(TxtAtPdns(record), (std::set<std::string>{"someone-elses-value"}));

  ASSERT_TRUE((*other)->CleanUp(record, "someone-elses-value").ok());
  EXPECT_TRUE(TxtAtPdns(record).empty());
}

TEST_F(DnsPowerDnsTest, WrongApiKeyIsReportedWithStatusUrlAndHint) {
  Session session(env_);
  const std::string key_file = session.dir() + "/wrong.key";
  const std::string wrong_key = "not-the-pdns-api-key-4711";
  ASSERT_TRUE(fs::WritePrivateFile(key_file, wrong_key + "\n").ok());
  session.WriteConfig(Solver(key_file));
  const std::string base = "wrongkey." + Zone();
  CommandResult r = session.Issue("wrongkey", {base}, "dns-01");
  ASSERT_NE(r.exit_code, 0) << r.out;
  const std::string output = r.out + r.err;
  EXPECT_NE(output.find("HTTP 401"), std::string::npos) << output;
  EXPECT_NE(output.find(env_->Get("PDNS_API_URL") + "/api/v1/servers/localhost"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("api_key_file"), std::string::npos) << output;
  EXPECT_EQ(output.find(wrong_key), std::string::npos) << "the key never shows: " << output;
  EXPECT_TRUE(TxtAtPdns("_acme-challenge." + base + ".").empty());
}

TEST_F(DnsPowerDnsTest, CheckAndZoneLookupAgainstTheRealServer) {
  challenges::Dns01Config c;
  c.provider = "powerdns";
  c.options = {{"api_url", env_->Get("PDNS_API_URL") + "/api/v1/"},
               {"api_key_file", env_->Get("PDNS_API_KEY_FILE")}};
  challenges::dns::NetDnsClient client;
  auto found = challenges::MakeDnsProvider(c, &client, RealClock(), nullptr);
  ASSERT_TRUE(found.ok()) << found.status().ToUserString();
  auto* powerdns = dynamic_cast<challenges::PowerDnsProvider*>(found->get());
  ASSERT_NE(powerdns, nullptr);
  Result<std::string> zone = powerdns->ZoneFor("_acme-challenge.deep.er." + env_->Get("PDNS_ZONE"));
  ASSERT_TRUE(zone.ok()) << zone.status().ToUserString();
  EXPECT_EQ(*zone, env_->Get("PDNS_ZONE"));

  c.options["zone"] = "not-served.example";
  auto missing = challenges::MakeDnsProvider(c, &client, RealClock(), nullptr);
  ASSERT_TRUE(missing.ok());
  Status s = (*missing)->Check();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no zone not-served.example."), std::string::npos) << s.message();

  // PowerDNS's own 404 for a server id it does not have.
  c.options.erase("zone");
  c.options["server_id"] = "no-such-server";
  auto bad_id = challenges::MakeDnsProvider(c, &client, RealClock(), nullptr);
  ASSERT_TRUE(bad_id.ok());
  s = (*bad_id)->Check();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("HTTP 404"), std::string::npos) << s.ToUserString();
  EXPECT_NE(s.hint().find("server_id"), std::string::npos) << s.hint();
}

// The script's lines without its comment lines.
std::string CodeOf(const std::string& script) {
  std::string out;
  size_t pos = 0;
  while (pos < script.size()) {
    size_t end = script.find('\n', pos);
    if (end == std::string::npos) end = script.size();
    std::string line = script.substr(pos, end - pos);
    if (line.rfind("#", 0) != 0) out += line + "\n";
    pos = end + 1;
  }
  return out;
}

TEST_F(DnsPowerDnsTest, DocumentedExecScriptIssuesAndCleansUp) {
  const std::string script = std::string(CERTKEEPER_SOURCE_DIR) + "/docs/examples/dns-pdns-exec.sh";
  // The listing in docs/dns-plugins.md is this file (its comments aside).
  auto text = fs::ReadFile(script);
  auto doc = fs::ReadFile(std::string(CERTKEEPER_SOURCE_DIR) + "/docs/dns-plugins.md");
  ASSERT_TRUE(text.ok() && doc.ok());
  const std::string opening = "```sh\n#!/bin/sh\n";
  size_t start = doc->find(opening);
  ASSERT_NE(start, std::string::npos);
  start += opening.size();
  size_t end = doc->find("```", start);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(doc->substr(start, end - start), CodeOf(*text))
      << "docs/dns-plugins.md shows another script than docs/examples/dns-pdns-exec.sh";

  Session session(env_);
  session.WriteConfig("[solvers.dns-01]\nprovider = \"exec\"\ncommand = [" + Quoted(script) +
                      ", " + Quoted(env_->Get("PDNS_API_URL")) + ", " +
                      Quoted(env_->Get("PDNS_API_KEY_FILE")) + ", " +
                      Quoted(env_->Get("PDNS_ZONE")) + "]\nresolver = " +
                      Quoted(env_->Get("PDNS_SERVER")) +
                      "\npropagation_timeout = \"20s\"\ntimeout = \"20s\"\n");
  const std::string base = "shell." + Zone();
  const std::vector<std::string> domains = {base, "*." + base};
  CommandResult r = session.Issue("shell", domains, "dns-01");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectIssuedWithDns01(session, "shell", domains);
  EXPECT_TRUE(TxtAtPdns("_acme-challenge." + base + ".").empty());
}

}  // namespace
}  // namespace certkeeper::failover
