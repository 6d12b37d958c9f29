// What the import end-to-end tests share: their fixture, running the real
// certbot and lego (no shell), a fingerprint of a directory tree to prove it
// was left alone, the serial of a PEM file as openssl prints it, and a small
// HTTP server serving a webroot on Pebble's http-01 port.
#ifndef CERTKEEPER_TESTS_E2E_IMPORT_SUPPORT_H_
#define CERTKEEPER_TESTS_E2E_IMPORT_SUPPORT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/fs.h"
#include "base/process.h"
#include "tests/e2e/child_process.h"
#include "tests/e2e/e2e_support.h"

namespace certkeeper::import_support {

// The fixture of the import tests: Pebble without validation delays and
// without rejecting nonces at random (the real clients issue through it
// first, and certbot's renew gives up on a badNonce instead of retrying;
// certkeeper's own retry is tested against the random rejections elsewhere),
// and per test a config file config_
// holding only PebbleConfigHead(), the config `import` starts from. A derived
// fixture that overrides SetUpTest calls ImportSuite::SetUpTest first.
class ImportSuite : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.env = {{"PEBBLE_VA_NOSLEEP", "1"}, {"PEBBLE_WFE_NONCEREJECT", "0"}};
    StartEnv(options);
  }

  void SetUpTest() override {
    ASSERT_TRUE(fs::WriteFileAtomic(config_, PebbleConfigHead()).ok()) << config_;
  }

  // `certkeeper -c config --json args...`, expected to exit 0; its output
  // parsed (a discarded value when it is not JSON).
  nlohmann::json Json(std::vector<std::string> args, const std::string& config) {
    args.insert(args.begin(), {"-c", config, "--json"});
    testing::CommandResult r = testing::RunCertkeeper(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }
};

// Runs argv with env added; the test fails (with the output) when it does not
// exit 0.
inline void RunTool(const std::vector<std::string>& argv,
                    const std::vector<std::pair<std::string, std::string>>& env,
                    std::chrono::seconds timeout = std::chrono::seconds(120)) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.env = env;
  spec.timeout = timeout;
  auto r = RunProcess(spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->exit_code, 0) << argv[0] << " " << argv[1] << "\n" << r->stdout_data << "\n"
                             << r->stderr_data;
}

// Every entry below dir: its path, type, mode, and content hash or symlink
// target, sorted. Equal before and after: nothing was changed.
inline std::string TreeFingerprint(const std::string& dir) {
  std::vector<std::string> lines;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    struct stat st {};
    EXPECT_EQ(lstat(e.path().c_str(), &st), 0);
    std::string line = e.path().string() + " " + std::to_string(st.st_mode) + " " +
                       std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISLNK(st.st_mode)) {
      line += " -> " + std::filesystem::read_symlink(e.path()).string();
    } else if (S_ISREG(st.st_mode)) {
      auto content = fs::ReadFile(e.path().string());
      EXPECT_TRUE(content.ok());
      line += " " + HexEncode(Sha256(content.ok() ? *content : ""));
    }
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// `openssl x509 -noout -serial -in path`, as lower-case hex without leading
// zeros (the form certkeeper prints).
inline std::string OpensslSerial(const std::string& path) {
  ProcessSpec spec;
  spec.argv = {"openssl", "x509", "-noout", "-serial", "-in", path};
  auto r = RunProcess(spec);
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << path;
  if (!r.ok()) return "";
  std::string s = r->stdout_data;
  if (s.rfind("serial=", 0) == 0) s = s.substr(7);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  size_t nz = s.find_first_not_of('0');
  return nz == std::string::npos ? "0" : s.substr(nz);
}

// Serves `root` over HTTP on 127.0.0.1:port while it lives (a web server in
// front of a certbot or certkeeper webroot): Python's http.server, stopped by
// its PID.
class WebrootServer {
 public:
  WebrootServer(const std::string& root, int port)
      : child_({"/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                root, std::to_string(port)},
               root + "/../webroot-server.log") {
    EXPECT_TRUE(child_process::WaitFor([port] { return Accepts(port); },
                                       std::chrono::seconds(20)))
        << "the web server did not listen on " << port;
  }
  ~WebrootServer() { child_.Kill(SIGTERM); }

 private:
  static bool Accepts(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }
  child_process::Child child_;
};

}  // namespace certkeeper::import_support

#endif  // CERTKEEPER_TESTS_E2E_IMPORT_SUPPORT_H_
