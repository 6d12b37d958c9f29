// `certkeeper probe` against a real nginx serving a certificate issued by a
// real Pebble: the probe sees the live version with a chain that verifies to
// Pebble's roots; after a renewal that does not reach nginx it reports the
// mismatch and exits 2; an endpoint on a closed port is a failed probe.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "tests/e2e/deploy_support.h"
#include "tests/e2e/e2e_support.h"

namespace certkeeper {
namespace {

using nlohmann::json;
using testing::CommandResult;

using namespace deploy_support;  // NOLINT: test helpers

// A port on 127.0.0.1 that is bound but not listening while it lives: every
// connection to it is refused, and no other process can take it meanwhile.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot bind 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~ClosedPort() { close(fd_); }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class ProbeNginxTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() { StartEnv(WithNginx()); }

  // The certificate "site" delivered to nginx when `deploy_to_nginx`, and
  // the given endpoints.
  void WriteConfig(bool deploy_to_nginx, const std::string& endpoints) {
    std::ofstream f(config_, std::ios::trunc);
    f << NginxWebrootConfigHead() << "[[certificate]]\nname = \"site\"\n"
      << "domains = [\"site.example.com\", \"www.site.example.com\"]\n"
      << "challenges = [\"http-01\"]\n"
      << "deploy = " << (deploy_to_nginx ? "[\"nginx\"]" : "[]") << "\n"
      << "[[deploy]]\nname = \"nginx\"\ntype = \"files\"\n"
      << "directory = " << Toml(env_->Get("NGINX_CERT_DIR")) << "\n"
      << "files = { fullchain = " << Toml(BaseName(nginx_cert_))
      << ", key = " << Toml(BaseName(nginx_key_)) << " }\n"
      << "mode = \"0600\"\n"
      << "reload = " << Toml(SplitOnSpaces(env_->Get("NGINX_RELOAD"))) << "\n"
      << "verify = [\"127.0.0.1:" << nginx_port_ << "\"]\n"
      << endpoints;
  }

  // The endpoint nginx is, serving "site", verified against Pebble's roots.
  std::string NginxEndpoint(const std::string& sni = "www.site.example.com") {
    return "[[endpoint]]\naddress = \"127.0.0.1:" + std::to_string(nginx_port_) +
           "\"\nsni = " + Toml(sni) + "\ncertificate = \"site\"\nca_bundle = " +
           Toml(env_->Get("PEBBLE_ROOT_PEM")) + "\ntimeout = \"5s\"\n";
  }

  json RunJson(std::vector<std::string> args, int expected_exit) {
    args.insert(args.begin(), "--json");
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return json::parse(r.out, nullptr, false);
  }

  CertInfo Version(int n) {
    auto info = ParseCertificatePem(Read(state_ + "/archive/site/" + std::to_string(n) +
                                         "/cert.pem"));
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? *info : CertInfo{};
  }
};

TEST_F(ProbeNginxTest, ProbeSeesTheLiveVersionThenTheMismatchAfterAnUndeployedRenewal) {
  WriteConfig(true, NginxEndpoint());
  CommandResult issued = Run({"issue", "site"});
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  const CertInfo v1 = Version(1);
  ASSERT_TRUE(ServesEventually(v1.serial_hex));

  json probes = RunJson({"probe"}, 0);
  ASSERT_TRUE(probes.is_array() && probes.size() == 1) << probes.dump(2);
  const json& p = probes[0];
  EXPECT_EQ(p["result"], "ok") << p.dump(2);
  EXPECT_EQ(p["ok"], true);
  EXPECT_EQ(p["live_match"], "yes");
  EXPECT_EQ(p["chain_valid"], true) << p["error"];
  EXPECT_EQ(p["names_match"], true);
  EXPECT_EQ(p["fingerprint_sha256"], v1.sha256_fingerprint);
  EXPECT_EQ(p["serial"], v1.serial_hex);
  EXPECT_EQ(p["names"], (json{"site.example.com", "www.site.example.com"}));
  EXPECT_EQ(p["not_after"], FormatRfc3339(v1.not_after));
  EXPECT_TRUE(p["error"].is_null()) << p["error"];

  // A renewal that goes live in the inventory but never reaches nginx.
  WriteConfig(false, NginxEndpoint());
  CommandResult renewed = Run({"renew", "--force", "site"});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.out << renewed.err;
  const CertInfo v2 = Version(2);
  ASSERT_EQ(RunJson({"show", "site"}, 0)["serial"], v2.serial_hex);
  ASSERT_TRUE(ServesEventually(v1.serial_hex));

  probes = RunJson({"probe"}, 2);
  ASSERT_TRUE(probes.is_array() && probes.size() == 1) << probes.dump(2);
  EXPECT_EQ(probes[0]["result"], "mismatch");
  EXPECT_EQ(probes[0]["live_match"], "no");
  EXPECT_EQ(probes[0]["chain_valid"], true);
  EXPECT_EQ(probes[0]["fingerprint_sha256"], v1.sha256_fingerprint);
  EXPECT_NE(probes[0]["error"].get<std::string>().find("other than the live version 2 of site"),
            std::string::npos)
      << probes[0].dump(2);

  // The text form says the same, and `show` keeps the last probe.
  CommandResult text = Run({"probe"});
  EXPECT_EQ(text.exit_code, 2) << text.out << text.err;
  EXPECT_NE(text.out.find("mismatch"), std::string::npos) << text.out;
  json shown = RunJson({"show", "site"}, 0);
  ASSERT_TRUE(shown["endpoints"].is_array() && shown["endpoints"].size() == 1) << shown.dump(2);
  EXPECT_EQ(shown["endpoints"][0]["live_match"], "no");
  EXPECT_EQ(shown["endpoints"][0]["serial"], v1.serial_hex);

  // Delivered after all: the probe agrees again.
  WriteConfig(true, NginxEndpoint());
  CommandResult deployed = Run({"deploy", "site"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.out << deployed.err;
  ASSERT_TRUE(ServesEventually(v2.serial_hex));
  probes = RunJson({"probe"}, 0);
  ASSERT_TRUE(probes.is_array() && probes.size() == 1) << probes.dump(2);
  EXPECT_EQ(probes[0]["live_match"], "yes");
}

TEST_F(ProbeNginxTest, ClosedPortAndUncoveredNameAreReported) {
  ClosedPort closed;
  WriteConfig(true, NginxEndpoint("other.example.com") + "[[endpoint]]\naddress = \"127.0.0.1:" +
                        std::to_string(closed.port()) + "\"\nsni = \"site.example.com\"\n");
  // Nothing issued: nginx serves the environment's own certificate.
  json probes = RunJson({"probe"}, 2);
  ASSERT_TRUE(probes.is_array() && probes.size() == 2) << probes.dump(2);
  EXPECT_EQ(probes[0]["ok"], true) << probes[0].dump(2);
  EXPECT_EQ(probes[0]["names_match"], false) << probes[0].dump(2);
  EXPECT_TRUE(probes[0]["live_match"].is_null());  // "site" has no live version
  EXPECT_EQ(probes[1]["result"], "failed");
  EXPECT_EQ(probes[1]["ok"], false);
  EXPECT_NE(probes[1]["error"].get<std::string>().find("refused"), std::string::npos)
      << probes[1].dump(2);
}

}  // namespace
}  // namespace certkeeper
