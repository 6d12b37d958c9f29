// Shared pieces of the multi-CA end-to-end tests (tests/e2e/multi_ca_test.cc and
// multi_ca_features.cc, one binary): one test environment with two Pebbles for
// the whole binary (the second requires external account binding and issues
// six-hour certificates), and per test a fresh state directory, config file and
// a fault proxy in front of each Pebble, so that every request each CA receives
// is counted and faults can be injected per CA. Every process started here is
// stopped by PID in a destructor, also when an assertion fails.
#ifndef CERTKEEPER_TESTS_E2E_MULTI_CA_SUPPORT_H_
#define CERTKEEPER_TESTS_E2E_MULTI_CA_SUPPORT_H_

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/e2e/renew_support.h"
#include "tests/support/testenv.h"

namespace certkeeper::multi_ca {

using nlohmann::json;
using renew_test::FaultProxy;
using renew_test::ReadText;
using renew_test::WriteText;
using testing::CommandResult;
using testing::TestEnv;

// The second Pebble's certificate lifetime: six hours, under the ten days below
// which certificates renew at half their lifetime.
inline constexpr int kShortLifetimeSeconds = 6 * 3600;

// The environment of the whole binary, started before the first test and
// stopped after the last (gtest global environment, registered by
// multi_ca_test.cc).
class SharedEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
  static TestEnv* Get();
};

// One [[ca]] block.
struct CaBlock {
  std::string name;
  std::string server;
  std::string issuer_roots;
  std::string eab_kid;
  std::string eab_hmac_file;
  std::string profile;
  std::string preferred_chain;
  std::vector<std::string> caa_identities;
  std::string timeout = "10s";
  std::string extra;  // more lines, verbatim
};

// One [[certificate]] block.
// Default member initializers in braces: GCC's -Wmissing-field-initializers
// accepts designated initializers that leave such members out.
struct CertBlock {
  std::string name{};
  std::vector<std::string> domains{};
  std::vector<std::string> cas{};
  std::vector<std::string> challenges{"http-01"};
  std::string extra{};
};

inline std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

inline std::string TomlList(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + Quoted(items[i]);
  return s + "]";
}

// `openssl x509 -ext subjectAltName` of a PEM file: the SAN line as OpenSSL
// prints it ("DNS:a.example, IP Address:127.0.0.1").
inline std::string SubjectAltNames(const std::string& pem_path) {
  ProcessSpec spec;
  spec.argv = {"openssl", "x509", "-in", pem_path, "-noout", "-ext", "subjectAltName"};
  auto run = RunProcess(spec);
  return run.ok() ? run->stdout_data : "";
}

// The subject CN an issuer or subject line names ("CN = Pebble Root CA 1a2b3c"
// in OpenSSL's output, "CN=..." in RFC 2253).
inline std::string IssuerOfTopCertificate(const std::string& chain_path) {
  ProcessSpec spec;
  // The last certificate of the chain file: split by hand, openssl reads one.
  std::string chain = ReadText(chain_path);
  size_t last = chain.rfind("-----BEGIN CERTIFICATE-----");
  if (last == std::string::npos) return "";
  spec.argv = {"openssl", "x509", "-noout", "-issuer", "-nameopt", "multiline"};
  spec.stdin_data = chain.substr(last);
  auto run = RunProcess(spec);
  if (!run.ok()) return "";
  std::istringstream lines(run->stdout_data);
  for (std::string line; std::getline(lines, line);) {
    size_t at = line.find("commonName");
    if (at == std::string::npos) continue;
    size_t eq = line.find("= ", at);
    if (eq != std::string::npos) return line.substr(eq + 2);
  }
  return "";
}

// "a|b|c" -> {"a", "b", "c"}
inline std::vector<std::string> SplitBars(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, '|');) out.push_back(item);
  return out;
}

class MultiCaTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() { env_ = SharedEnvironment::Get(); }
  static void TearDownTestSuite() { env_ = nullptr; }

  void SetUpTest() override {
    primary_proxy_ = std::make_unique<FaultProxy>(*env_, dir_.path() + "/primary", "PEBBLE_PORT");
    ASSERT_TRUE(primary_proxy_->ready()) << ReadText(dir_.path() + "/primary/proxy.out");
    backup_proxy_ = std::make_unique<FaultProxy>(*env_, dir_.path() + "/backup", "PEBBLE2_PORT");
    ASSERT_TRUE(backup_proxy_->ready()) << ReadText(dir_.path() + "/backup/proxy.out");
  }

  // The first Pebble behind its proxy, no EAB.
  CaBlock Primary() const {
    CaBlock ca;
    ca.name = "primary";
    ca.server = primary_proxy_->url();
    ca.issuer_roots = env_->Get("PEBBLE_ROOTS_PEM");
    return ca;
  }
  // The second Pebble behind its proxy, with the environment's EAB key.
  CaBlock Backup() const {
    CaBlock ca;
    ca.name = "backup";
    ca.server = backup_proxy_->url();
    ca.issuer_roots = env_->Get("PEBBLE2_ROOTS_PEM");
    ca.eab_kid = env_->Get("ACME2_EAB_KID");
    ca.eab_hmac_file = env_->Get("ACME2_EAB_HMAC_FILE");
    return ca;
  }

  // Writes the config: the CA blocks, the http-01 and tls-alpn-01 solvers on
  // the environment's challenge ports, the certificates, and `extra`.
  void Configure(const std::vector<CaBlock>& cas, const std::vector<CertBlock>& certs,
                 const std::string& extra = "") {
    std::ostringstream f;
    f << "state_dir = " << Quoted(state_) << "\n";
    for (const CaBlock& ca : cas) {
      f << "[[ca]]\nname = " << Quoted(ca.name) << "\nserver = " << Quoted(ca.server)
        << "\nca_bundle = " << Quoted(env_->Get("ACME_CA_BUNDLE"))
        << "\nissuer_roots = " << Quoted(ca.issuer_roots)
        << "\nemail = \"ops@example.com\"\nagree_tos = true\ntimeout = " << Quoted(ca.timeout)
        << "\n";
      if (!ca.eab_kid.empty()) f << "eab_kid = " << Quoted(ca.eab_kid) << "\n";
      if (!ca.eab_hmac_file.empty()) f << "eab_hmac_file = " << Quoted(ca.eab_hmac_file) << "\n";
      if (!ca.profile.empty()) f << "profile = " << Quoted(ca.profile) << "\n";
      if (!ca.preferred_chain.empty()) {
        f << "preferred_chain = " << Quoted(ca.preferred_chain) << "\n";
      }
      if (!ca.caa_identities.empty()) {
        f << "caa_identities = " << TomlList(ca.caa_identities) << "\n";
      }
      f << ca.extra;
    }
    f << "[solvers.http-01]\nlisten = \"127.0.0.1:" << env_->Get("PEBBLE_HTTP_PORT") << "\"\n"
      << "[solvers.tls-alpn-01]\nlisten = \"127.0.0.1:" << env_->Get("PEBBLE_TLS_PORT")
      << "\"\n";
    f << extra;
    for (const CertBlock& c : certs) {
      f << "[[certificate]]\nname = " << Quoted(c.name) << "\ndomains = " << TomlList(c.domains)
        << "\ncas = " << TomlList(c.cas) << "\nchallenges = " << TomlList(c.challenges) << "\n"
        << c.extra;
    }
    WriteText(config_, f.str());
  }

  // `certkeeper --json args...`; the parsed output (discarded when not JSON).
  json RunJson(std::vector<std::string> args, CommandResult* result = nullptr) {
    args.insert(args.begin(), "--json");
    CommandResult r = Run(args);
    if (result != nullptr) *result = r;
    return json::parse(r.out, nullptr, false);
  }

  // `issue NAME -d DOMAIN...` for a certificate of the config.
  CommandResult Issue(const CertBlock& cert) {
    std::vector<std::string> args = {"issue", cert.name};
    for (const auto& d : cert.domains) args.insert(args.end(), {"-d", d});
    return Run(args);
  }

  // The steps of kind "ca" of the newest attempt of `name` (history --json).
  std::vector<json> CaSteps(const std::string& name) {
    json history = RunJson({"history", name});
    std::vector<json> steps;
    if (!history.is_array() || history.empty()) return steps;
    for (const auto& s : history[0]["steps"]) {
      if (s.value("kind", "") == "ca") steps.push_back(s);
    }
    return steps;
  }

  // The "ca" of the live version, as `show --json` reports it.
  std::string LiveCa(const std::string& name) {
    json show = RunJson({"show", name});
    if (!show.is_object() || !show.contains("versions")) return "";
    for (const auto& v : show["versions"]) {
      if (v.value("state", "") == "deployed" && v.contains("ca") && v["ca"].is_string()) {
        return v["ca"];
      }
    }
    return "";
  }

  // The "ca" `list --json` reports for `name`.
  std::string ListedCa(const std::string& name) {
    json list = RunJson({"list"});
    if (!list.is_array()) return "";
    for (const auto& c : list) {
      if (c.value("name", "") == name && c.contains("ca") && c["ca"].is_string()) return c["ca"];
    }
    return "";
  }

  std::string LivePath(const std::string& name, const std::string& file) const {
    return state_ + "/live/" + name + "/" + file;
  }

  // Requests that reached a proxy, excluding none.
  static int Total(const FaultProxy& proxy) { return static_cast<int>(proxy.Requests().size()); }

  std::unique_ptr<FaultProxy> primary_proxy_;
  std::unique_ptr<FaultProxy> backup_proxy_;
};

}  // namespace certkeeper::multi_ca

#endif  // CERTKEEPER_TESTS_E2E_MULTI_CA_SUPPORT_H_
