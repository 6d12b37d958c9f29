// Pieces of the fleet end-to-end tests: hosts (a state directory and a config
// file each, one shared PostgreSQL inventory), `certkeeper` runs in the
// background with stdout and stderr kept apart (the --json outcomes are on
// stdout), and the inventory's figures read through psql. Every process started
// here is stopped by PID in a destructor, also when an assertion fails.
#ifndef CERTKEEPER_TESTS_E2E_FLEET_SUPPORT_H_
#define CERTKEEPER_TESTS_E2E_FLEET_SUPPORT_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/child_process.h"
#include "tests/e2e/renew_support.h"

namespace certkeeper::fleet_test {

using renew_test::ReadText;
using renew_test::WriteText;
using nlohmann::json;

// A certkeeper process: execv (no shell), stdout and stderr to their own files.
class HostRun {
 public:
  HostRun(const std::vector<std::string>& argv, const std::string& out, const std::string& err)
      : out_(out), err_(err), child_(argv, out, err) {}

  // Sends sig and reaps the process.
  void Kill(int sig) { child_.Kill(sig); }
  // Waits (bounded; SIGKILL after the timeout) and returns the wait status.
  int Wait(std::chrono::milliseconds timeout) { return child_.Wait(timeout); }
  // Whether the process has ended (reaped now if so).
  bool Exited() { return child_.Exited(); }
  // The exit code once ended normally; -1 after a signal (a crash, a kill).
  int ExitCode() const {
    return WIFEXITED(child_.status()) ? WEXITSTATUS(child_.status()) : -1;
  }
  bool timed_out() const { return child_.timed_out(); }
  std::string Out() const { return ReadText(out_); }
  std::string Err() const { return ReadText(err_); }
  // What a failed assertion prints about this run.
  std::string Describe() const {
    std::string err = Err();
    if (err.size() > 4000) err = "..." + err.substr(err.size() - 4000);
    // The failed outcomes of the run's output, whole, say why it did not exit 0.
    std::string failed;
    json outcomes = json::parse(Out(), nullptr, false);
    if (outcomes.is_array()) {
      for (const auto& o : outcomes) {
        if (o.value("outcome", "") == "failed" && failed.size() < 8000) failed += o.dump() + "\n";
      }
    } else {
      failed = "(stdout is not a JSON array) " + Out().substr(0, 2000) + "\n";
    }
    return "status " + std::to_string(child_.status()) + (timed_out() ? " (timed out)" : "") +
           "\nfailed outcomes:\n" + failed + "\nstderr:\n" + err;
  }

 private:
  std::string out_, err_;
  child_process::Child child_;
};

// One host of the fleet: its name, state directory, config file and the port
// of its own http-01 solver (Pebble validates nothing with
// PEBBLE_VA_ALWAYS_VALID, but hosts running at once must not share a port).
struct Host {
  std::string name;
  std::string dir;
  std::string state;
  std::string config;
  int http_port = 0;
  int runs = 0;

  // `certkeeper -c config --json args...` in the background.
  std::unique_ptr<HostRun> Start(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CERTKEEPER_BINARY, "-c", config, "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string base = dir + "/run" + std::to_string(++runs);
    return std::make_unique<HostRun>(argv, base + ".out", base + ".err");
  }
  std::string Live(const std::string& cert) const {
    return state + "/live/" + cert + "/cert.pem";
  }
};

// Certificate names f0000, f0001, ... for fNNNN.fleet.test.
inline std::string CertName(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "f%04d", i);
  return buf;
}

// 32 random bytes, owner-only: an encryption_key_file.
inline void WriteKeyFile(const std::string& path) {
  std::string key(32, '\0');
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  ssize_t got = fd >= 0 ? read(fd, key.data(), key.size()) : -1;
  if (fd >= 0) close(fd);
  ASSERT_EQ(got, 32);
  int out = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(out, 0) << path;
  ASSERT_EQ(write(out, key.data(), key.size()), 32);
  close(out);
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
}

// The config of one fleet host: its name, the shared store, `count`
// certificates delivered by every host, the CA at `server`.
inline std::string FleetConfig(const testing::TestEnv& env, const Host& host,
                               const std::string& server, const std::string& key_file,
                               int count, const std::string& lease_ttl) {
  std::ostringstream f;
  f << "host = \"" << host.name << "\"\n"
    << "state_dir = \"" << host.state << "\"\n"
    << "[store]\n"
    << "url = \"" << env.Get("POSTGRES_URL") << "\"\n"
    << "password_file = \"" << env.Get("POSTGRES_PASSWORD_FILE") << "\"\n"
    << "encryption_key_file = \"" << key_file << "\"\n"
    << "lease_ttl = \"" << lease_ttl << "\"\n"
    << "[acme]\n"
    << "server = \"" << server << "\"\n"
    << "ca_bundle = \"" << env.Get("ACME_CA_BUNDLE") << "\"\n"
    << "issuer_roots = \"" << env.Get("PEBBLE_ROOT_PEM") << "\"\n"
    << "email = \"ops@example.com\"\n"
    << "agree_tos = true\n"
    << "[solvers.http-01]\n"
    << "listen = \"127.0.0.1:" << host.http_port << "\"\n"
    << "[renewal.budgets]\n"
    << "new_orders_per_3h = 0\n"
    << "certificates_per_registered_domain_per_week = 0\n"
    << "duplicate_certificates_per_week = 0\n";
  for (int i = 0; i < count; ++i) {
    f << "[[certificate]]\nname = \"" << CertName(i) << "\"\ndomains = [\"" << CertName(i)
      << ".fleet.test\"]\nkey_type = \"ec256\"\nchallenges = [\"http-01\"]\n";
  }
  return f.str();
}

// A number psql printed ("42\n"); -1 when the query failed.
inline long long PsqlCount(const testing::TestEnv& env, const std::string& sql) {
  auto out = env.Psql(sql);
  if (!out.ok() || out->empty()) return -1;
  return std::stoll(*out);
}

// How many of the first `count` certificates have live/<name>/cert.pem on host.
inline int LiveCount(const Host& host, int count) {
  int n = 0;
  for (int i = 0; i < count; ++i) n += std::filesystem::exists(host.Live(CertName(i))) ? 1 : 0;
  return n;
}

}  // namespace certkeeper::fleet_test

#endif  // CERTKEEPER_TESTS_E2E_FLEET_SUPPORT_H_
