// The fixture the end-to-end binaries share: one test environment (Pebble and
// whatever the options add) per test suite, and per test a fresh directory with
// the state directory and config path the certkeeper binary runs with.
#ifndef CERTKEEPER_TESTS_E2E_E2E_SUPPORT_H_
#define CERTKEEPER_TESTS_E2E_E2E_SUPPORT_H_

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/process.h"
#include "tests/e2e/deploy_support.h"
#include "tests/support/testenv.h"

namespace certkeeper::e2e_support {

// A derived fixture starts its environment in its own SetUpTestSuite with
// StartEnv(options) (the default starts Pebble alone) and does its per-test
// preparation in SetUpTest, which runs only once env_ is up and state_/config_
// are set. TearDownTestSuite stops the environment by its recorded processes.
class CertkeeperSuite : public ::testing::Test {
 protected:
  static void StartEnv(const testing::TestEnvOptions& options = {}) {
    env_ = testing::TestEnv::Start(options).release();
  }
  static testing::TestEnvOptions WithNginx() {
    testing::TestEnvOptions options;
    options.nginx = true;
    return options;
  }
  static void SetUpTestSuite() { StartEnv(); }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  void SetUp() final {
    ASSERT_NE(env_, nullptr);
    state_ = dir_.path() + "/state";
    config_ = dir_.path() + "/certkeeper.toml";
    // With nginx: the certificate and key files it serves and its TLS port.
    if (env_->Has("NGINX_PORT")) {
      nginx_cert_ = env_->Get("NGINX_CERT");
      nginx_key_ = env_->Get("NGINX_KEY");
      nginx_port_ = std::stoi(env_->Get("NGINX_PORT"));
    }
    SetUpTest();
  }
  virtual void SetUpTest() {}

  // `certkeeper -c config_ args...` with env added to the inherited environment.
  testing::CommandResult Run(std::vector<std::string> args, const testing::EnvVars& env = {}) {
    args.insert(args.begin(), {"-c", config_});
    return testing::RunCertkeeper(args, env);
  }

  std::string NginxConfPath() const {
    return env_->Get("CERTKEEPER_TESTENV_STATE") + "/nginx/nginx.conf";
  }
  std::string SiteDir(const std::string& name) const {
    return env_->Get("NGINX_CERT_DIR") + "/" + name;
  }

  // One nginx server block per name (SNI NAME + domain_suffix) with its own
  // certificate directory SiteDir(name), seeded with the environment's
  // certificate so that the config loads; then nginx is reloaded. The config as
  // it was goes to *conf_before when given, for the test to put back.
  void AddNginxSites(const std::vector<std::string>& names, const std::string& domain_suffix,
                     std::string* conf_before = nullptr) {
    using deploy_support::Read;
    using deploy_support::Write;
    std::string conf_path = NginxConfPath();
    std::string conf = Read(conf_path);
    if (conf_before != nullptr) *conf_before = conf;
    size_t end = conf.rfind('}');
    ASSERT_NE(end, std::string::npos) << conf;
    std::string blocks;
    for (const std::string& name : names) {
      std::string dir = SiteDir(name);
      ASSERT_TRUE(std::filesystem::create_directories(dir)) << dir;
      Write(dir + "/fullchain.pem", Read(env_->Get("NGINX_CERT")));
      Write(dir + "/privkey.pem", Read(env_->Get("NGINX_KEY")));
      blocks += "    server {\n        listen 127.0.0.1:" + std::to_string(nginx_port_) +
                " ssl;\n        server_name " + name + domain_suffix +
                ";\n        ssl_certificate " + dir + "/fullchain.pem;\n" +
                "        ssl_certificate_key " + dir + "/privkey.pem;\n    }\n";
    }
    Write(conf_path, conf.substr(0, end) + blocks + conf.substr(end), 0644);
    ProcessSpec reload;
    reload.argv = deploy_support::SplitOnSpaces(env_->Get("NGINX_RELOAD"));
    auto reloaded = RunProcessChecked(reload);
    ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  }

  // The start of a config for this environment: state_dir = state_ and the
  // [acme] section for its Pebble (server, CA bundle, issuer roots), no account
  // settings.
  std::string PebbleConfigHead() const {
    using deploy_support::Toml;
    return "state_dir = " + Toml(state_) + "\n[acme]\nserver = " +
           Toml(env_->Get("ACME_DIRECTORY_URL")) + "\nca_bundle = " +
           Toml(env_->Get("ACME_CA_BUNDLE")) + "\nissuer_roots = " +
           Toml(env_->Get("PEBBLE_ROOT_PEM")) + "\n";
  }

  // PebbleConfigHead with the account ops@example.com agreeing to the terms
  // and the http-01 solver writing into nginx's webroot.
  std::string NginxWebrootConfigHead() const {
    using deploy_support::Toml;
    return PebbleConfigHead() +
           "email = \"ops@example.com\"\nagree_tos = true\n[solvers.http-01]\nwebroot = " +
           Toml(env_->Get("NGINX_WEBROOT")) + "\n";
  }

  // Whether nginx serves `serial` for site.example.com and www.site.example.com
  // (the names of the certificate "site" the deploy tests issue). After a
  // reload nginx's old workers may answer a few more connections: waits
  // (bounded) until three fresh connections in a row get `serial` for both names.
  bool ServesEventually(const std::string& serial) {
    using deploy_support::ServedSerial;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int consecutive = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      bool both = ServedSerial(nginx_port_, "site.example.com") == serial &&
                  ServedSerial(nginx_port_, "www.site.example.com") == serial;
      consecutive = both ? consecutive + 1 : 0;
      if (consecutive >= 3) return true;
    }
    return false;
  }

  static inline testing::TestEnv* env_ = nullptr;
  fs::TempDir dir_;
  std::string state_, config_;
  std::string nginx_cert_, nginx_key_;  // empty without nginx
  int nginx_port_ = 0;                  // 0 without nginx
};

}  // namespace certkeeper::e2e_support

#endif  // CERTKEEPER_TESTS_E2E_E2E_SUPPORT_H_
