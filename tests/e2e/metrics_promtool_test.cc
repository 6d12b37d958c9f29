// The exposition as Prometheus's own tool reads it: `certkeeper metrics` over
// a state directory holding imported certificates (stdout and --textfile, and
// the textfile `renew --all` rewrites) passes `promtool check metrics`; the
// shipped alerting rules pass `promtool check rules` and their unit tests
// (`promtool test rules`); every metric the rules and the Grafana dashboard
// use is one certkeeper exposes. promtool is Debian's prometheus package.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/process.h"
#include "lifecycle/metrics.h"
#include "tests/e2e/deploy_support.h"
#include "tests/support/fs_helpers.h"
#include "tests/support/testenv.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper {
namespace {

using deploy_support::Toml;
using json = nlohmann::json;
using std::chrono::hours;

constexpr const char* kPromtool = "/usr/bin/promtool";
const std::string kRulesDir = std::string(CERTKEEPER_SOURCE_DIR) + "/packaging/prometheus";

ProcessResult Promtool(std::vector<std::string> args, const std::string& stdin_data = "") {
  ProcessSpec spec;
  spec.argv = {kPromtool};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.stdin_data = stdin_data;
  spec.working_dir = kRulesDir;
  spec.timeout = std::chrono::seconds(60);
  auto run = RunProcess(spec);
  EXPECT_TRUE(run.ok()) << run.status().ToString();
  return run.ok() ? *run : ProcessResult{};
}

// promtool check metrics prints its findings (lint problems too) and exits 1
// on any; the output is shown with the failure.
void ExpectPromtoolAccepts(const std::string& exposition) {
  ASSERT_FALSE(exposition.empty());
  ProcessResult r = Promtool({"check", "metrics"}, exposition);
  EXPECT_TRUE(r.success()) << r.Describe() << "\n" << r.stdout_data << r.stderr_data
                           << "\n--- exposition:\n" << exposition;
  EXPECT_EQ(r.stdout_data + r.stderr_data, "") << "promtool found problems";
}

class MetricsPromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kPromtool, X_OK), 0) << kPromtool << " missing: apt-get install prometheus";
    state_ = dir_.path() + "/state";
    config_ = dir_.path() + "/certkeeper.toml";
    textfile_ = dir_.path() + "/textfile/certkeeper.prom";
    ASSERT_TRUE(fs::MakeDirs(dir_.path() + "/textfile", 0755).ok());
    std::ofstream f(config_);
    // The CA is never reached: nothing imported is due, and metrics reads only.
    f << "state_dir = " << Toml(state_) << "\n"
      << "[acme]\nserver = \"https://127.0.0.1:9/directory\"\n"
      << "[metrics]\ntextfile = " << Toml(textfile_) << "\n";
    f.close();
    const TimePoint now = std::chrono::system_clock::now();
    auto pki = hooks::testing::TestPki::Create(now);
    ImportCertificate(pki.MakeMaterial("web", {"web.example.com", "www.example.com"}, now));
    ImportCertificate(pki.MakeMaterialWithValidity("short", {"short.example.com"},
                                                   now - hours(2), now + hours(4)));
  }

  void ImportCertificate(const hooks::Material& m) {
    const std::string from = dir_.path() + "/import/" + m.name;
    ASSERT_TRUE(fs::MakeDirs(from, 0700).ok());
    ASSERT_TRUE(fs::WriteFileAtomic(from + "/fullchain.pem", m.fullchain_pem).ok());
    ASSERT_TRUE(fs::WritePrivateFile(from + "/privkey.pem", m.key_pem).ok());
    testing::CommandResult r = testing::RunCertkeeper({"-c", config_, "import", from});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  fs::TempDir dir_;
  std::string state_, config_, textfile_;
};

TEST_F(MetricsPromtoolTest, MetricsOfImportedCertificatesPassPromtoolCheckMetrics) {
  testing::CommandResult r = testing::RunCertkeeper({"-c", config_, "metrics"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("certkeeper_certificates 2\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("certkeeper_certificate_live_version{ca=\"default\",name=\"short\"} 1\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("certkeeper_ca_up{ca=\"default\"} 1\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("example.com"), std::string::npos) << "a domain became a label";
  ExpectPromtoolAccepts(r.out);
  EXPECT_FALSE(fs::Exists(textfile_)) << "metrics without --textfile writes no file";
}

TEST_F(MetricsPromtoolTest, TextfileOptionWritesTheSameExpositionAtomically) {
  testing::CommandResult r =
      testing::RunCertkeeper({"-c", config_, "--json", "metrics", "--textfile", textfile_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json result = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(result.is_object()) << r.out;
  EXPECT_EQ(result.value("textfile", ""), textfile_);
  std::string text = deploy_support::Read(textfile_);
  size_t samples = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) samples += !line.empty() && line[0] != '#';
  EXPECT_EQ(result.value("series", size_t{0}), samples);
  EXPECT_GT(samples, 20u);
  ExpectPromtoolAccepts(text);
  EXPECT_EQ(test_fs::ListDir(dir_.path() + "/textfile").size(), 1u) << "a temporary file was left";
}

// The wiring of [metrics] textfile: a `renew --all` run rewrites it, with
// the run itself in it.
TEST_F(MetricsPromtoolTest, RenewAllRewritesTheConfiguredTextfile) {
  ASSERT_FALSE(fs::Exists(textfile_));
  testing::CommandResult r = testing::RunCertkeeper({"-c", config_, "renew", "--all"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string text = deploy_support::Read(textfile_);
  EXPECT_NE(text.find("certkeeper_last_run_outcomes{kind=\"renew\",outcome=\"not-due\"} 2\n"),
            std::string::npos)
      << text;
  ExpectPromtoolAccepts(text);
}

TEST(PrometheusRulesTest, RulesPassPromtoolCheckAndTheirUnitTests) {
  ProcessResult check = Promtool({"check", "rules", "certkeeper-rules.yml"});
  EXPECT_TRUE(check.success()) << check.stdout_data << check.stderr_data;
  ProcessResult test = Promtool({"test", "rules", "certkeeper-rules_test.yml"});
  EXPECT_TRUE(test.success()) << test.stdout_data << test.stderr_data;
  EXPECT_NE(test.stdout_data.find("SUCCESS"), std::string::npos) << test.stdout_data;
}

// A snapshot with every kind of fact, so that every family has a sample.
lifecycle::MonitorSnapshot FullSnapshot() {
  using namespace lifecycle;
  const TimePoint now = std::chrono::system_clock::now();
  MonitorSnapshot s;
  s.now = now;
  CertificateView c;
  c.name = "web";
  c.status = "valid";
  VersionView v;
  v.n = 1;
  v.not_before = now - hours(1);
  v.not_after = now + hours(24 * 90);
  c.live = v;
  c.newest = v;
  c.newest->n = 2;
  c.renew_at = c.next_attempt = c.last_success = now;
  s.certificates = {c};
  CaStatusView ca;
  ca.server = "https://ca.example/dir";
  ca.last_ok_at = ca.last_failure_at = ca.retry_after_until = now;
  ca.requests = {{"newOrder", 1}};
  s.cas = {ca};
  s.last_renew = RunView{"renew", now, now, {{"not-due", 1}}};
  ProbeView p;
  p.endpoint = "127.0.0.1:443";
  p.ok = true;
  p.at = now;
  p.not_before = p.not_after = now;
  p.live_match = "yes";
  s.probes = {p};
  RevocationView r;
  r.certificate = "web";
  r.version = 1;
  r.method = "ocsp";
  r.status = "good";
  s.revocations = {r};
  return s;
}

TEST(PrometheusRulesTest, EveryMetricTheRulesAndTheDashboardUseIsExposed) {
  const std::string text = lifecycle::RenderMetrics(FullSnapshot());
  ExpectPromtoolAccepts(text);
  std::set<std::string> exposed;
  const std::regex type_line("^# TYPE (\\S+) ");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, type_line)) exposed.insert(m[1]);
  }
  ASSERT_GT(exposed.size(), 30u);
  for (const char* file : {"certkeeper-rules.yml", "grafana-dashboard.json"}) {
    const std::string content = deploy_support::Read(kRulesDir + "/" + file);
    if (std::string(file).find(".json") != std::string::npos) {
      json dashboard = json::parse(content, nullptr, false);
      ASSERT_FALSE(dashboard.is_discarded()) << file << " is not JSON";
      ASSERT_TRUE(dashboard.contains("panels")) << file;
    }
    const std::regex name("certkeeper_[a-z_]+");
    std::set<std::string> used;
    for (auto it = std::sregex_iterator(content.begin(), content.end(), name);
         it != std::sregex_iterator(); ++it) {
      used.insert(it->str());
    }
    ASSERT_GT(used.size(), 5u) << file;
    for (const std::string& metric : used) {
      EXPECT_TRUE(exposed.count(metric)) << file << " uses " << metric << ", which is not exposed";
    }
  }
}

}  // namespace
}  // namespace certkeeper
