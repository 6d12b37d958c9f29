#include "tests/support/testenv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <httplib.h>

#include "base/fs.h"
#include "base/process.h"

namespace certkeeper::testing {

namespace {

constexpr int kStartAttempts = 3;
constexpr std::chrono::seconds kUpTimeout(120);
constexpr std::chrono::seconds kDownTimeout(60);
constexpr std::chrono::seconds kHttpTimeout(10);

std::string ScriptPath(const char* name) {
  return std::string(CERTKEEPER_SOURCE_DIR) + "/pebble-testenv/" + name;
}

// Binds 127.0.0.1:port (0: any) with the given socket type; returns the bound
// port, or 0 when the port is taken.
int BindLoopback(int type, int port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int bound = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      bound = ntohs(addr.sin_port);
    }
  }
  close(fd);
  return bound;
}

// Ports already handed out by this process, so two environments started side by
// side never share one.
std::mutex ports_mutex;
std::set<int>& HandedOutPorts() {
  static auto* ports = new std::set<int>();
  return *ports;
}

int PickPort(bool need_udp) {
  std::lock_guard<std::mutex> lock(ports_mutex);
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = BindLoopback(SOCK_STREAM, 0);
    if (port == 0 || HandedOutPorts().count(port) > 0) continue;
    if (need_udp && BindLoopback(SOCK_DGRAM, port) != port) continue;
    HandedOutPorts().insert(port);
    return port;
  }
  ADD_FAILURE() << "no free port on 127.0.0.1 after 200 attempts";
  return 0;
}

bool MentionsPortInUse(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("address already in use") != std::string::npos;
}

Result<std::string> MakeStateDir() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/certkeeper-testenv-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status(ErrorCode::kIo, "cannot create a state directory").Where(pattern);
  }
  return pattern;
}

// A client for a base URL such as "https://127.0.0.1:15000"; with a CA bundle the
// server certificate is verified against it (and only it).
std::unique_ptr<httplib::Client> MakeClient(const std::string& base_url,
                                            const std::string& ca_bundle) {
  auto client = std::make_unique<httplib::Client>(base_url);
  if (!ca_bundle.empty()) {
    client->set_ca_cert_path(ca_bundle);
    client->enable_server_certificate_verification(true);
  }
  client->set_connection_timeout(kHttpTimeout);
  client->set_read_timeout(kHttpTimeout);
  client->set_write_timeout(kHttpTimeout);
  return client;
}

}  // namespace

int PickFreePort() { return PickPort(/*need_udp=*/false); }
int PickFreeDnsPort() { return PickPort(/*need_udp=*/true); }

bool IsRunning(const RecordedProcess& process) {
  std::ifstream in("/proc/" + std::to_string(process.pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (stat.empty() || paren == std::string::npos) return false;
  // Fields after the command name: state (3), ..., starttime (22).
  std::istringstream rest(stat.substr(paren + 1));
  std::string state;
  rest >> state;
  std::string field;
  for (int i = 4; i < 22 && rest >> field; ++i) {
  }
  unsigned long long start = 0;
  if (!(rest >> start)) return false;
  return start == process.start_ticks && state != "Z" && state != "X";
}

std::map<std::string, std::string> ParseExportLines(const std::string& text) {
  std::map<std::string, std::string> vars;
  std::istringstream lines(text);
  std::string line;
  const std::string prefix = "export ";
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::string assignment = line.substr(prefix.size());
    size_t eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string value = assignment.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      value = value.substr(1, value.size() - 2);
    }
    vars[assignment.substr(0, eq)] = value;
  }
  return vars;
}

std::unique_ptr<TestEnv> TestEnv::Start(const TestEnvOptions& options) {
  std::string failures;
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    auto state_dir = MakeStateDir();
    if (!state_dir.ok()) {
      ADD_FAILURE() << state_dir.status().ToUserString();
      return nullptr;
    }
    std::unique_ptr<TestEnv> env(new TestEnv());
    env->state_dir_ = *state_dir;

    ProcessSpec spec;
    spec.argv = {ScriptPath("up"), "--state-dir", env->state_dir_, "--watch-pid",
                 std::to_string(getpid())};
    if (options.pebble2) spec.argv.insert(spec.argv.end(), {"--with", "pebble2"});
    if (options.knot) spec.argv.insert(spec.argv.end(), {"--with", "knot"});
    if (options.nginx) spec.argv.insert(spec.argv.end(), {"--with", "nginx"});
    if (options.sshd) spec.argv.insert(spec.argv.end(), {"--with", "sshd"});
    if (options.prometheus) spec.argv.insert(spec.argv.end(), {"--with", "prometheus"});
    if (options.ocsp) spec.argv.insert(spec.argv.end(), {"--with", "ocsp"});
    if (options.alertmanager) spec.argv.insert(spec.argv.end(), {"--with", "alertmanager"});
    if (options.postgres) spec.argv.insert(spec.argv.end(), {"--with", "postgres"});
    if (options.pdns) spec.argv.insert(spec.argv.end(), {"--with", "pdns"});
    if (options.bind) spec.argv.insert(spec.argv.end(), {"--with", "bind"});
    spec.env = {
        {"PEBBLE_PORT", std::to_string(PickFreePort())},
        {"PEBBLE_MGMT_PORT", std::to_string(PickFreePort())},
        {"PEBBLE2_PORT", std::to_string(PickFreePort())},
        {"PEBBLE2_MGMT_PORT", std::to_string(PickFreePort())},
        {"PEBBLE_HTTP_PORT", std::to_string(PickFreePort())},
        {"PEBBLE_TLS_PORT", std::to_string(PickFreePort())},
        {"CHALLTESTSRV_DNS_PORT", std::to_string(PickFreeDnsPort())},
        {"CHALLTESTSRV_MGMT_PORT", std::to_string(PickFreePort())},
        {"KNOT_PORT", std::to_string(PickFreeDnsPort())},
        {"OCSP_PORT", std::to_string(PickFreePort())},
        {"NGINX_PORT", std::to_string(PickFreePort())},
        {"SSHD_PORT", std::to_string(PickFreePort())},
        {"PROMETHEUS_PORT", std::to_string(PickFreePort())},
        {"PROMETHEUS_SCRAPE_PORT", std::to_string(PickFreePort())},
        {"ALERTMANAGER_PORT", std::to_string(PickFreePort())},
        {"POSTGRES_PORT", std::to_string(PickFreePort())},
        {"PDNS_PORT", std::to_string(PickFreeDnsPort())},
        {"PDNS_API_PORT", std::to_string(PickFreePort())},
        {"BIND_PORT", std::to_string(PickFreeDnsPort())},
    };
    for (const auto& override_kv : options.env) {
      // Not a structured binding: clang 14 cannot capture those in a lambda.
      const std::string& name = override_kv.first;
      auto same = [&](const auto& kv) { return kv.first == name; };
      spec.env.erase(std::remove_if(spec.env.begin(), spec.env.end(), same), spec.env.end());
      spec.env.emplace_back(name, override_kv.second);
    }
    spec.timeout = kUpTimeout;

    auto run = RunProcess(spec);
    if (!run.ok()) {
      ADD_FAILURE() << "cannot run " << spec.argv[0] << ": " << run.status().ToUserString();
      return nullptr;
    }
    if (run->success()) {
      env->vars_ = ParseExportLines(run->stdout_data);
      if (env->Has("ACME_DIRECTORY_URL")) return env;
      failures += "\nup printed no ACME_DIRECTORY_URL; stdout:\n" + run->stdout_data;
    }
    failures += "\n--- attempt " + std::to_string(attempt) + ": pebble-testenv/up " +
                run->Describe() + "; stderr:\n" + run->stderr_data;
    // env's destructor runs `down` (a no-op when up cleaned up after itself).
    if (!MentionsPortInUse(run->stderr_data)) break;
  }
  ADD_FAILURE() << "the test environment did not start:" << failures;
  return nullptr;
}

TestEnv::~TestEnv() {
  Status stopped = Stop();
  if (!stopped.ok()) {
    ADD_FAILURE() << stopped.ToUserString() << "\nstate directory kept: " << state_dir_;
    return;
  }
  Status removed = fs::RemoveAll(state_dir_);
  if (!removed.ok()) ADD_FAILURE() << removed.ToUserString();
}

Status TestEnv::Stop() {
  if (stopped_) return Status::Ok();
  ProcessSpec spec;
  spec.argv = {ScriptPath("down"), "--state-dir", state_dir_};
  spec.timeout = kDownTimeout;
  auto run = RunProcessChecked(spec);
  if (!run.ok()) {
    return Status(run.status()).Annotate("stopping the test environment").Where(state_dir_);
  }
  stopped_ = true;
  return Status::Ok();
}

std::string TestEnv::Get(const std::string& name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) {
    ADD_FAILURE() << "the test environment exported no " << name
                  << " (was the component that provides it requested?)";
    return "";
  }
  return it->second;
}

EnvVars TestEnv::AsEnv() const { return EnvVars(vars_.begin(), vars_.end()); }

std::vector<RecordedProcess> TestEnv::RecordedProcesses() const {
  std::vector<RecordedProcess> processes;
  std::ifstream in(state_dir_ + "/pids");
  RecordedProcess p;
  while (in >> p.name >> p.pid >> p.start_ticks) processes.push_back(p);
  return processes;
}

std::string TestEnv::ChalltestsrvPost(const std::string& path, const std::string& json_body) {
  auto client = MakeClient(Get("CHALLTESTSRV_URL"), "");
  auto response = client->Post(path, json_body, "application/json");
  if (!response) {
    ADD_FAILURE() << "challtestsrv POST " << path << " failed: "
                  << httplib::to_string(response.error());
    return "";
  }
  if (response->status != 200) {
    ADD_FAILURE() << "challtestsrv POST " << path << " answered " << response->status << ": "
                  << response->body;
  }
  return response->body;
}

Result<std::string> TestEnv::PebbleManagementGet(const std::string& path,
                                                 const std::string& mgmt_url_var) const {
  const std::string base = Get(mgmt_url_var);
  const std::string url = base + path;
  auto client = MakeClient(base, Get("ACME_CA_BUNDLE"));
  auto response = client->Get(path);
  if (!response) {
    return Status(ErrorCode::kUnavailable,
                  "request failed: " + httplib::to_string(response.error()))
        .Where(url);
  }
  if (response->status == 404) {
    return Status(ErrorCode::kNotFound, "Pebble answered 404").Where(url);
  }
  if (response->status != 200) {
    return Status(ErrorCode::kProtocol, "HTTP " + std::to_string(response->status) + ": " +
                                            response->body)
        .Where(url);
  }
  return response->body;
}

Result<nlohmann::json> TestEnv::PebbleCertStatus(const std::string& serial_hex,
                                                 const std::string& mgmt_url_var) const {
  std::string serial;
  for (size_t i = 0; i < serial_hex.size(); ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(serial_hex[i])));
    if (c == 'x' && i == 1 && serial_hex[0] == '0') {
      serial.clear();
      continue;
    }
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return Status(ErrorCode::kInvalidArgument, "serial is not hexadecimal")
          .Where(serial_hex);
    }
    serial.push_back(c);
  }
  serial.erase(0, std::min(serial.find_first_not_of('0'), serial.size()));
  if (serial.empty()) {
    return Status(ErrorCode::kInvalidArgument, "empty serial").Where(serial_hex);
  }
  const std::string path = "/cert-status-by-serial/" + serial;
  auto body = PebbleManagementGet(path, mgmt_url_var);
  if (!body.ok()) {
    if (body.status().code() == ErrorCode::kNotFound) {
      return Status(ErrorCode::kNotFound, "Pebble knows no certificate with this serial")
          .Where(Get(mgmt_url_var) + path);
    }
    return body.status();
  }
  auto json = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status(ErrorCode::kProtocol, "response is not a JSON object")
        .Where(Get(mgmt_url_var) + path);
  }
  return json;
}

namespace {

std::string ReadOrFail(const std::string& path) {
  auto pem = fs::ReadFile(path);
  if (!pem.ok()) {
    ADD_FAILURE() << pem.status().ToUserString();
    return "";
  }
  return *pem;
}

}  // namespace

Status TestEnv::RestartPostgres() {
  ProcessSpec spec;
  spec.argv = {ScriptPath("postgres-restart"), state_dir_};
  spec.timeout = kUpTimeout;
  auto run = RunProcessChecked(spec);
  if (!run.ok()) return run.status();
  std::string pid = run->stdout_data;
  while (!pid.empty() && std::isspace(static_cast<unsigned char>(pid.back()))) pid.pop_back();
  if (pid.empty() || !std::all_of(pid.begin(), pid.end(), [](unsigned char c) {
        return std::isdigit(c) != 0;
      })) {
    return Status(ErrorCode::kProtocol, "postgres-restart printed no PID: " + run->stdout_data)
        .Where(state_dir_);
  }
  vars_["POSTGRES_PID"] = pid;
  return Status::Ok();
}

Result<std::string> TestEnv::Psql(const std::string& sql) const {
  ProcessSpec spec;
  spec.argv = {ScriptPath("postgres-psql"), state_dir_, "-At", "-c", sql};
  spec.timeout = kDownTimeout;
  spec.max_output = 4 * 1024 * 1024;
  auto run = RunProcessChecked(spec);
  if (!run.ok()) return run.status();
  return std::move(run->stdout_data);
}

std::string TestEnv::PostgresPassword() const {
  return ReadOrFail(Get("POSTGRES_PASSWORD_FILE"));
}

std::string TestEnv::PebbleRootPem() const { return ReadOrFail(Get("PEBBLE_ROOT_PEM")); }
std::string TestEnv::Pebble2RootPem() const { return ReadOrFail(Get("PEBBLE2_ROOT_PEM")); }

CommandResult RunCertkeeper(const std::vector<std::string>& args, const EnvVars& env,
                            std::chrono::seconds timeout) {
  ProcessSpec spec;
  spec.argv.push_back(CERTKEEPER_BINARY);
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = env;
  spec.timeout = timeout;
  spec.max_output = 4 * 1024 * 1024;
  CommandResult result;
  auto run = RunProcess(spec);
  if (!run.ok()) {
    ADD_FAILURE() << "cannot run certkeeper: " << run.status().ToUserString();
    result.err = run.status().ToUserString();
    return result;
  }
  result.exit_code = run->signal == 0 && !run->timed_out ? run->exit_code : -1;
  result.out = std::move(run->stdout_data);
  result.err = std::move(run->stderr_data);
  if (run->timed_out) result.err += "\n[certkeeper timed out after " +
                                    std::to_string(timeout.count()) + "s]";
  return result;
}

}  // namespace certkeeper::testing
