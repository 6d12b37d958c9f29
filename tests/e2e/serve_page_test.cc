// `certkeeper serve` as an operator runs it: certificates issued from a real
// Pebble, the server started on a free port of 127.0.0.1, /healthz and
// /api/certificates asked over HTTP, and the status page rendered by a real
// headless Chromium, whose DOM must hold every certificate with its state and
// whose screenshot is kept as a test artifact.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cli/status_page.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/testenv.h"

namespace certkeeper {
namespace {

using nlohmann::json;
using testing::CommandResult;

// Polls `done` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A child process (execv, no shell), stdout and stderr to a file; killed by
// its PID when destroyed, also when the test failed.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& out_path) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() { Kill(SIGKILL); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Sends sig and reaps (SIGKILL after 30 s); the exit code, or -1 when it
  // did not exit by itself.
  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    bool done = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                        std::chrono::seconds(30));
    if (!done) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    return done && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  bool Exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
};

constexpr char kChromium[] = "/usr/bin/chromium";

// Where the screenshots go: kept after the test, under the build directory.
std::string ArtifactDir() {
  std::string dir = std::string(CERTKEEPER_BUILD_DIR) + "/test-artifacts/serve";
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs headless Chromium with `args` (its own temporary profile, its own
// process group so that every process it starts is killed with it) and
// returns its stdout; bounded to 90 s.
std::string RunChromium(const std::vector<std::string>& args, const std::string& scratch) {
  std::vector<std::string> argv = {kChromium,       "--headless",    "--no-sandbox",
                                   "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                                   "--disable-dev-shm-usage",
                                   "--user-data-dir=" + scratch + "/chromium-profile"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c_args;
  for (auto& a : argv) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  const std::string out_path = scratch + "/chromium.out";
  const std::string err_path = scratch + "/chromium.err";
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    execv(kChromium, c_args.data());
    _exit(127);
  }
  EXPECT_GT(pid, 0);
  setpgid(pid, pid);
  int status = 0;
  bool exited = WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; },
                        std::chrono::seconds(90));
  kill(-pid, SIGKILL);  // the whole group: renderer and GPU processes included
  if (!exited) {
    waitpid(pid, &status, 0);
    ADD_FAILURE() << "chromium did not finish within 90 s: " << ReadText(err_path);
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadText(err_path);
  return ReadText(out_path);
}

void ExpectPng(const std::string& path) {
  std::string png = ReadText(path);
  ASSERT_GT(png.size(), 10000u) << path;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  std::cout << "status page screenshot: " << path << "\n";
}

class ServePageTest : public e2e_support::CertkeeperSuite {
 protected:
  void SetUpTest() override { WriteConfig(""); }

  void WriteConfig(const std::string& extra) {
    std::ofstream f(config_);
    f << "state_dir = \"" << state_ << "\"\n"
      << "[acme]\n"
      << "server = \"" << env_->Get("ACME_DIRECTORY_URL") << "\"\n"
      << "ca_bundle = \"" << env_->Get("ACME_CA_BUNDLE") << "\"\n"
      << "issuer_roots = \"" << env_->Get("PEBBLE_ROOT_PEM") << "\"\n"
      << "email = \"ops@example.com\"\n"
      << "agree_tos = true\n"
      << "[solvers.http-01]\n"
      << "listen = \"127.0.0.1:" << env_->Get("PEBBLE_HTTP_PORT") << "\"\n"
      << extra;
  }

  void Issue(const std::string& name, const std::vector<std::string>& domains) {
    std::vector<std::string> args = {"issue", name, "--challenge", "http-01"};
    for (const auto& d : domains) args.insert(args.end(), {"-d", d});
    CommandResult r = Run(args);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // `certkeeper serve` in the background, stopped by PID when the test ends.
  std::unique_ptr<Child> StartServe(int port, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {CERTKEEPER_BINARY, "-c", config_, "serve", "--listen",
                                     "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    serve_log_ = dir_.path() + "/serve.log";
    auto child = std::make_unique<Child>(argv, serve_log_);
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(std::chrono::seconds(1));
    bool up = WaitFor([&] { return static_cast<bool>(client.Get("/healthz")) || child->Exited(); },
                      std::chrono::seconds(30));
    EXPECT_TRUE(up && !child->Exited()) << ReadText(serve_log_);
    return child;
  }

  json ListJson() {
    CommandResult r = Run({"--json", "list"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  std::string serve_log_;
};

TEST_F(ServePageTest, ServesHealthApiAndAPageThatRendersInChromium) {
  Issue("web", {"web.serve.example.com"});
  Issue("shop", {"shop.serve.example.com", "www.shop.serve.example.com"});
  const int port = testing::PickFreePort();
  auto serve = StartServe(port);
  httplib::Client client("127.0.0.1", port);

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  EXPECT_EQ(health->body, "ok\n");

  auto api = client.Get("/api/certificates");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);
  EXPECT_EQ(api->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(json::parse(api->body), ListJson());

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  auto post = client.Post("/", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 413);  // a body is refused before the method is looked at
  auto del = client.Delete("/api/certificates");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  EXPECT_EQ(client.Get("/nothing")->status, 404);

  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  std::string dom = RunChromium({"--dump-dom", url}, dir_.path());
  for (const json& c : ListJson()) {
    const std::string name = c["name"];
    const std::string hook = "data-certificate=\"" + name + "\" data-status=\"" +
                             c["status"].get<std::string>() + "\"";
    EXPECT_NE(dom.find(hook), std::string::npos) << hook << "\n" << dom.substr(0, 2000);
    for (const json& d : c["domains"]) {
      EXPECT_NE(dom.find(d.get<std::string>()), std::string::npos) << d;
    }
  }
  EXPECT_NE(dom.find("data-health=\"ok\""), std::string::npos);
  EXPECT_NE(dom.find("class=\"mark now\""), std::string::npos);

  const std::string shot = ArtifactDir() + "/status-page.png";
  std::filesystem::remove(shot);
  RunChromium({"--screenshot=" + shot, "--window-size=1280,900", url}, dir_.path());
  ExpectPng(shot);

  EXPECT_EQ(serve->Kill(SIGTERM), 0) << ReadText(serve_log_);
  std::string log = ReadText(serve_log_);
  EXPECT_NE(log.find("serve: stopped"), std::string::npos) << log;
}

TEST_F(ServePageTest, TokenFileMakesEveryRequestAuthenticate) {
  const std::string token_file = dir_.path() + "/serve.token";
  std::ofstream(token_file) << "e2e-token-0123456789abcdef\n";
  chmod(token_file.c_str(), 0644);
  WriteConfig("[serve]\ntoken_file = \"" + token_file + "\"\n");
  CommandResult refused = Run({"serve", "--listen", "127.0.0.1:" +
                                                        std::to_string(testing::PickFreePort())});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("chmod 600"), std::string::npos) << refused.err;

  WriteConfig("");
  CommandResult no_token = Run({"serve", "--listen", "0.0.0.0:1"});
  EXPECT_EQ(no_token.exit_code, 1) << no_token.err;
  EXPECT_NE(no_token.err.find("token_file"), std::string::npos) << no_token.err;

  chmod(token_file.c_str(), 0600);
  WriteConfig("[serve]\ntoken_file = \"" + token_file + "\"\n");
  const int port = testing::PickFreePort();
  auto serve = StartServe(port);
  httplib::Client client("127.0.0.1", port);
  auto anonymous = client.Get("/api/certificates");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"), "Bearer realm=\"certkeeper\"");
  auto authed = client.Get("/api/certificates",
                           {{"Authorization", "Bearer e2e-token-0123456789abcdef"}});
  ASSERT_TRUE(authed);
  EXPECT_EQ(authed->status, 200);
  EXPECT_EQ(serve->Kill(SIGTERM), 0);
}

TEST_F(ServePageTest, RenewEveryIssuesWhatIsDueAndReleasesTheLock) {
  // A certificate in the config that was never issued: due at once, so the
  // first scheduled run (within a tenth of the period) issues it.
  WriteConfig(
      "[[certificate]]\nname = \"fresh\"\ndomains = [\"fresh.serve.example.com\"]\n"
      "challenges = [\"http-01\"]\n");
  const int port = testing::PickFreePort();
  auto serve = StartServe(port, {"--renew-every", "10s"});
  httplib::Client client("127.0.0.1", port);
  auto issued = [&] {
    auto r = client.Get("/api/certificates");
    if (!r || r->status != 200) return false;
    json list = json::parse(r->body, nullptr, false);
    return list.is_array() && list.size() == 1 && list[0]["status"] == "valid" &&
           list[0]["version"] == 1;
  };
  EXPECT_TRUE(WaitFor(issued, std::chrono::seconds(60))) << ReadText(serve_log_);
  // Between runs (the next one is 9 s or more away) the lock is free: a
  // renew of its own gets it.
  CommandResult r = Run({"renew", "--all"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(serve->Kill(SIGTERM), 0);
  std::string log = ReadText(serve_log_);
  EXPECT_NE(log.find("serve: renewal done"), std::string::npos) << log;
  EXPECT_NE(log.find("serve: stopped"), std::string::npos) << log;
}

// A demo inventory in every state, rendered by the page code and shot by
// Chromium: the picture of the status page in the documentation.
TEST(ServeDemoPageTest, RendersTheDemoInventory) {
  using lifecycle::CertificateView;
  const TimePoint now = RealClock()->Now();
  auto day = [&](double d) {
    return now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(d * 86400));
  };
  auto cert = [&](std::string name, std::string status, std::vector<std::string> domains,
                  double issued, std::string issuer, std::string ca) {
    CertificateView c;
    c.name = std::move(name);
    c.status = std::move(status);
    c.domains = std::move(domains);
    c.key_type = "ec256";
    lifecycle::VersionView v;
    v.n = 3;
    v.not_before = day(issued);
    v.not_after = day(issued + 90);
    v.issuer = std::move(issuer);
    v.ca = std::move(ca);
    c.live = v;
    c.renew_at = day(issued + 60);
    c.next_attempt = c.renew_at;
    c.next_attempt_reason = "renewal time (2/3 of the lifetime)";
    lifecycle::AttemptView a;
    a.outcome = "success";
    a.started_at = day(issued);
    a.finished_at = day(issued);
    a.challenge = "http-01";
    c.last_attempt = a;
    return c;
  };
  lifecycle::MonitorSnapshot s;
  s.now = now;
  s.certificates = {
      cert("www", "valid", {"example.com", "www.example.com"}, -12, "CN=R11, O=Let's Encrypt", "le"),
      cert("api", "valid", {"api.example.com"}, -33, "CN=R10, O=Let's Encrypt", "le"),
      cert("shop", "failing", {"shop.example.com", "cart.example.com"}, -75,
           "CN=R11, O=Let's Encrypt", "le"),
      cert("mail", "due", {"mail.example.com", "smtp.example.com", "imap.example.com"}, -62,
           "CN=Sectigo ECC Domain Validation", "zerossl"),
      cert("intranet", "valid", {"intranet.example.com"}, -2, "CN=E5, O=Let's Encrypt", "le")};
  auto& shop = s.certificates[2];
  shop.last_attempt->outcome = "failed";
  shop.last_attempt->started_at = day(-0.1);
  shop.last_attempt->finished_at = day(-0.1);
  shop.last_attempt->error_type = "urn:ietf:params:acme:error:connection";
  shop.last_attempt->error_detail =
      "cart.example.com: http-01: 203.0.113.7: Fetching http://cart.example.com/.well-known/"
      "acme-challenge/…: Timeout during connect (likely firewall problem)";
  shop.consecutive_failures = 4;
  shop.status_reason = "4 failed attempts since renewal became due";
  shop.next_attempt = day(0.25);
  shop.next_attempt_reason = "backoff after 4 failures";
  s.certificates[3].next_attempt = day(0.02);
  s.certificates[3].next_attempt_reason = "due: past its renewal time; next timer run";
  lifecycle::CaStatusView le;
  le.ca = "le";
  le.server = "https://acme-v02.api.letsencrypt.org/directory";
  le.last_ok_at = day(-0.1);
  lifecycle::CaStatusView zerossl;
  zerossl.ca = "zerossl";
  zerossl.server = "https://acme.zerossl.com/v2/DV90";
  zerossl.up = false;
  zerossl.unreachable_runs = 2;
  zerossl.last_ok_at = day(-1.2);
  zerossl.last_failure_at = day(-0.1);
  zerossl.last_error = "connect to acme.zerossl.com:443: timed out after 30 s";
  zerossl.retry_after_until = day(0.05);
  s.cas = {le, zerossl};
  lifecycle::ProbeView edge;
  edge.endpoint = "203.0.113.10:443/www.example.com";
  edge.address = "203.0.113.10:443";
  edge.sni = "www.example.com";
  edge.certificate = "www";
  edge.at = day(-0.003);
  edge.ok = true;
  edge.handshake_seconds = 0.0124;
  edge.not_after = day(78);
  edge.issuer = "CN=R11, O=Let's Encrypt";
  edge.names_match = edge.chain_valid = true;
  edge.live_match = "yes";
  lifecycle::ProbeView lb = edge;
  lb.endpoint = "203.0.113.20:443/shop.example.com";
  lb.address = "203.0.113.20:443";
  lb.sni = "shop.example.com";
  lb.certificate = "shop";
  lb.not_after = day(15);
  lb.live_match = "no";
  lb.error = "serves serial 04:a1:…, not the live version 3";
  s.probes = {edge, lb};
  lifecycle::RunView run;
  run.kind = "renew";
  run.started_at = day(-0.1);
  run.finished_at = day(-0.1) + std::chrono::seconds(4);
  run.outcomes = {{"failed", 1}, {"not-due", 4}};
  s.last_renew = run;

  fs::TempDir scratch;
  const std::string html = scratch.path() + "/demo.html";
  std::ofstream(html) << cli::RenderStatusPage(s);
  const std::string shot = ArtifactDir() + "/status-page-demo.png";
  std::filesystem::remove(shot);
  RunChromium({"--screenshot=" + shot, "--window-size=1280,1640", "file://" + html},
              scratch.path());
  ExpectPng(shot);
}

}  // namespace
}  // namespace certkeeper
