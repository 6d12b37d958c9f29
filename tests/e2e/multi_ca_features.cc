// Today's CA features against real Pebbles (part of e2e_multi_ca_test, in the
// environment multi_ca_test.cc starts): external account binding missing or
// wrong, IP address certificates (RFC 8738) over http-01 and tls-alpn-01, the
// preferred chain among Pebble's alternate roots, a revoked certificate being
// due, a six-hour certificate renewing at half its lifetime, and profiles that
// the fault proxy adds to the directory (Pebble 2.4 has none).
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/encoding.h"
#include "base/fs.h"
#include "tests/e2e/multi_ca_support.h"
#include "tests/e2e/raw_acme.h"

namespace certkeeper::multi_ca {
namespace {

using std::chrono::seconds;

::testing::AssertionResult ContainsNoCase(const std::string& haystack, const std::string& needle) {
  std::string h = haystack, n = needle;
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h.find(n) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << needle << "' not in: " << haystack;
}

// Time points from the RFC 3339 strings of --json output.
TimePoint At(const json& value) {
  if (!value.is_string()) return TimePoint();
  auto t = ParseRfc3339(value.get<std::string>());
  return t.ok() ? *t : TimePoint();
}

using MultiCaFeaturesTest = MultiCaTest;

// The premise of the profile tests below: Pebble 2.4 does not know profiles,
// and issues for a newOrder that names one as if it named none (Go's
// encoding/json ignores members it does not know).
TEST_F(MultiCaFeaturesTest, PebbleAcceptsANewOrderWithAProfileMember) {
  raw_acme::Session session(env_->Get("ACME_DIRECTORY_URL"), env_->Get("ACME_CA_BUNDLE"));
  raw_acme::Answer account = session.NewAccount();
  ASSERT_EQ(account.status, 201) << account.body.dump() << account.error;
  json order = {{"identifiers", {{{"type", "dns"}, {"value", "profile.example.com"}}}},
                {"profile", "shortlived"}};
  raw_acme::Answer created = session.Post(session.Url("newOrder"), order.dump());
  EXPECT_EQ(created.status, 201) << created.body.dump() << created.error;
  EXPECT_EQ(created.body.value("status", ""), "pending") << created.body.dump();
}

// The proxy's profile rules add meta.profiles to the directory and change
// nothing else (URLs point at the proxy, as for every proxied answer).
TEST_F(MultiCaFeaturesTest, ProxyAddsProfilesToTheDirectoryAndNothingElse) {
  raw_acme::Session direct(env_->Get("ACME_DIRECTORY_URL"), env_->Get("ACME_CA_BUNDLE"));
  primary_proxy_->SetFaults(
      "# two profiles\nprofile classic The default profile\n"
      "profile shortlived  Certificates for six hours \n");
  raw_acme::Session proxied(primary_proxy_->url(), env_->Get("ACME_CA_BUNDLE"));
  json with = proxied.directory();
  ASSERT_TRUE(with.is_object());
  EXPECT_EQ(with["meta"]["profiles"],
            json({{"classic", "The default profile"}, {"shortlived", "Certificates for six hours"}}));
  with["meta"].erase("profiles");
  std::string expected = direct.directory().dump();
  const std::string upstream = "127.0.0.1:" + env_->Get("PEBBLE_PORT");
  const std::string own = "127.0.0.1:" + std::to_string(primary_proxy_->port());
  for (size_t at = expected.find(upstream); at != std::string::npos;
       at = expected.find(upstream, at + own.size())) {
    expected.replace(at, upstream.size(), own);
  }
  EXPECT_EQ(with.dump(), expected);

  primary_proxy_->SetFaults("");
  EXPECT_FALSE(raw_acme::Session(primary_proxy_->url(), env_->Get("ACME_CA_BUNDLE"))
                   .directory()["meta"]
                   .contains("profiles"));
}

TEST_F(MultiCaFeaturesTest, MissingEabIsAClearErrorNamingTheCa) {
  CaBlock backup = Backup();
  backup.eab_kid.clear();
  backup.eab_hmac_file.clear();
  CertBlock web{.name = "web", .domains = {"noeab.example.com"}, .cas = {"backup"}};
  Configure({backup}, {web});
  CommandResult r = Issue(web);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(ContainsNoCase(r.err, "backup"));
  EXPECT_TRUE(ContainsNoCase(r.err, "external account"));
  EXPECT_TRUE(ContainsNoCase(r.err, "eab")) << "the error should say what to configure (eab_kid)";
  EXPECT_FALSE(fs::Exists(LivePath("web", "cert.pem")));
  EXPECT_EQ(backup_proxy_->Count("POST", "newOrder"), 0);
}

TEST_F(MultiCaFeaturesTest, WrongEabKeyIsAClearErrorNamingTheCa) {
  std::string wrong_key = dir_.path() + "/wrong-eab.key";
  // Well-formed, 256 bits, but not the key the CA holds for this kid.
  ASSERT_TRUE(fs::WritePrivateFile(wrong_key, Base64UrlEncode(std::string(32, 'w'))).ok());
  CaBlock backup = Backup();
  backup.eab_hmac_file = wrong_key;
  CertBlock web{.name = "web", .domains = {"wrongeab.example.com"}, .cas = {"backup"}};
  Configure({backup}, {web});
  CommandResult r = Issue(web);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(ContainsNoCase(r.err, "backup"));
  EXPECT_TRUE(ContainsNoCase(r.err, "external account")) << "the refusal should name the binding";
  EXPECT_FALSE(fs::Exists(LivePath("web", "cert.pem")));
  EXPECT_EQ(backup_proxy_->Count("POST", "newAccount"), 1);
  EXPECT_EQ(backup_proxy_->Count("POST", "newOrder"), 0);
}

// RFC 8738: an IP address identifier, validated over http-01 and over
// tls-alpn-01 (SNI is the reverse-DNS name, §6), with an IP Address SAN.
TEST_F(MultiCaFeaturesTest, IpAddressCertificateOverHttp01AndTlsAlpn01) {
  for (const char* challenge : {"http-01", "tls-alpn-01"}) {
    SCOPED_TRACE(challenge);
    std::string name = std::string("ip-") + (challenge[0] == 'h' ? "http" : "alpn");
    CertBlock ip{.name = name, .domains = {"127.0.0.1"}, .cas = {"primary"},
                 .challenges = {challenge}};
    // A state directory (and so an account) per round: Pebble reuses an
    // account's valid authorizations, which would skip the second validation.
    state_ = dir_.path() + "/state-" + name;
    Configure({Primary()}, {ip});
    CommandResult r = Issue(ip);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string sans = SubjectAltNames(LivePath(name, "cert.pem"));
    EXPECT_TRUE(ContainsNoCase(sans, "IP Address:127.0.0.1")) << sans;
    EXPECT_FALSE(ContainsNoCase(sans, "DNS:")) << sans;
    json history = RunJson({"history", name});
    ASSERT_TRUE(history.is_array() && !history.empty());
    EXPECT_EQ(history[0].value("outcome", ""), "success");
    bool validated = false;
    for (const auto& s : history[0]["steps"]) {
      // "challenge" is null on steps of no challenge type.
      if (s["challenge"].is_string() && s["challenge"] == challenge && s["result"] == "ok") {
        validated = true;
      }
    }
    EXPECT_TRUE(validated) << history[0].dump(2);
  }
}

// Pebble with PEBBLE_ALTERNATE_ROOTS=1 offers a second chain (Link
// rel="alternate", RFC 8555 §7.4.2) to another root with the same intermediate
// name: preferred_chain picks it by the issuer of the top certificate; a name
// no chain has falls back to the default chain.
TEST_F(MultiCaFeaturesTest, PreferredChainSelectsTheAlternateRoot) {
  std::vector<std::string> roots = SplitBars(env_->Get("PEBBLE_ROOT_NAMES"));
  ASSERT_EQ(roots.size(), 2u) << env_->Get("PEBBLE_ROOT_NAMES");
  CertBlock web{.name = "web", .domains = {"chain.example.com"}, .cas = {"primary"}};

  Configure({Primary()}, {web});
  ASSERT_EQ(Issue(web).exit_code, 0);
  EXPECT_EQ(IssuerOfTopCertificate(LivePath("web", "chain.pem")), roots[0]);

  CaBlock alternate = Primary();
  alternate.preferred_chain = roots[1];
  Configure({alternate}, {web});
  CommandResult r = Run({"renew", "--force", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(IssuerOfTopCertificate(LivePath("web", "chain.pem")), roots[1]);
  Status verified = VerifyChain(ReadText(LivePath("web", "cert.pem")),
                                ReadText(LivePath("web", "chain.pem")),
                                ReadText(env_->Get("PEBBLE_ROOTS_PEM")), RealClock()->Now());
  EXPECT_TRUE(verified.ok()) << verified.ToString();

  CaBlock unknown = Primary();
  unknown.preferred_chain = "No Such Root CA";
  Configure({unknown}, {web});
  r = Run({"renew", "--force", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(IssuerOfTopCertificate(LivePath("web", "chain.pem")), roots[0]);
}

TEST_F(MultiCaFeaturesTest, RevokedCertificateIsDue) {
  CertBlock web{.name = "web", .domains = {"revoked.example.com"}, .cas = {"primary", "backup"}};
  Configure({Primary(), Backup()}, {web});
  ASSERT_EQ(Issue(web).exit_code, 0);
  CommandResult revoked = Run({"revoke", "web", "--reason", "keyCompromise"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.out << revoked.err;

  json list = RunJson({"list"});
  ASSERT_TRUE(list.is_array() && list.size() == 1u) << list.dump();
  EXPECT_NE(list[0].value("status", ""), "pending") << list[0].dump(2);
  EXPECT_TRUE(ContainsNoCase(list[0].value("next_attempt_reason", ""), "revoked")) << list[0].dump(2);
  EXPECT_LE(At(list[0]["next_attempt"]), RealClock()->Now() + seconds(5)) << list[0].dump(2);

  json plan = RunJson({"renew", "--all", "--dry-run"});
  ASSERT_TRUE(plan.is_array() && plan.size() == 1u) << plan.dump();
  EXPECT_EQ(plan[0].value("decision", ""), "due") << plan[0].dump(2);
  EXPECT_TRUE(ContainsNoCase(plan[0].value("reason", ""), "revoked")) << plan[0].dump(2);

  CommandResult renewed = Run({"renew", "--all"});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.out << renewed.err;
  json shown = RunJson({"show", "web"});
  EXPECT_EQ(shown.value("status", ""), "valid") << shown.dump(2);
}

// A six-hour certificate (the second Pebble's certificateValidityPeriod) is
// healthy right after issuance and becomes due at half its lifetime, not at the
// fixed margin that suits 90-day certificates.
TEST_F(MultiCaFeaturesTest, ShortLivedCertificateRenewsAtHalfItsLifetime) {
  CertBlock web{.name = "web", .domains = {"shortlived.example.com"}, .cas = {"backup"}};
  Configure({Backup()}, {web});
  ASSERT_EQ(Issue(web).exit_code, 0);
  auto info = ParseCertificatePem(ReadText(LivePath("web", "cert.pem")));
  ASSERT_TRUE(info.ok());
  auto lifetime = info->not_after - info->not_before;
  EXPECT_NEAR(std::chrono::duration_cast<seconds>(lifetime).count(), kShortLifetimeSeconds, 5);

  json list = RunJson({"list"});
  ASSERT_TRUE(list.is_array() && list.size() == 1u) << list.dump();
  TimePoint next = At(list[0]["next_attempt"]);
  TimePoint half = info->not_before + lifetime / 2;
  // Renewal times are spread by up to 2% of the lifetime, earlier only
  // (lifecycle/due.h kMaxJitterFractionOfLifetime).
  const auto spread = lifetime / 50 + seconds(60);
  EXPECT_LE(next, half + seconds(60)) << list[0].dump(2);
  EXPECT_GE(next, half - spread) << list[0].dump(2);

  json plan = RunJson({"renew", "--all", "--dry-run"});
  ASSERT_TRUE(plan.is_array() && plan.size() == 1u) << plan.dump();
  EXPECT_EQ(plan[0].value("decision", ""), "not-due") << plan[0].dump(2);
  EXPECT_LE(At(plan[0]["until"]), half + seconds(60)) << plan[0].dump(2);
  EXPECT_GE(At(plan[0]["until"]), half - spread) << plan[0].dump(2);

  CommandResult check = Run({"check"});
  EXPECT_EQ(check.exit_code, 0) << "a fresh six-hour certificate is healthy:\n"
                                << check.out << check.err;
}

// Profiles come from the directory's meta.profiles (added by the proxy); the
// configured one is sent in newOrder and shown; an unknown one is refused
// before any order, with the list the CA offers.
TEST_F(MultiCaFeaturesTest, ProfileFromTheDirectoryIsSentInNewOrderAndShown) {
  primary_proxy_->SetFaults(
      "profile classic The default profile\nprofile shortlived Certificates for six hours\n");
  CaBlock primary = Primary();
  primary.profile = "shortlived";
  CertBlock web{.name = "web", .domains = {"profile.example.com"}, .cas = {"primary"}};
  Configure({primary}, {web});
  CommandResult r = Issue(web);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  bool sent = false;
  for (const auto& line : primary_proxy_->Requests()) {
    if (line.rfind("POST newOrder ", 0) == 0) {
      EXPECT_TRUE(ContainsNoCase(line, " profile=shortlived")) << line;
      sent = true;
    }
  }
  EXPECT_TRUE(sent);
  CommandResult show = Run({"show", "web"});
  EXPECT_TRUE(ContainsNoCase(show.out, "shortlived")) << show.out;
  EXPECT_TRUE(ContainsNoCase(RunJson({"show", "web"}).dump(), "shortlived"));
}

TEST_F(MultiCaFeaturesTest, UnknownProfileIsRefusedBeforeOrdering) {
  primary_proxy_->SetFaults(
      "profile classic The default profile\nprofile shortlived Certificates for six hours\n");
  CaBlock primary = Primary();
  primary.profile = "tlsserver";
  CertBlock web{.name = "web", .domains = {"noprofile.example.com"}, .cas = {"primary"}};
  Configure({primary}, {web});
  CommandResult r = Issue(web);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(ContainsNoCase(r.err, "tlsserver"));
  EXPECT_TRUE(ContainsNoCase(r.err, "classic"));
  EXPECT_TRUE(ContainsNoCase(r.err, "shortlived"));
  EXPECT_EQ(primary_proxy_->Count("POST", "newOrder"), 0);
}

}  // namespace
}  // namespace certkeeper::multi_ca
