// Solvers that work through real servers of the test environment: HTTP-01 by a
// webroot that the environment's nginx serves on Pebble's HTTP-01 port, and
// DNS-01 by RFC 2136 UPDATEs (TSIG-signed) to Knot, which Pebble then queries.
// Each leaves nothing behind: no token file in the webroot (also when the CA
// rejected the validation and dns-01 took over), no TXT at Knot.
#include <gtest/gtest.h>

#include "tests/e2e/failover_session.h"

namespace certkeeper::failover {
namespace {

void ExpectIssuedThrough(Session& session, const std::string& name,
                         const std::vector<std::string>& domains, const std::string& type) {
  session.ExpectValidLive(name, domains);
  json attempt = session.LastAttempt(name);
  EXPECT_EQ(attempt["outcome"], "success") << attempt.dump(2);
  for (const std::string& d : domains) {
    EXPECT_EQ(Steps(attempt, "validation", type, d, "ok").size(), 1u) << d << attempt.dump(2);
  }
  EXPECT_TRUE(Steps(attempt, "", "", "", "failed").empty()) << attempt.dump(2);
}

TEST(FailoverNginxTest, Http01WebrootServedByNginxIssuesAndRemovesTokens) {
  testing::TestEnvOptions options;
  options.nginx = true;
  std::unique_ptr<TestEnv> env = TestEnv::Start(options);
  ASSERT_NE(env, nullptr);
  const std::string webroot = env->Get("NGINX_WEBROOT");
  Session session(env.get());
  session.WriteConfig("[solvers.http-01]\nwebroot = " + Quoted(webroot) + "\n");
  const std::vector<std::string> domains = {"webroot.example.com", "www.webroot.example.com"};
  CommandResult r = session.Issue("webroot", domains, "http-01");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectIssuedThrough(session, "webroot", domains, "http-01");
  EXPECT_TRUE(FilesUnder(webroot + "/.well-known/acme-challenge").empty());

  // The webroot solver holds no port: nginx still serves it afterwards.
  CommandResult again = session.Issue("webroot", domains, "http-01");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(FilesUnder(webroot + "/.well-known/acme-challenge").empty());
  json show = session.Json({"show", "webroot"});
  EXPECT_EQ(show["versions"].size(), 2u) << show.dump(2);

  // A name whose A record leads nowhere: Pebble rejects http-01, the token
  // file is removed all the same, and dns-01 takes over on a new order.
  const std::string away = "away.webroot.example.com";
  env->ChalltestsrvPost("/add-a", json{{"host", away}, {"addresses", {"127.0.0.3"}}}.dump());
  session.WriteConfig("[solvers.http-01]\nwebroot = " + Quoted(webroot) + "\n" +
                      ChalltestsrvDns(*env, env->Get("CHALLTESTSRV_URL")));
  CommandResult moved = session.Issue("away", {away}, "http-01,dns-01");
  env->ChalltestsrvPost("/clear-a", json{{"host", away}}.dump());
  ASSERT_EQ(moved.exit_code, 0) << moved.out << moved.err;
  json attempt = session.LastAttempt("away");
  EXPECT_EQ(Steps(attempt, "validation", "http-01", away, "failed").size(), 1u)
      << attempt.dump(2);
  EXPECT_EQ(Steps(attempt, "validation", "dns-01", away, "ok").size(), 1u) << attempt.dump(2);
  EXPECT_TRUE(FilesUnder(webroot + "/.well-known/acme-challenge").empty());
  EXPECT_TRUE(ChalltestsrvTxt(*env, away).empty());
}

TEST(FailoverKnotTest, Dns01Rfc2136ToKnotIssuesAndRemovesTheRecord) {
  testing::TestEnvOptions options;
  options.knot = true;
  std::unique_ptr<TestEnv> env = TestEnv::Start(options);
  ASSERT_NE(env, nullptr);
  std::string zone = env->Get("KNOT_ZONE");  // "knot.test."
  ASSERT_FALSE(zone.empty());
  zone.pop_back();
  Session session(env.get());
  session.WriteConfig("[solvers.dns-01]\nprovider = \"rfc2136\"\nnameserver = " +
                      Quoted(env->Get("KNOT_SERVER")) + "\ntsig_key_name = " +
                      Quoted(env->Get("KNOT_TSIG_NAME")) + "\ntsig_algorithm = " +
                      Quoted(env->Get("KNOT_TSIG_ALGORITHM")) + "\ntsig_secret_file = " +
                      Quoted(env->Get("KNOT_TSIG_SECRET_FILE")) + "\nresolver = " +
                      Quoted(env->Get("KNOT_SERVER")) + "\npropagation_timeout = \"20s\"\n");
  const std::string base = "rfc." + zone;
  const std::vector<std::string> domains = {base, "*." + base};
  CommandResult r = session.Issue("knot", domains, "dns-01");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectIssuedThrough(session, "knot", domains, "dns-01");

  challenges::dns::NetDnsClient client;
  challenges::dns::DnsLookup lookup(&client, std::chrono::milliseconds(3000));
  auto server = challenges::dns::ParseServerAddress(env->Get("KNOT_SERVER"));
  ASSERT_TRUE(server.ok());
  auto values = lookup.TxtValues(*server, "_acme-challenge." + base + ".", false);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_TRUE(values->empty());
}

}  // namespace
}  // namespace certkeeper::failover
