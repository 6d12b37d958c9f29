// What `renew --dry-run` prints: each certificate's decision, reason, time and
// limit, in the text output and in --json (docs/planner.md). The command runs
// in-process through cli::Main against a real inventory.
#include <stdlib.h>

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "cli/app.h"
#include "store/sql_inventory.h"

namespace certkeeper::cli {
namespace {

using nlohmann::json;
using std::chrono::hours;

constexpr char kServer[] = "https://ca.test/dir";
constexpr Duration kDay = hours(24);

class RenewOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("CERTKEEPER_CONFIG");
    now_ = std::chrono::time_point_cast<std::chrono::seconds>(RealClock()->Now());
    state_ = dir_.path() + "/state";
    ASSERT_TRUE(fs::MakeDirs(state_, 0700).ok());
    auto inv = store::SqlInventory::Open(store::InventoryPath(state_));
    ASSERT_TRUE(inv.ok()) << inv.status().ToString();
    AddLive(**inv, "web", 60 * kDay);  // not due
    AddLive(**inv, "api", 20 * kDay);  // due, but the CA limits it
    limit_until_ = now_ + hours(3);
    Status s = (*inv)->SetCaLimit(
        {kServer, store::CertificateScope("api"), limit_until_, "too many orders"});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void AddLive(store::Inventory& inv, const std::string& name, Duration left) {
    store::CertificateSpec spec;
    spec.name = name;
    spec.domains = {name + ".example.com"};
    spec.key_type = "ec256";
    spec.challenges = {"http-01"};
    spec.server = kServer;
    ASSERT_TRUE(inv.PutCertificate(spec).ok());
    store::Version v;
    v.certificate = name;
    v.n = 1;
    v.serial = "01";
    v.issuer = "CN=test issuer";
    v.fingerprint_sha256 = std::string(64, 'a');
    v.not_after = now_ + left;
    v.not_before = v.not_after - 90 * kDay;
    v.domains = spec.domains;
    v.key_type = "ec256";
    v.directory = state_ + "/archive/" + name + "/1";
    v.state = store::VersionState::kDeployed;
    Status s = inv.AddVersion(v);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Runs certkeeper in-process; returns stdout, sets *code.
  std::string Run(std::vector<std::string> args, int* code) {
    args.insert(args.begin(), {"certkeeper", "--state-dir", state_, "--server", kServer});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    *code = Main(static_cast<int>(args.size()), argv.data());
    std::string out = ::testing::internal::GetCapturedStdout();
    std::string err = ::testing::internal::GetCapturedStderr();
    if (*code != 0) ADD_FAILURE() << "exit " << *code << ": " << out << err;
    return out;
  }

  fs::TempDir dir_;
  TimePoint now_;
  TimePoint limit_until_;
  std::string state_;
};

TEST_F(RenewOutputTest, JsonCarriesDecisionTimeAndLimit) {
  int code = -1;
  json report = json::parse(Run({"--json", "renew", "--all", "--dry-run"}, &code), nullptr, false);
  ASSERT_TRUE(report.is_array()) << report.dump();
  ASSERT_EQ(report.size(), 2u) << report.dump();
  // ListCertificates order: by name.
  const json& api = report[0];
  const json& web = report[1];
  EXPECT_EQ(api["name"], "api");
  EXPECT_EQ(api["outcome"], "deferred");
  EXPECT_EQ(api["decision"], "deferred");
  EXPECT_EQ(api["limit"], "ca-limit:certificate");
  EXPECT_EQ(api["until"], FormatRfc3339(limit_until_));
  EXPECT_NE(api["reason"].get<std::string>().find("too many orders"), std::string::npos);
  EXPECT_TRUE(api["error"].is_null());
  EXPECT_EQ(web["name"], "web");
  EXPECT_EQ(web["outcome"], "not-due");
  EXPECT_EQ(web["decision"], "not-due");
  EXPECT_TRUE(web["limit"].is_null());
  ASSERT_TRUE(web["until"].is_string()) << web.dump();
  // Due in about a month (a third of the lifetime before expiry, minus jitter).
  auto until = ParseRfc3339(web["until"].get<std::string>());
  ASSERT_TRUE(until.ok()) << until.status().ToString();
  EXPECT_GT(*until, now_ + 29 * kDay);
  EXPECT_LE(*until, now_ + 30 * kDay);
  EXPECT_NE(web["reason"].get<std::string>().find("renews from"), std::string::npos);
}

TEST_F(RenewOutputTest, TextLinesCarryDecisionTimeAndLimit) {
  int code = -1;
  std::string out = Run({"--json", "renew", "--all", "--dry-run"}, &code);
  json report = json::parse(out, nullptr, false);
  ASSERT_TRUE(report.is_array()) << out;
  std::string text = Run({"renew", "--all", "--dry-run"}, &code);
  std::istringstream lines(text);
  std::string api_line, web_line;
  ASSERT_TRUE(std::getline(lines, api_line)) << text;
  ASSERT_TRUE(std::getline(lines, web_line)) << text;
  for (const auto& [line, o] : {std::pair{api_line, report[0]}, std::pair{web_line, report[1]}}) {
    std::string prefix = o["name"].get<std::string>() + ": " + o["outcome"].get<std::string>() +
                         ": " + o["reason"].get<std::string>();
    EXPECT_EQ(line.rfind(prefix, 0), 0u) << line;
    EXPECT_NE(line.find("[until " + o["until"].get<std::string>() + "]"), std::string::npos)
        << line;
    if (o["limit"].is_string()) {
      EXPECT_NE(line.find("[" + o["limit"].get<std::string>() + "]"), std::string::npos) << line;
    }
  }
}

}  // namespace
}  // namespace certkeeper::cli
