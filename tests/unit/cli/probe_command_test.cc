// `certkeeper probe` (docs/probes.md): one row or JSON object per endpoint,
// peer text escaped on the terminal, exit 0 when every endpoint is fine, 2
// when one is not, 1 without any [[endpoint]]; `show NAME` lists the last
// probes of the endpoints that serve NAME.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "cli/probe_output.h"
#include "tests/support/test_tls_server.h"
#include "tests/unit/cli/run_main.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::cli {
namespace {

using nlohmann::json;

lifecycle::ProbeView Hostile() {
  lifecycle::ProbeView p;
  p.endpoint = "127.0.0.1:443/www.example.com";
  p.address = "127.0.0.1:443";
  p.sni = "www.example.com";
  p.ok = true;
  p.issuer = "CN=evil\x1b[2J\xe2\x80\xae";
  p.names = {"www.example.com\x1b]0;owned\x07"};
  p.error = "the certificate does not cover www.example.com\x1b[31m";
  p.handshake_seconds = 0.0123;
  p.not_after = FromUnixSeconds(1767225600) + std::chrono::hours(24 * 10 + 1);
  return p;
}

TEST(ProbeOutputTest, TextEscapesWhatTheServerSent) {
  const std::string out = RenderProbes({Hostile()}, FromUnixSeconds(1767225600));
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(out.find("\xe2\x80\xae"), std::string::npos) << out;
  EXPECT_NE(out.find("www.example.com\\x1b[31m"), std::string::npos) << out;
  EXPECT_NE(out.find("mismatch"), std::string::npos) << out;  // names_match is false
  EXPECT_NE(out.find("  10  "), std::string::npos) << out;    // days left
  EXPECT_NE(out.find("12.3"), std::string::npos) << out;      // handshake ms
}

TEST(ProbeOutputTest, JsonCarriesEveryField) {
  lifecycle::ProbeView p = Hostile();
  p.names_match = true;
  p.chain_valid = true;
  p.live_match = "yes";
  p.error.clear();
  json j = ToJson(p, FromUnixSeconds(1767225600));
  EXPECT_EQ(j["result"], "ok");
  EXPECT_EQ(j["issuer"], p.issuer);  // raw: JSON escapes control characters itself
  EXPECT_EQ(j["days_left"], 10);
  EXPECT_EQ(j["live_match"], "yes");
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_TRUE(j["not_before"].is_null());
  EXPECT_DOUBLE_EQ(j["handshake_ms"].get<double>(), 12.3);
  for (const char* key : {"endpoint", "address", "sni", "certificate", "at", "ok", "serial",
                          "fingerprint_sha256", "names", "not_after", "names_match",
                          "chain_valid"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  p.live_match = "no";
  EXPECT_EQ(ToJson(p, FromUnixSeconds(1767225600))["result"], "mismatch");
  p.ok = false;
  EXPECT_EQ(ToJson(p, FromUnixSeconds(1767225600))["result"], "failed");
}

class ProbeCommandTest : public ::testing::Test {
 protected:
  void WriteConfig(const std::string& endpoints) {
    std::ofstream(config_, std::ios::trunc)
        << "state_dir = \"" << dir_.path() << "/state\"\n" << endpoints;
  }
  std::string Endpoint(int port, const std::string& sni, bool trusted = true) {
    return "[[endpoint]]\naddress = \"127.0.0.1:" + std::to_string(port) + "\"\nsni = \"" + sni +
           "\"\n" + (trusted ? "ca_bundle = \"" + roots_ + "\"\n" : "") + "timeout = \"5s\"\n";
  }
  void SetUp() override {
    ASSERT_TRUE(fs::WriteFileAtomic(roots_, pki_.root.cert_pem).ok());
  }
  testing::Ran Probe(bool json_output) {
    std::vector<std::string> args = {"-c", config_};
    if (json_output) args.push_back("--json");
    args.push_back("probe");
    return testing::RunMain(args);
  }

  fs::TempDir dir_;
  std::string config_ = dir_.path() + "/certkeeper.toml";
  std::string roots_ = dir_.path() + "/roots.pem";
  hooks::testing::TestPki pki_ = hooks::testing::TestPki::Create(std::chrono::system_clock::now());
  hooks::Material m_ = pki_.MakeMaterial("web", {"example.com"});
  certkeeper::testing::TestTlsServer server_{m_.fullchain_pem, m_.key_pem};
};

TEST_F(ProbeCommandTest, EveryEndpointFineExitsZero) {
  WriteConfig(Endpoint(server_.port(), "example.com"));
  testing::Ran r = Probe(true);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << r.out;
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["result"], "ok");
  EXPECT_EQ(j[0]["fingerprint_sha256"], m_.fingerprint_sha256);
}

TEST_F(ProbeCommandTest, AnyEndpointNotFineExitsTwo) {
  // The chain is fine, the names are not.
  WriteConfig(Endpoint(server_.port(), "example.com") + Endpoint(server_.port(), "example.net"));
  testing::Ran r = Probe(false);
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("ADDRESS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("does not cover example.net"), std::string::npos) << r.out;
  // An untrusted chain alone is enough.
  WriteConfig(Endpoint(server_.port(), "example.com", /*trusted=*/false));
  EXPECT_EQ(Probe(false).code, 2);
}

TEST_F(ProbeCommandTest, NoEndpointIsAConfigurationError) {
  WriteConfig("");
  testing::Ran r = Probe(false);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no [[endpoint]] is configured"), std::string::npos) << r.err;
}

TEST_F(ProbeCommandTest, ShowListsTheLastProbeOfEndpointsServingTheCertificate) {
  std::string import_dir = dir_.path() + "/web";
  ASSERT_TRUE(fs::MakeDirs(import_dir, 0700).ok());
  ASSERT_TRUE(fs::WriteFileAtomic(import_dir + "/fullchain.pem", m_.fullchain_pem).ok());
  ASSERT_TRUE(fs::WritePrivateFile(import_dir + "/privkey.pem", m_.key_pem).ok());
  // Import records the CA the certificate is renewed with; nothing asks it.
  WriteConfig("[acme]\nserver = \"https://ca.example/directory\"\n" +
              Endpoint(server_.port(), "example.com") + "certificate = \"web\"\n" +
              Endpoint(server_.port(), "example.org"));
  testing::Ran imported = testing::RunMain({"-c", config_, "import", import_dir});
  ASSERT_EQ(imported.code, 0) << imported.out << imported.err;
  ASSERT_EQ(Probe(false).code, 2);  // example.org is not covered

  testing::Ran shown = testing::RunMain({"-c", config_, "--json", "show", "web"});
  ASSERT_EQ(shown.code, 0) << shown.out << shown.err;
  json j = json::parse(shown.out, nullptr, false);
  ASSERT_TRUE(j["endpoints"].is_array()) << shown.out;
  ASSERT_EQ(j["endpoints"].size(), 1u) << shown.out;  // only the endpoint naming web
  EXPECT_EQ(j["endpoints"][0]["live_match"], "yes");
  EXPECT_EQ(j["endpoints"][0]["result"], "ok");

  testing::Ran text = testing::RunMain({"-c", config_, "show", "web"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("Endpoints (last probe):"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("127.0.0.1:" + std::to_string(server_.port())), std::string::npos);
}

}  // namespace
}  // namespace certkeeper::cli
