// A user's certkeeper session against one test environment, shared by the
// failover end-to-end tests (tests/e2e/failover_*_test.cc): a config file with
// the [acme] section for the environment plus the [solvers.*] tables a test
// chooses, `issue`, `history --json`, and checks of what ended up on disk and in
// challtestsrv's DNS.
#ifndef CERTKEEPER_TESTS_E2E_FAILOVER_SESSION_H_
#define CERTKEEPER_TESTS_E2E_FAILOVER_SESSION_H_

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/fs.h"
#include "challenges/dns01_solver.h"
#include "challenges/dns_client.h"
#include "challenges/dns_lookup.h"
#include "tests/support/testenv.h"

namespace certkeeper::failover {

using nlohmann::json;
using testing::CommandResult;
using testing::TestEnv;

// A TCP listener on 127.0.0.1:port held by the test itself, so that a solver
// finds its port taken. Closed by the destructor, also when the test fails.
class PortBlocker {
 public:
  explicit PortBlocker(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    // As the solvers bind: connections of an earlier listener in TIME_WAIT do
    // not count as taken, a listener of another program does.
    int yes = 1;
    if (fd_ >= 0) setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bound_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
             listen(fd_, 1) == 0;
  }
  ~PortBlocker() {
    if (fd_ >= 0) close(fd_);
  }
  PortBlocker(const PortBlocker&) = delete;
  PortBlocker& operator=(const PortBlocker&) = delete;
  bool bound() const { return bound_; }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

// True when 127.0.0.1:port can be bound now (nothing left listening on it).
inline bool PortIsFree(int port) {
  PortBlocker probe(port);
  return probe.bound();
}

inline std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// [solvers.*] tables for the environment's ports and services.
inline std::string HttpStandalone(const TestEnv& env) {
  return "[solvers.http-01]\nlisten = \"127.0.0.1:" + env.Get("PEBBLE_HTTP_PORT") + "\"\n";
}
inline std::string TlsAlpn(const TestEnv& env) {
  return "[solvers.tls-alpn-01]\nlisten = \"127.0.0.1:" + env.Get("PEBBLE_TLS_PORT") + "\"\n";
}
inline std::string ChalltestsrvDns(const TestEnv& env, const std::string& url) {
  return "[solvers.dns-01]\nprovider = \"challtestsrv\"\nresolver = " +
         Quoted(env.Get("CHALLTESTSRV_DNS")) + "\npropagation_timeout = \"10s\"\nurl = " +
         Quoted(url) + "\ntimeout = \"3s\"\n";
}
inline std::string ExecDns(const TestEnv& env, const std::string& script,
                           const std::string& timeout = "20s") {
  return "[solvers.dns-01]\nprovider = \"exec\"\ncommand = [" + Quoted(script) +
         "]\nresolver = " + Quoted(env.Get("CHALLTESTSRV_DNS")) +
         "\npropagation_timeout = \"10s\"\ntimeout = " + Quoted(timeout) + "\n";
}

// An executable file (0700) with the given text.
inline void WriteScript(const std::string& path, const std::string& text) {
  ASSERT_TRUE(fs::WriteFileAtomic(path, text).ok()) << path;
  ASSERT_EQ(chmod(path.c_str(), 0700), 0) << path;
}

// An exec DNS hook that writes through challtestsrv's management API with curl.
// The record name and value arrive as "$2" and "$3" (challenges/dns_provider_exec.h)
// and reach curl as one argv entry built by jq-free quoting: both are checked to
// be plain DNS/base64url characters first. `refuse` is a shell pattern of FQDNs
// the hook rejects (exit 1); `hang` one it hangs on (sleeps in a child process).
inline std::string ChalltestsrvHookScript(const std::string& url, const std::string& refuse = "",
                                          const std::string& hang = "") {
  std::string s = "#!/bin/sh\nset -eu\naction=$1 fqdn=$2 value=$3\n";
  s += "case \"$fqdn$value\" in *[!A-Za-z0-9._-]*) echo \"bad input\" >&2; exit 2;; esac\n";
  if (!refuse.empty()) {
    s += "case \"$fqdn\" in " + refuse + ") echo \"refusing $fqdn\" >&2; exit 1;; esac\n";
  }
  if (!hang.empty()) s += "case \"$fqdn\" in " + hang + ") sleep 120; exit 0;; esac\n";
  s += "case \"$action\" in present) path=/set-txt;; cleanup) path=/clear-txt;; "
       "*) exit 2;; esac\n";
  s += "body=\"{\\\"host\\\":\\\"$fqdn\\\",\\\"value\\\":\\\"$value\\\"}\"\n";
  s += "exec /usr/bin/curl -fsS --max-time 5 -o /dev/null -X POST -d \"$body\" \"" + url +
       "$path\"\n";
  return s;
}

// One user's state directory and config file.
class Session {
 public:
  explicit Session(TestEnv* env)
      : env_(env), state_(dir_.path() + "/state"), config_(dir_.path() + "/certkeeper.toml") {}

  const std::string& dir() const { return dir_.path(); }
  const std::string& state() const { return state_; }

  void WriteConfig(const std::string& solvers) {
    std::string text = "state_dir = " + Quoted(state_) + "\n[acme]\nserver = " +
                       Quoted(env_->Get("ACME_DIRECTORY_URL")) + "\nca_bundle = " +
                       Quoted(env_->Get("ACME_CA_BUNDLE")) + "\nissuer_roots = " +
                       Quoted(env_->Get("PEBBLE_ROOT_PEM")) +
                       "\nemail = \"ops@example.com\"\nagree_tos = true\n" + solvers;
    ASSERT_TRUE(fs::WriteFileAtomic(config_, text).ok());
  }

  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"-c", config_});
    return testing::RunCertkeeper(args, {}, std::chrono::seconds(90));
  }

  CommandResult Issue(const std::string& name, const std::vector<std::string>& domains,
                      const std::string& challenges) {
    std::vector<std::string> args = {"issue", name};
    for (const std::string& d : domains) args.insert(args.end(), {"-d", d});
    args.insert(args.end(), {"--challenge", challenges});
    return Run(args);
  }

  json Json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  // The newest attempt of `history NAME --json`.
  json LastAttempt(const std::string& name) {
    json history = Json({"history", name});
    if (!history.is_array() || history.empty()) {
      ADD_FAILURE() << "no attempts for " << name << ": " << history.dump();
      return json::object();
    }
    return history[0];
  }

  std::string Live(const std::string& name, const std::string& file) const {
    return state_ + "/live/" + name + "/" + file;
  }

  // The live version's chain verifies to Pebble's root, its key matches and is
  // 0600, and it covers every domain.
  void ExpectValidLive(const std::string& name, const std::vector<std::string>& domains) {
    auto cert = fs::ReadFile(Live(name, "cert.pem"));
    auto chain = fs::ReadFile(Live(name, "chain.pem"));
    auto key_pem = fs::ReadFile(Live(name, "privkey.pem"));
    ASSERT_TRUE(cert.ok() && chain.ok() && key_pem.ok()) << "no live files for " << name;
    Status verified = VerifyChain(*cert, *chain, env_->PebbleRootPem(), RealClock()->Now());
    EXPECT_TRUE(verified.ok()) << verified.ToString();
    auto key = PrivateKey::FromPem(*key_pem);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_TRUE(KeyMatchesCertificate(*key, *cert).ok());
    auto info = ParseCertificatePem(*cert);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->dns_names.size(), domains.size());
    for (const auto& d : domains) EXPECT_TRUE(CertificateCovers(*info, d)) << d;
    struct stat st;
    ASSERT_EQ(stat(Live(name, "privkey.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }

 private:
  TestEnv* env_;
  fs::TempDir dir_;
  std::string state_;
  std::string config_;
};

// Steps of one attempt that match; an empty filter matches anything.
inline std::vector<json> Steps(const json& attempt, const std::string& kind,
                               const std::string& challenge, const std::string& identifier,
                               const std::string& result) {
  std::vector<json> out;
  if (!attempt.contains("steps")) return out;
  auto field = [](const json& step, const char* name) {
    return step.contains(name) && step[name].is_string() ? step[name].get<std::string>()
                                                         : std::string();
  };
  for (const json& s : attempt["steps"]) {
    if (!kind.empty() && field(s, "kind") != kind) continue;
    if (!challenge.empty() && field(s, "challenge") != challenge) continue;
    if (!identifier.empty() && field(s, "identifier") != identifier) continue;
    if (!result.empty() && field(s, "result") != result) continue;
    out.push_back(s);
  }
  return out;
}

// TXT values at "_acme-challenge.<domain>." as challtestsrv's DNS answers them.
inline std::vector<std::string> ChalltestsrvTxt(const TestEnv& env, const std::string& domain) {
  challenges::dns::NetDnsClient client;
  challenges::dns::DnsLookup lookup(&client, std::chrono::milliseconds(3000));
  auto server = challenges::dns::ParseServerAddress(env.Get("CHALLTESTSRV_DNS"));
  EXPECT_TRUE(server.ok());
  if (!server.ok()) return {"<bad server address>"};
  auto values = lookup.TxtValues(*server, "_acme-challenge." + domain + ".", true);
  EXPECT_TRUE(values.ok()) << values.status().ToString();
  if (!values.ok()) return {"<lookup failed>"};
  return *values;
}

// Regular files below dir (none when dir does not exist).
inline std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

}  // namespace certkeeper::failover

#endif  // CERTKEEPER_TESTS_E2E_FAILOVER_SESSION_H_
