// A user's first session with certkeeper against a real Pebble: issue, list,
// show, revoke, account management, and every kind of bad input changing nothing.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/fs.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/testenv.h"

namespace certkeeper {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::RunCertkeeper;
using testing::TestEnv;

class CliIssueTest : public e2e_support::CertkeeperSuite {
 protected:
  void SetUpTest() override { WriteConfig(""); }

  // A config for the test environment; `extra` is appended verbatim.
  void WriteConfig(const std::string& extra) {
    std::ofstream f(config_);
    f << "state_dir = \"" << state_ << "\"\n"
      << "[acme]\n"
      << "server = \"" << env_->Get("ACME_DIRECTORY_URL") << "\"\n"
      << "ca_bundle = \"" << env_->Get("ACME_CA_BUNDLE") << "\"\n"
      << "issuer_roots = \"" << env_->Get("PEBBLE_ROOT_PEM") << "\"\n"
      << "email = \"ops@example.com\"\n"
      << "agree_tos = true\n"
      << "[solvers.http-01]\n"
      << "listen = \"127.0.0.1:" << env_->Get("PEBBLE_HTTP_PORT") << "\"\n"
      << extra;
  }

  json RunJson(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  std::string Live(const std::string& name, const std::string& file) {
    return state_ + "/live/" + name + "/" + file;
  }

  // The live version's chain verifies to Pebble's root and its key matches.
  void ExpectValidLiveCertificate(const std::string& name,
                                  const std::vector<std::string>& domains) {
    auto cert = fs::ReadFile(Live(name, "cert.pem"));
    auto chain = fs::ReadFile(Live(name, "chain.pem"));
    auto fullchain = fs::ReadFile(Live(name, "fullchain.pem"));
    auto key_pem = fs::ReadFile(Live(name, "privkey.pem"));
    ASSERT_TRUE(cert.ok() && chain.ok() && fullchain.ok() && key_pem.ok());
    EXPECT_EQ(*fullchain, *cert + *chain);
    Status verified = VerifyChain(*cert, *chain, env_->PebbleRootPem(), RealClock()->Now());
    EXPECT_TRUE(verified.ok()) << verified.ToString();
    auto key = PrivateKey::FromPem(*key_pem);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_TRUE(KeyMatchesCertificate(*key, *cert).ok());
    auto info = ParseCertificatePem(*cert);
    ASSERT_TRUE(info.ok());
    for (const auto& d : domains) EXPECT_TRUE(CertificateCovers(*info, d)) << d;
    struct stat st;
    ASSERT_EQ(stat(Live(name, "privkey.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }

  bool NothingWrittenFor(const std::string& name) {
    return !fs::Exists(state_ + "/live/" + name) && !fs::Exists(state_ + "/archive/" + name);
  }
};

TEST_F(CliIssueTest, IssuesSingleDomainEc256AndListsIt) {
  CommandResult r = Run({"issue", "web", "-d", "single.example.com", "--challenge", "http-01"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectValidLiveCertificate("web", {"single.example.com"});
  auto key = PrivateKey::FromPem(*fs::ReadFile(Live("web", "privkey.pem")));
  EXPECT_EQ(key->type(), KeyType::kEc256);

  json list = RunJson({"list"});
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u);
  const json& c = list[0];
  EXPECT_EQ(c["name"], "web");
  EXPECT_EQ(c["domains"], json::array({"single.example.com"}));
  EXPECT_EQ(c["key_type"], "ec256");
  EXPECT_EQ(c["status"], "valid");
  auto info = ParseCertificatePem(*fs::ReadFile(Live("web", "cert.pem")));
  EXPECT_EQ(c["serial"], info->serial_hex);
  EXPECT_EQ(c["not_after"], FormatRfc3339(info->not_after));
  EXPECT_EQ(c["not_before"], FormatRfc3339(info->not_before));
  EXPECT_FALSE(c["issuer"].get<std::string>().empty());
  EXPECT_TRUE(c["next_attempt"].is_string());
  EXPECT_EQ(c["last_attempt"]["outcome"], "success");
  EXPECT_EQ(c["last_attempt"]["challenge"], "http-01");

  json show = RunJson({"show", "web"});
  ASSERT_EQ(show["versions"].size(), 1u);
  EXPECT_EQ(show["versions"][0]["state"], "deployed");
  EXPECT_TRUE(fs::Exists(state_ + "/archive/web/1/fullchain.pem"));

  json history = RunJson({"history", "web"});
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["outcome"], "success");
  EXPECT_EQ(history[0]["server"], env_->Get("ACME_DIRECTORY_URL"));
  bool validated = false;
  for (const auto& s : history[0]["steps"]) {
    if (s["challenge"] == "http-01" && s["result"] == "ok" &&
        s["identifier"] == "single.example.com") {
      validated = true;
    }
  }
  EXPECT_TRUE(validated) << history.dump(2);
}

// The standalone solver sees Pebble's validation requests, and the finalize
// goes out once they have stopped, before any authorization poll: the
// authorizations are polled only when Pebble answers orderNotReady (it had
// not recorded its decision yet; how often depends on the machine's load:
// bench/issue_bench prints it).
TEST_F(CliIssueTest, TheFinalizeFollowsTheCasFetchesWithoutAnAuthorizationPoll) {
  CommandResult r = Run({"--json", "-v", "issue", "polled", "-d", "polled.example.com",
                         "--challenge", "http-01"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  int fetched_lines = 0;
  int finalizes = 0;
  int polls_before_finalize = 0;
  size_t pos = 0;
  while (pos < r.err.size()) {
    size_t end = r.err.find('\n', pos);
    if (end == std::string::npos) end = r.err.size();
    json line = json::parse(r.err.substr(pos, end - pos), nullptr, false);
    pos = end + 1;
    if (!line.is_object()) continue;
    if (line.value("msg", "") == "http-01 answer fetched") {
      ++fetched_lines;
      EXPECT_EQ(line.value("identifier", ""), "polled.example.com");
      EXPECT_EQ(line.value("timed_out", ""), "false") << line.dump();
      // Pebble validates from several perspectives, each one request.
      EXPECT_GE(std::stoi(line.value("requests", "0")), 1) << line.dump();
    }
    if (line.value("msg", "") != "acme request") continue;
    if (line.value("kind", "") == "finalize") ++finalizes;
    if (line.value("kind", "") == "poll-authz" && finalizes == 0) ++polls_before_finalize;
  }
  EXPECT_EQ(fetched_lines, 1) << r.err;
  EXPECT_GE(finalizes, 1) << r.err;
  EXPECT_EQ(polls_before_finalize, 0) << r.err;
  ExpectValidLiveCertificate("polled", {"polled.example.com"});
  // The validation is recorded as without the shortcut.
  json history = RunJson({"history", "polled"});
  bool validated = false;
  for (const json& step : history[0]["steps"]) {
    if (step.value("kind", "") == "validation" && step.value("result", "") == "ok") {
      validated = true;
    }
  }
  EXPECT_TRUE(validated) << history.dump(2);
}

TEST_F(CliIssueTest, IssuesMultiDomainRsa2048) {
  CommandResult r = Run({"issue", "multi", "-d", "m1.example.com", "-d", "m2.example.com",
                         "-d", "m3.example.org", "--key-type", "rsa2048"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ExpectValidLiveCertificate("multi", {"m1.example.com", "m2.example.com", "m3.example.org"});
  auto key = PrivateKey::FromPem(*fs::ReadFile(Live("multi", "privkey.pem")));
  EXPECT_EQ(key->type(), KeyType::kRsa2048);
  auto info = ParseCertificatePem(*fs::ReadFile(Live("multi", "cert.pem")));
  EXPECT_EQ(info->dns_names.size(), 3u);
}

TEST_F(CliIssueTest, ReissueAddsAVersionAndKeepsTheOldOne) {
  ASSERT_EQ(Run({"issue", "twice", "-d", "twice.example.com"}).exit_code, 0);
  auto first = fs::ReadFile(Live("twice", "cert.pem"));
  ASSERT_EQ(Run({"issue", "twice", "-d", "twice.example.com"}).exit_code, 0);
  auto second = fs::ReadFile(Live("twice", "cert.pem"));
  EXPECT_NE(*first, *second);
  EXPECT_EQ(*fs::ReadFile(state_ + "/archive/twice/1/cert.pem"), *first);
  json show = RunJson({"show", "twice"});
  ASSERT_EQ(show["versions"].size(), 2u);
  EXPECT_EQ(show["version"], 2);
}

TEST_F(CliIssueTest, RevocationIsSeenByPebble) {
  ASSERT_EQ(Run({"issue", "rev", "-d", "rev.example.com"}).exit_code, 0);
  auto info = ParseCertificatePem(*fs::ReadFile(Live("rev", "cert.pem")));
  auto before = env_->PebbleCertStatus(info->serial_hex);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ((*before)["Status"], "Valid");

  CommandResult r = Run({"revoke", "rev", "--reason", "keyCompromise"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto after = env_->PebbleCertStatus(info->serial_hex);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)["Status"], "Revoked");
  EXPECT_EQ((*after)["Reason"], 1);
  json show = RunJson({"show", "rev"});
  EXPECT_EQ(show["versions"][0]["state"], "revoked");
  // Due because it was revoked, not "pending / no version issued yet".
  EXPECT_EQ(show["status"], "due");
  EXPECT_EQ(show["status_reason"], "revoked");
}

TEST_F(CliIssueTest, AccountShowRolloverAndIssueWithTheNewKey) {
  CommandResult reg = Run({"--json", "account", "register"});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  json account = json::parse(reg.out);
  EXPECT_EQ(account["status"], "valid");
  std::string key_path = account["key_path"];
  auto old_key = fs::ReadFile(key_path);

  CommandResult roll = Run({"account", "rollover"});
  ASSERT_EQ(roll.exit_code, 0) << roll.err;
  EXPECT_NE(*fs::ReadFile(key_path), *old_key);
  struct stat st;
  ASSERT_EQ(stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  json shown = RunJson({"account", "show"});
  EXPECT_EQ(shown["url"], account["url"]);
  EXPECT_EQ(shown["status"], "valid");
  ASSERT_EQ(Run({"issue", "afterroll", "-d", "afterroll.example.com"}).exit_code, 0);
  ExpectValidLiveCertificate("afterroll", {"afterroll.example.com"});
}

// What a rollover whose keyChange answer was lost leaves on disk: the old key
// as account.key, the new one as account.key.new. The next command asks Pebble
// (onlyReturnExisting) which key it accepts and keeps that one.
TEST_F(CliIssueTest, UnfinishedRolloverIsSettledWithTheCa) {
  CommandResult reg = Run({"--json", "account", "register"});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  std::string key_path = json::parse(reg.out)["key_path"];
  std::string pending = key_path + ".new";
  auto first_key = fs::ReadFile(key_path);
  ASSERT_TRUE(first_key.ok());

  // The CA switched, the answer was lost.
  ASSERT_EQ(Run({"account", "rollover"}).exit_code, 0);
  auto second_key = fs::ReadFile(key_path);
  ASSERT_TRUE(second_key.ok());
  ASSERT_TRUE(fs::WritePrivateFile(pending, *second_key).ok());
  ASSERT_TRUE(fs::WritePrivateFile(key_path, *first_key).ok());
  CommandResult shown = Run({"--json", "account", "show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(*fs::ReadFile(key_path), *second_key);
  EXPECT_FALSE(fs::Exists(pending));

  // The request never reached the CA: the new key is unknown there.
  auto unused = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(unused.ok());
  ASSERT_TRUE(fs::WritePrivateFile(pending, *unused->ToPem()).ok());
  shown = Run({"--json", "account", "show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(*fs::ReadFile(key_path), *second_key);
  EXPECT_FALSE(fs::Exists(pending));
  ASSERT_EQ(Run({"issue", "settled", "-d", "settled.example.com"}).exit_code, 0);
}

TEST_F(CliIssueTest, DeactivatedAccountIsReported) {
  ASSERT_EQ(Run({"account", "register"}).exit_code, 0);
  json deactivated = RunJson({"account", "deactivate"});
  EXPECT_EQ(deactivated["status"], "deactivated");
}

TEST_F(CliIssueTest, WrongCaBundleIsAClearTlsErrorAndWritesNothing) {
  fs::TempDir other;
  // A trust anchor that did not sign Pebble's listener certificate.
  auto key = PrivateKey::Generate(KeyType::kEc256);
  ASSERT_TRUE(key.ok());
  std::string bundle = other.path() + "/other-ca.pem";
  ASSERT_TRUE(fs::WriteFileAtomic(bundle, *fs::ReadFile("/etc/ssl/certs/ca-certificates.crt")).ok());
  CommandResult r = Run({"--ca-bundle", bundle, "issue", "tls", "-d", "tls.example.com"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("TLS"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--ca-bundle"), std::string::npos) << r.err;
  EXPECT_TRUE(NothingWrittenFor("tls"));
  bool any_key = false;
  if (fs::Exists(state_ + "/accounts")) {
    for (auto& e : std::filesystem::recursive_directory_iterator(state_ + "/accounts")) {
      if (e.is_regular_file()) any_key = true;
    }
  }
  EXPECT_FALSE(any_key);
  json list = RunJson({"list"});
  EXPECT_TRUE(list.empty()) << list.dump();
}

struct BadInput {
  const char* meaning;
  std::vector<std::string> args;
  const char* expected_in_error;
};

TEST_F(CliIssueTest, BadInputIsRefusedClearlyAndChangesNothing) {
  // Where a command substitution in a name would leave its mark; a private
  // directory, so that nothing else on the machine can put a file there.
  fs::TempDir scratch;
  const std::string marker = scratch.path() + "/substituted";
  const std::string substituted = "$(touch " + marker + ").example.com";
  const BadInput cases[] = {
      {"invalid domain", {"issue", "bad", "-d", "exa mple.com"}, "invalid domain name"},
      {"shell metacharacters in domain", {"issue", "bad", "-d", substituted},
       "invalid domain name"},
      {"wildcard with http-01", {"issue", "bad", "-d", "*.example.com", "--challenge", "http-01"},
       "dns-01"},
      {"unknown key type", {"issue", "bad", "-d", "ok.example.com", "--key-type", "dsa1024"},
       "ec256"},
      {"unknown challenge", {"issue", "bad", "-d", "ok.example.com", "--challenge", "smtp-01"},
       "unknown challenge"},
      {"path traversal in name", {"issue", "../../etc", "-d", "ok.example.com"},
       "invalid certificate name"},
      {"no domains", {"issue", "bad"}, "no domains"},
  };
  for (const BadInput& c : cases) {
    CommandResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.meaning << ": " << r.err;
    EXPECT_NE(r.err.find(c.expected_in_error), std::string::npos) << c.meaning << ": " << r.err;
    EXPECT_TRUE(NothingWrittenFor("bad")) << c.meaning;
  }
  EXPECT_FALSE(fs::Exists(marker));
}

TEST_F(CliIssueTest, UnknownConfigKeyIsNamedWithItsLine) {
  WriteConfig("[[certificate]]\nname = \"web\"\ndomains = [\"a.example.com\"]\nkey_tpye = \"ec256\"\n");
  CommandResult r = Run({"list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("key_tpye"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("certkeeper.toml:13"), std::string::npos) << r.err;
}

TEST_F(CliIssueTest, UnreachableDirectoryIsAClearError) {
  int port = testing::PickFreePort();
  CommandResult r = Run({"--server", "https://127.0.0.1:" + std::to_string(port) + "/dir",
                         "issue", "down", "-d", "down.example.com"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.err;
  EXPECT_TRUE(NothingWrittenFor("down"));
}

TEST_F(CliIssueTest, PlainHttpServerNeedsTheExplicitFlag) {
  int port = testing::PickFreePort();
  CommandResult r = Run({"--server", "http://127.0.0.1:" + std::to_string(port) + "/dir",
                         "issue", "plain", "-d", "plain.example.com"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("plain http://"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-insecure-http"), std::string::npos) << r.err;
  EXPECT_TRUE(NothingWrittenFor("plain"));
}

// A server that answers the directory with something that is not ACME.
TEST_F(CliIssueTest, GarbageFromTheCaIsAClearError) {
  const std::pair<const char*, const char*> bodies[] = {
      {"<html>not an ACME server</html>", "text/html"},
      {"{\"newNonce\": \"http://127.0.0.1/nonce\", \"newAcc", "application/json"},
      {"[1, 2, 3]", "application/json"},
  };
  // Not a structured binding: clang 14 cannot capture those in a lambda.
  for (const auto& body_and_type : bodies) {
    const char* body = body_and_type.first;
    const char* type = body_and_type.second;
    httplib::Server server;
    server.Get("/dir", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(body, type);
    });
    int port = server.bind_to_any_port("127.0.0.1");
    std::thread t([&]() { server.listen_after_bind(); });
    CommandResult r = Run({"--server", "http://127.0.0.1:" + std::to_string(port) + "/dir",
                           "--allow-insecure-http", "issue", "garbage", "-d",
                           "garbage.example.com"});
    server.stop();
    t.join();
    EXPECT_NE(r.exit_code, 0) << body;
    EXPECT_NE(r.err.find("/dir"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
    EXPECT_TRUE(NothingWrittenFor("garbage"));
  }
}

TEST_F(CliIssueTest, AccountKeyWithWrongPermissionsIsRefused) {
  CommandResult reg = Run({"--json", "account", "register"});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  std::string key_path = json::parse(reg.out)["key_path"];
  ASSERT_EQ(chmod(key_path.c_str(), 0644), 0);
  CommandResult r = Run({"issue", "perm", "-d", "perm.example.com"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_TRUE(NothingWrittenFor("perm"));
}

// Pebble rejects 30% of valid nonces: badNonce must be retried transparently.
TEST(CliIssueNonceTest, IssuesDespiteRejectedNonces) {
  auto env = TestEnv::Start({.env = {{"PEBBLE_WFE_NONCEREJECT", "30"}}});
  ASSERT_NE(env, nullptr);
  fs::TempDir dir;
  std::string config = dir.path() + "/certkeeper.toml";
  ASSERT_TRUE(fs::WriteFileAtomic(config, "[solvers.http-01]\nlisten = \"127.0.0.1:" +
                                              env->Get("PEBBLE_HTTP_PORT") + "\"\n")
                  .ok());
  for (int i = 0; i < 3; ++i) {
    std::string name = "nonce" + std::to_string(i);
    // Everything else from flags, as a user without a config file would.
    CommandResult r = RunCertkeeper(
        {"-c", config, "--state-dir", dir.path(), "--server", env->Get("ACME_DIRECTORY_URL"),
         "--ca-bundle", env->Get("ACME_CA_BUNDLE"), "--agree-tos", "issue", name, "-d",
         name + ".example.com"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto cert = fs::ReadFile(dir.path() + "/live/" + name + "/cert.pem");
    ASSERT_TRUE(cert.ok());
  }
}

}  // namespace
}  // namespace certkeeper
