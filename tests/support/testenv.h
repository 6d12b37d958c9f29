// The end-to-end test environment from C++: Pebble, pebble-challtestsrv and,
// on request, knot, nginx and sshd, started by pebble-testenv/up on free ports in
// a fresh state directory and stopped by pebble-testenv/down when the TestEnv is
// destroyed, also when the test fails or throws. See pebble-testenv/README.md for
// the exported variables that Get() returns.
//
//   TestEnvOptions options;
//   options.nginx = true;
//   auto env = TestEnv::Start(options);
//   ASSERT_NE(env, nullptr);
//   auto result = RunCertkeeper({"--server", env->Get("ACME_DIRECTORY_URL"),
//                                "--ca-bundle", env->Get("ACME_CA_BUNDLE"), "list"});
#ifndef CERTKEEPER_TESTS_SUPPORT_TESTENV_H_
#define CERTKEEPER_TESTS_SUPPORT_TESTENV_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace certkeeper::testing {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

struct TestEnvOptions {
  // A second Pebble ("--with pebble2"): its own hierarchy and ports, the same
  // DNS and challenge ports, external account binding required (ACME2_* and
  // PEBBLE2_* variables).
  bool pebble2 = false;
  bool knot = false;
  bool nginx = false;
  bool sshd = false;
  // A Prometheus server (PROMETHEUS_URL) scraping
  // 127.0.0.1:PROMETHEUS_SCRAPE_PORT/metrics every second.
  bool prometheus = false;
  // A local openssl CA with an OCSP responder on 127.0.0.1 and a CRL served
  // by the test nginx ("--with ocsp"; implies nginx): OCSP_* variables and
  // pebble-testenv/ocsp-revoke (OCSP_REVOKE) to revoke its leaf.
  bool ocsp = false;
  // A Prometheus Alertmanager on 127.0.0.1 (ALERTMANAGER_URL, ALERTMANAGER_PORT).
  bool alertmanager = false;
  // A fresh PostgreSQL cluster on 127.0.0.1 ("--with postgres"): role and
  // database certkeeper, password in POSTGRES_PASSWORD_FILE; POSTGRES_URL (no
  // password in it), POSTGRES_PORT, POSTGRES_PID, POSTGRES_DATA.
  bool postgres = false;
  // A PowerDNS Authoritative Server with the gsqlite3 backend and its HTTP API
  // ("--with pdns"): PDNS_API_URL, PDNS_API_KEY_FILE, PDNS_ZONE, PDNS_SERVER.
  // A BIND 9 named ("--with bind"): BIND_SERVER, BIND_ZONE (TSIG-updatable),
  // BIND_CNAME_DOMAIN (its _acme-challenge CNAMEs into BIND_ZONE), BIND_TSIG_*.
  // knot, pdns and bind each become Pebble's DNS server: at most one of them.
  bool pdns = false;
  bool bind = false;
  // Extra environment for the services, e.g. {"PEBBLE_WFE_NONCEREJECT", "30"},
  // {"PEBBLE_AUTHZREUSE", "0"}, {"PEBBLE_VA_ALWAYS_VALID", "1"},
  // {"PEBBLE_ALTERNATE_ROOTS", "2"}, {"PEBBLE_CERT_VALIDITY_PERIOD", "21600"}
  // (both Pebbles). Port variables given here override the free ports the
  // harness picked.
  EnvVars env;
};

// A port on 127.0.0.1 that was free for TCP a moment ago. Within one process a
// port is never handed out twice.
int PickFreePort();
// Like PickFreePort, but free for both TCP and UDP (for DNS servers).
int PickFreeDnsPort();

// One line of the state directory's process record.
struct RecordedProcess {
  // "pebble", "pebble2", "challtestsrv", "knot", "pdns", "bind", "nginx", "sshd", "prometheus",
  // "alertmanager", "ocsp", "postgres", "watchdog"
  std::string name;
  pid_t pid = 0;
  unsigned long long start_ticks = 0;  // /proc/PID/stat field 22
};

// True while that very process runs: same PID and start time, not a zombie.
bool IsRunning(const RecordedProcess& process);

class TestEnv {
 public:
  // Starts an environment; on failure records a test failure that includes the
  // output of `up` and returns nullptr (callers ASSERT_NE(env, nullptr)). When a
  // port turns out to be taken in the meantime it retries with new ports.
  static std::unique_ptr<TestEnv> Start(const TestEnvOptions& options = {});

  // Runs `down` and removes the state directory (kept, with a failure recorded,
  // when `down` could not stop everything).
  ~TestEnv();
  TestEnv(const TestEnv&) = delete;
  TestEnv& operator=(const TestEnv&) = delete;

  // The value of an exported variable; records a failure and returns "" when
  // `up` did not export it.
  std::string Get(const std::string& name) const;
  bool Has(const std::string& name) const { return vars_.count(name) > 0; }
  const std::map<std::string, std::string>& vars() const { return vars_; }
  const std::string& state_dir() const { return state_dir_; }
  // The variables as environment entries, e.g. for RunCertkeeper's env.
  EnvVars AsEnv() const;

  // The processes `up` recorded (read from the state directory now).
  std::vector<RecordedProcess> RecordedProcesses() const;

  // Runs `down` now; afterwards the destructor only removes the directory.
  Status Stop();

  // POSTs json_body to challtestsrv's management API (paths such as /add-a,
  // /clear-a, /set-txt, /clear-txt) and returns the response body; records a
  // failure when the request fails or does not answer 200.
  std::string ChalltestsrvPost(const std::string& path, const std::string& json_body);

  // Pebble's view of a certificate: GET /cert-status-by-serial/<serial> on the
  // management API (PEBBLE_MGMT_URL, or the variable mgmt_url_var names, e.g.
  // "PEBBLE2_MGMT_URL") over TLS verified with ACME_CA_BUNDLE. serial_hex may
  // carry colons, a 0x prefix, upper case or leading zeros. The object has at
  // least "Status" ("Valid" or "Revoked") and "Certificate" (PEM).
  Result<nlohmann::json> PebbleCertStatus(const std::string& serial_hex,
                                          const std::string& mgmt_url_var =
                                              "PEBBLE_MGMT_URL") const;

  // GET path (e.g. "/roots/1", "/intermediates/0") on a Pebble management API
  // (the variable mgmt_url_var names) over verified TLS; the body of a 200.
  Result<std::string> PebbleManagementGet(const std::string& path,
                                          const std::string& mgmt_url_var =
                                              "PEBBLE_MGMT_URL") const;

  // PostgreSQL (requires TestEnvOptions::postgres). Restarts the server on the
  // same port and data (pebble-testenv/postgres-restart): a fast shutdown that
  // ends every session, then a new postmaster, ready when this returns; the
  // exported POSTGRES_PID is updated.
  Status RestartPostgres();
  // Runs one SQL text through psql as certkeeper (pebble-testenv/postgres-psql,
  // unaligned, tuples only: "-At -c sql") and returns its stdout, e.g. "3\n"
  // for SELECT count(*); an error with psql's stderr when it fails.
  Result<std::string> Psql(const std::string& sql) const;
  // The generated password of the role certkeeper (POSTGRES_PASSWORD_FILE).
  std::string PostgresPassword() const;

  // The PEM of Pebble's issuing root (fetched by `up`); issued chains end at it.
  std::string PebbleRootPem() const;
  // The same for the second Pebble (requires TestEnvOptions::pebble2).
  std::string Pebble2RootPem() const;

 private:
  TestEnv() = default;

  std::string state_dir_;
  std::map<std::string, std::string> vars_;
  bool stopped_ = false;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or by the timeout
  std::string out;
  std::string err;
};

// Runs the certkeeper executable of this build with args (no shell involved) and
// env added to the inherited environment.
CommandResult RunCertkeeper(const std::vector<std::string>& args, const EnvVars& env = {},
                            std::chrono::seconds timeout = std::chrono::seconds(120));

// Parses `export NAME='value'` lines as printed by pebble-testenv/up; other lines
// are ignored.
std::map<std::string, std::string> ParseExportLines(const std::string& text);

}  // namespace certkeeper::testing

#endif  // CERTKEEPER_TESTS_SUPPORT_TESTENV_H_
