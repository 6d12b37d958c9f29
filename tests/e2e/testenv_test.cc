// The test environment itself: every component answers the way later tests rely
// on, two environments run side by side, and nothing keeps running afterwards.
#include "tests/support/testenv.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include "base/crypto.h"
#include "base/encoding.h"
#include "base/fs.h"
#include "base/process.h"
#include "tests/e2e/raw_acme.h"

namespace certkeeper::testing {
namespace {

::testing::AssertionResult Contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << needle << "' not in:\n" << haystack;
}

ProcessResult RunTool(std::vector<std::string> argv, std::string stdin_data = "") {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.stdin_data = std::move(stdin_data);
  spec.timeout = std::chrono::seconds(30);
  auto result = RunProcess(spec);
  EXPECT_TRUE(result.ok()) << result.status().ToUserString();
  return result.ok() ? *result : ProcessResult{};
}

std::vector<std::string> SplitOnSpaces(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// "127.0.0.1:8053" -> {"127.0.0.1", "8053"}
std::pair<std::string, std::string> HostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  return {address.substr(0, colon), address.substr(colon + 1)};
}

std::string DigShort(const std::string& server, const std::string& name,
                     const std::string& type) {
  auto [host, port] = HostPort(server);
  ProcessResult r = RunTool({"kdig", "@" + host, "-p", port, "+timeout=2", "+retry=1", "+short",
                         name, type});
  EXPECT_TRUE(r.success()) << r.Describe() << r.stderr_data;
  return r.stdout_data;
}

// GET url ("https://host:port/path") verifying the server against ca_bundle, or
// against the system trust store when ca_bundle is empty.
httplib::Result HttpsGet(const std::string& url, const std::string& ca_bundle) {
  size_t path_start = url.find('/', url.find("://") + 3);
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client client(url.substr(0, path_start));
  if (!ca_bundle.empty()) client.set_ca_cert_path(ca_bundle);
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(5));
  return client.Get(path);
}

void ExpectAcmeDirectory(TestEnv& env) {
  auto response = HttpsGet(env.Get("ACME_DIRECTORY_URL"), env.Get("ACME_CA_BUNDLE"));
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  auto directory = nlohmann::json::parse(response->body, nullptr, false);
  ASSERT_TRUE(directory.is_object()) << response->body;
  EXPECT_TRUE(directory.contains("newNonce")) << response->body;  // RFC 8555 §7.1.1
  EXPECT_TRUE(directory.contains("newOrder")) << response->body;
}


// The second Pebble: its own listener ports and issuing hierarchy, alternate
// roots served by its management API, and external account binding required
// with the generated key (and only with it).
void ExpectSecondPebbleRequiresEab(TestEnv& env) {
  EXPECT_NE(env.Get("ACME2_DIRECTORY_URL"), env.Get("ACME_DIRECTORY_URL"));
  EXPECT_NE(env.Get("PEBBLE2_MGMT_URL"), env.Get("PEBBLE_MGMT_URL"));
  const std::string root2 = env.Pebble2RootPem();
  EXPECT_TRUE(Contains(root2, "-----BEGIN CERTIFICATE-----"));
  EXPECT_NE(root2, env.PebbleRootPem());
  for (const char* mgmt : {"PEBBLE_MGMT_URL", "PEBBLE2_MGMT_URL"}) {
    // PEBBLE_ALTERNATE_ROOTS=1: a second chain with its own root.
    auto alternate = env.PebbleManagementGet("/roots/1", mgmt);
    ASSERT_TRUE(alternate.ok()) << alternate.status().ToString();
    EXPECT_TRUE(Contains(*alternate, "-----BEGIN CERTIFICATE-----"));
    auto intermediate = env.PebbleManagementGet("/intermediates/1", mgmt);
    ASSERT_TRUE(intermediate.ok()) << intermediate.status().ToString();
    EXPECT_FALSE(env.PebbleManagementGet("/roots/2", mgmt).ok());
  }
  // Both roots of each Pebble, and their names in chain order.
  for (const char* prefix : {"PEBBLE", "PEBBLE2"}) {
    auto roots = fs::ReadFile(env.Get(std::string(prefix) + "_ROOTS_PEM"));
    ASSERT_TRUE(roots.ok());
    auto split = SplitPemCertificates(*roots);
    ASSERT_TRUE(split.ok());
    EXPECT_EQ(split->size(), 2u);
    std::string names = env.Get(std::string(prefix) + "_ROOT_NAMES");
    size_t bar = names.find('|');
    ASSERT_NE(bar, std::string::npos) << names;
    auto first = ParseCertificatePem((*split)[0]);
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(Contains(first->subject, names.substr(0, bar)));
  }

  const std::string hmac_file = env.Get("ACME2_EAB_HMAC_FILE");
  EXPECT_TRUE(fs::CheckPrivateFileMode(hmac_file).ok());
  auto hmac_text = fs::ReadFile(hmac_file);
  ASSERT_TRUE(hmac_text.ok());
  auto hmac_key = Base64UrlDecode(*hmac_text);
  ASSERT_TRUE(hmac_key.ok()) << "not base64url: " << *hmac_text;
  EXPECT_EQ(hmac_key->size(), 32u);

  const std::string url2 = env.Get("ACME2_DIRECTORY_URL");
  const std::string bundle = env.Get("ACME_CA_BUNDLE");
  auto directory = HttpsGet(url2, bundle);
  ASSERT_TRUE(directory);
  EXPECT_EQ(nlohmann::json::parse(directory->body)["meta"]["externalAccountRequired"], true);

  // Real newAccount requests: without a binding, with a wrong MAC key, with an
  // unknown key identifier, and with the generated key.
  raw_acme::Answer no_eab = raw_acme::Session(url2, bundle).NewAccount();
  EXPECT_EQ(no_eab.status, 403) << no_eab.body.dump() << no_eab.error;
  EXPECT_EQ(no_eab.body.value("type", ""), "urn:ietf:params:acme:error:externalAccountRequired")
      << no_eab.body.dump();
  raw_acme::Answer wrong =
      raw_acme::Session(url2, bundle).NewAccount(env.Get("ACME2_EAB_KID"), std::string(32, 'x'));
  EXPECT_GE(wrong.status, 400) << wrong.body.dump();
  EXPECT_EQ(wrong.body.value("type", ""), "urn:ietf:params:acme:error:unauthorized")
      << wrong.body.dump();
  raw_acme::Answer unknown_kid = raw_acme::Session(url2, bundle).NewAccount("no-such-kid", *hmac_key);
  EXPECT_GE(unknown_kid.status, 400) << unknown_kid.body.dump();
  raw_acme::Answer eab =
      raw_acme::Session(url2, bundle).NewAccount(env.Get("ACME2_EAB_KID"), *hmac_key);
  EXPECT_EQ(eab.status, 201) << eab.body.dump() << eab.error;
  EXPECT_EQ(eab.body.value("status", ""), "valid") << eab.body.dump();
  // The first Pebble needs no binding.
  raw_acme::Answer plain = raw_acme::Session(env.Get("ACME_DIRECTORY_URL"), bundle).NewAccount();
  EXPECT_EQ(plain.status, 201) << plain.body.dump() << plain.error;
}

TEST(TestEnvTest, AllComponentsAnswerAndStopWithTheHarness) {
  TestEnvOptions options;
  options.pebble2 = options.knot = options.nginx = options.sshd = true;
  options.env = {{"PEBBLE_ALTERNATE_ROOTS", "1"}};
  auto env = TestEnv::Start(options);
  ASSERT_NE(env, nullptr);

  // Pebble: the directory over TLS verified with the generated bundle, and not
  // with the system trust store (so verification is really on).
  ExpectAcmeDirectory(*env);
  auto untrusted = HttpsGet(env->Get("ACME_DIRECTORY_URL"), "");
  EXPECT_FALSE(untrusted && untrusted->status == 200)
      << "Pebble's listener verified without the test CA bundle";

  // The management API serves the root that `up` saved.
  std::string root = env->PebbleRootPem();
  EXPECT_TRUE(Contains(root, "-----BEGIN CERTIFICATE-----"));
  auto served_root = HttpsGet(env->Get("PEBBLE_MGMT_URL") + "/roots/0", env->Get("ACME_CA_BUNDLE"));
  ASSERT_TRUE(served_root) << httplib::to_string(served_root.error());
  EXPECT_EQ(served_root->body, root);
  auto unknown = env->PebbleCertStatus("0x00DEADBEEF");
  EXPECT_FALSE(unknown.ok());
  EXPECT_FALSE(env->PebbleCertStatus("not-hex").ok());
  EXPECT_FALSE(env->PebbleCertStatus("0x00DEADBEEF", "PEBBLE2_MGMT_URL").ok());
  ExpectSecondPebbleRequiresEab(*env);

  // challtestsrv: a TXT record set through the API is served by its DNS.
  env->ChalltestsrvPost("/set-txt",
                        R"({"host":"_acme-challenge.env.test.","value":"challtestsrv-ok"})");
  const std::string challtestsrv_dns = env->Get("CHALLTESTSRV_DNS");
  EXPECT_TRUE(Contains(DigShort(challtestsrv_dns, "_acme-challenge.env.test", "TXT"),
                       "challtestsrv-ok"));
  env->ChalltestsrvPost("/clear-txt", R"({"host":"_acme-challenge.env.test."})");
  EXPECT_EQ(DigShort(challtestsrv_dns, "_acme-challenge.env.test", "TXT"), "");

  // knot: SOA, the wildcard Pebble resolves through, and RFC 2136 updates that are
  // accepted with the TSIG key and refused without it.
  const std::string knot = env->Get("KNOT_SERVER");
  EXPECT_EQ(env->Get("PEBBLE_DNS_SERVER"), knot);
  EXPECT_TRUE(Contains(DigShort(knot, env->Get("KNOT_ZONE"), "SOA"), "hostmaster.knot.test."));
  EXPECT_EQ(DigShort(knot, "anything.example.org", "A"), "127.0.0.1\n");
  auto secret = fs::ReadFile(env->Get("KNOT_TSIG_SECRET_FILE"));
  ASSERT_TRUE(secret.ok()) << secret.status().ToUserString();
  EXPECT_TRUE(fs::CheckPrivateFileMode(env->Get("KNOT_TSIG_SECRET_FILE")).ok());
  auto [knot_host, knot_port] = HostPort(knot);
  std::string update = "server " + knot_host + " " + knot_port + "\nzone " +
                       env->Get("KNOT_ZONE") +
                       "\nupdate add _acme-challenge.www.knot.test. 60 TXT \"knot-ok\"\nsend\n";
  std::string key =
      env->Get("KNOT_TSIG_ALGORITHM") + ":" + env->Get("KNOT_TSIG_NAME") + ":" + *secret;
  ProcessResult signed_update = RunTool({"knsupdate", "-y", key}, update);
  EXPECT_TRUE(signed_update.success()) << signed_update.stderr_data;
  EXPECT_TRUE(Contains(DigShort(knot, "_acme-challenge.www.knot.test", "TXT"), "knot-ok"));
  ProcessResult unsigned_update = RunTool({"knsupdate"}, update);
  EXPECT_FALSE(unsigned_update.success()) << "knot accepted an update without TSIG";

  // nginx: TLS with the initial certificate, the webroot over plain HTTP on the
  // port Pebble validates http-01 on, and the reload command.
  EXPECT_EQ(env->Get("NGINX_HTTP_PORT"), env->Get("PEBBLE_HTTP_PORT"));
  auto tls = HttpsGet("https://127.0.0.1:" + env->Get("NGINX_PORT") + "/",
                      env->Get("ACME_CA_BUNDLE"));
  ASSERT_TRUE(tls) << httplib::to_string(tls.error());
  EXPECT_EQ(tls->status, 200);
  std::string token_path = env->Get("NGINX_WEBROOT") + "/.well-known/acme-challenge/tok";
  ASSERT_TRUE(fs::WriteFileAtomic(token_path, "tok.thumbprint").ok());
  httplib::Client http("http://127.0.0.1:" + env->Get("NGINX_HTTP_PORT"));
  auto challenge = http.Get("/.well-known/acme-challenge/tok");
  ASSERT_TRUE(challenge) << httplib::to_string(challenge.error());
  EXPECT_EQ(challenge->body, "tok.thumbprint");
  ProcessResult reload = RunTool(SplitOnSpaces(env->Get("NGINX_RELOAD")));
  EXPECT_TRUE(reload.success()) << reload.Describe() << reload.stderr_data;

  // sshd: a command runs with the exported identity and pinned host key, and
  // writes into the remote directory.
  std::string remote_file = env->Get("SSHD_REMOTE_DIR") + "/pushed.pem";
  ProcessResult ssh = RunTool({"ssh", "-F", "/dev/null", "-i", env->Get("SSHD_IDENTITY"),
                           "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                           "-o", "StrictHostKeyChecking=yes",
                           "-o", "UserKnownHostsFile=" + env->Get("SSHD_KNOWN_HOSTS"),
                           "-p", env->Get("SSHD_PORT"),
                           env->Get("SSHD_USER") + "@127.0.0.1", "cat > " + remote_file},
                          "pushed over ssh\n");
  EXPECT_TRUE(ssh.success()) << ssh.Describe() << ssh.stderr_data;
  auto pushed = fs::ReadFile(remote_file);
  EXPECT_TRUE(pushed.ok() && *pushed == "pushed over ssh\n");

  std::vector<RecordedProcess> processes = env->RecordedProcesses();
  std::vector<std::string> names;
  for (const auto& p : processes) {
    names.push_back(p.name);
    EXPECT_TRUE(IsRunning(p)) << p.name << " pid " << p.pid;
  }
  for (const char* expected : {"pebble", "pebble2", "challtestsrv", "knot", "nginx", "sshd", "watchdog"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end())
        << expected << " was not recorded";
  }
  std::string state_dir = env->state_dir();
  env.reset();
  for (const auto& p : processes) EXPECT_FALSE(IsRunning(p)) << p.name << " pid " << p.pid;
  EXPECT_FALSE(fs::Exists(state_dir));
}

TEST(TestEnvTest, TwoEnvironmentsRunSideBySide) {
  auto first = TestEnv::Start();
  ASSERT_NE(first, nullptr);
  TestEnvOptions no_bad_nonces;
  no_bad_nonces.env = {{"PEBBLE_WFE_NONCEREJECT", "0"}};
  auto second = TestEnv::Start(no_bad_nonces);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first->Get("ACME_DIRECTORY_URL"), second->Get("ACME_DIRECTORY_URL"));
  EXPECT_NE(first->Get("CHALLTESTSRV_DNS"), second->Get("CHALLTESTSRV_DNS"));
  EXPECT_NE(first->PebbleRootPem(), second->PebbleRootPem());
  ExpectAcmeDirectory(*first);
  ExpectAcmeDirectory(*second);
  // Each bundle trusts only its own environment's listener.
  auto crossed = HttpsGet(second->Get("ACME_DIRECTORY_URL"), first->Get("ACME_CA_BUNDLE"));
  EXPECT_FALSE(crossed && crossed->status == 200);

  std::vector<RecordedProcess> first_processes = first->RecordedProcesses();
  ASSERT_FALSE(first_processes.empty());
  first.reset();
  for (const auto& p : first_processes) EXPECT_FALSE(IsRunning(p)) << p.name;
  for (const auto& p : second->RecordedProcesses()) EXPECT_TRUE(IsRunning(p)) << p.name;
  ExpectAcmeDirectory(*second);
}

TEST(TestEnvTest, ParsesExportLines) {
  auto vars = ParseExportLines(
      "export A='1'\nnoise\nexport B='x y z'\nexport C=plain\nexport ='bad'\n");
  EXPECT_EQ(vars.size(), 3u);
  EXPECT_EQ(vars["A"], "1");
  EXPECT_EQ(vars["B"], "x y z");
  EXPECT_EQ(vars["C"], "plain");
}

TEST(TestEnvTest, PickedPortsAreDistinct) {
  int a = PickFreePort();
  int b = PickFreePort();
  int dns = PickFreeDnsPort();
  EXPECT_GT(a, 0);
  EXPECT_NE(a, b);
  EXPECT_NE(dns, a);
  EXPECT_NE(dns, b);
}

}  // namespace
}  // namespace certkeeper::testing
