// Shared pieces of the renewal end-to-end tests: a session with a config file of
// many managed certificates, certkeeper runs in the background (to kill or to
// race), and the fault-injecting proxy (tests/helpers/fault_proxy) in front of
// Pebble. Every process started here is stopped by PID in a destructor, so a
// failing assertion never leaves one behind.
#ifndef CERTKEEPER_TESTS_E2E_RENEW_SUPPORT_H_
#define CERTKEEPER_TESTS_E2E_RENEW_SUPPORT_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "tests/e2e/child_process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/testenv.h"

namespace certkeeper::renew_test {

using nlohmann::json;
using testing::CommandResult;
using testing::TestEnv;

using child_process::Child;
using child_process::WaitFor;

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
  }
  std::rename(tmp.c_str(), path.c_str());
}

// The fault proxy on a free port, serving TLS with the environment's listener
// certificate (valid for 127.0.0.1 under ACME_CA_BUNDLE), in front of the Pebble
// whose port the variable upstream_port_var names. Its files go to dir (created
// when missing).
class FaultProxy {
 public:
  FaultProxy(const TestEnv& env, const std::string& dir,
             const std::string& upstream_port_var = "PEBBLE_PORT")
      : port_(testing::PickFreePort()), control_(dir + "/proxy.control"), log_(dir + "/proxy.log") {
    std::string state = env.Get("CERTKEEPER_TESTENV_STATE");
    std::error_code ignored;  // a directory that cannot be made fails the READY wait
    std::filesystem::create_directories(dir, ignored);
    WriteText(control_, "");
    out_ = dir + "/proxy.out";
    argv_ = {CERTKEEPER_FAULT_PROXY, "--port", std::to_string(port_),
             "--upstream", "127.0.0.1:" + env.Get(upstream_port_var),
             "--ca-bundle", env.Get("ACME_CA_BUNDLE"), "--cert",
             state + "/ca/listener.pem", "--key", state + "/ca/listener.key",
             "--control", control_, "--log", log_};
    Start();
  }
  // Starts the proxy again on the same port after Stop() (a CA that is back).
  bool Start() {
    WriteText(out_, "");  // the READY of an earlier run must not count
    child_ = std::make_unique<Child>(argv_, out_);
    ready_ = WaitFor([&] { return ReadText(out_).find("READY") != std::string::npos; },
                     std::chrono::seconds(20));
    return ready_;
  }
  bool ready() const { return ready_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/dir"; }
  void SetFaults(const std::string& rules) { WriteText(control_, rules); }
  // Log lines "METHOD KIND PATH" received since the last ResetLog().
  std::vector<std::string> Requests() const {
    std::vector<std::string> lines;
    std::istringstream in(ReadText(log_));
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
  int Count(const std::string& method, const std::string& kind) const {
    int n = 0;
    for (const auto& l : Requests()) {
      if (l.rfind(method + " " + kind + " ", 0) == 0) ++n;
    }
    return n;
  }
  void ResetLog() { WriteText(log_, ""); }
  // Stops the proxy by its PID: its port refuses connections until Start().
  void Stop() { child_.reset(); }
  int port() const { return port_; }

 private:
  std::vector<std::string> argv_;
  int port_;
  std::string control_;
  std::string log_;
  std::string out_;
  bool ready_ = false;
  std::unique_ptr<Child> child_;
};

// One managed certificate in the generated config.
struct Managed {
  std::string name;
  std::vector<std::string> domains;
  std::string key_type = "ec256";
  std::vector<std::string> deploy;
};

inline std::string TomlList(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", \"" : "\"") + items[i] + "\"";
  return s + "]";
}

// `count` certificates named c00, c01, ... for cNN.renew.test.
inline std::vector<Managed> ManyCertificates(int count) {
  std::vector<Managed> out;
  for (int i = 0; i < count; ++i) {
    std::string name = (i < 10 ? "c0" : "c") + std::to_string(i);
    Managed m;
    m.name = name;
    m.domains = {name + ".renew.test"};
    out.push_back(m);
  }
  return out;
}

// A config for `server` (Pebble or the proxy) with http-01 on the environment's
// port, no budgets (Pebble has none), and `extra` appended verbatim.
inline std::string MakeConfig(const TestEnv& env, const std::string& state,
                              const std::string& server, const std::vector<Managed>& certs,
                              const std::string& extra = "") {
  std::ostringstream f;
  f << "state_dir = \"" << state << "\"\n"
    << "[acme]\n"
    << "server = \"" << server << "\"\n"
    << "ca_bundle = \"" << env.Get("ACME_CA_BUNDLE") << "\"\n"
    << "issuer_roots = \"" << env.Get("PEBBLE_ROOT_PEM") << "\"\n"
    << "email = \"ops@example.com\"\n"
    << "agree_tos = true\n"
    << "[solvers.http-01]\n"
    << "listen = \"127.0.0.1:" << env.Get("PEBBLE_HTTP_PORT") << "\"\n"
    << "[renewal.budgets]\n"
    << "new_orders_per_3h = 0\n"
    << "certificates_per_registered_domain_per_week = 0\n"
    << "duplicate_certificates_per_week = 0\n";
  for (const Managed& c : certs) {
    f << "[[certificate]]\n"
      << "name = \"" << c.name << "\"\n"
      << "domains = " << TomlList(c.domains) << "\n"
      << "key_type = \"" << c.key_type << "\"\n"
      << "challenges = [\"http-01\"]\n";
    if (!c.deploy.empty()) f << "deploy = " << TomlList(c.deploy) << "\n";
  }
  f << extra;
  return f.str();
}

// Outcome per certificate name from `renew --json` output.
inline std::map<std::string, std::string> Outcomes(const std::string& json_text) {
  std::map<std::string, std::string> out;
  json arr = json::parse(json_text, nullptr, false);
  if (!arr.is_array()) return out;
  for (const auto& o : arr) out[o.value("name", "")] = o.value("outcome", "");
  return out;
}

// The fixture both renewal binaries use: one Pebble per binary, and per test a
// fresh state directory, config file and fault proxy in front of Pebble.
class RenewSession : public e2e_support::CertkeeperSuite {
 protected:
  // Requests are counted at the proxy: Pebble must not reject nonces at
  // random, or a retried POST would count twice.
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.env = {{"PEBBLE_WFE_NONCEREJECT", "0"}};
    StartEnv(options);
  }

  void SetUpTest() override {
    proxy_ = std::make_unique<FaultProxy>(*env_, dir_.path());
    ASSERT_TRUE(proxy_->ready()) << ReadText(dir_.path() + "/proxy.out");
  }

  void Configure(const std::vector<Managed>& certs, const std::string& extra = "") {
    WriteText(config_, MakeConfig(*env_, state_, proxy_->url(), certs, extra));
  }

  std::unique_ptr<FaultProxy> proxy_;
};

}  // namespace certkeeper::renew_test

#endif  // CERTKEEPER_TESTS_E2E_RENEW_SUPPORT_H_
