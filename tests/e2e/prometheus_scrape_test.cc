// A real Prometheus scrapes `certkeeper serve`: the series it stores are the
// inventory's, read back through Prometheus' HTTP query API.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "tests/e2e/e2e_support.h"
#include "tests/e2e/child_process.h"
#include "tests/support/testenv.h"

namespace certkeeper {
namespace {

using nlohmann::json;
using child_process::Child;
using child_process::WaitFor;

class PrometheusScrapeTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() {
    testing::TestEnvOptions options;
    options.prometheus = true;
    StartEnv(options);
  }

  void SetUpTest() override {
    std::ofstream f(config_);
    f << "state_dir = \"" << state_ << "\"\n"
      << "[acme]\n"
      << "server = \"" << env_->Get("ACME_DIRECTORY_URL") << "\"\n"
      << "ca_bundle = \"" << env_->Get("ACME_CA_BUNDLE") << "\"\n"
      << "issuer_roots = \"" << env_->Get("PEBBLE_ROOT_PEM") << "\"\n"
      << "agree_tos = true\n"
      << "[solvers.http-01]\n"
      << "listen = \"127.0.0.1:" << env_->Get("PEBBLE_HTTP_PORT") << "\"\n";
  }

  // The vector result of an instant query; an empty array until Prometheus
  // has scraped the series (or when the request failed).
  json Query(const std::string& promql) {
    httplib::Client client(env_->Get("PROMETHEUS_URL"));
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    auto response = client.Get("/api/v1/query", httplib::Params{{"query", promql}},
                               httplib::Headers{});
    if (!response || response->status != 200) return json::array();
    json body = json::parse(response->body, nullptr, false);
    if (!body.is_object() || body.value("status", "") != "success") return json::array();
    return body["data"]["result"];
  }

  std::string ServeLog() const {
    auto text = fs::ReadFile(dir_.path() + "/serve.out");
    return text.ok() ? *text : "";
  }

  // The value of the single series promql selects, once Prometheus has it.
  std::optional<double> ValueOf(const std::string& promql) {
    std::optional<double> value;
    WaitFor(
        [&] {
          json result = Query(promql);
          if (!result.is_array() || result.size() != 1) return false;
          value = std::stod(result[0]["value"][1].get<std::string>());
          return true;
        },
        std::chrono::seconds(60));
    return value;
  }
};

TEST_F(PrometheusScrapeTest, PrometheusStoresTheInventorysSeries) {
  ASSERT_EQ(Run({"issue", "web", "-d", "prom.example.com", "--challenge", "http-01"}).exit_code,
            0);
  // A run records its CA and itself.
  testing::CommandResult renew = Run({"renew", "--all", "--force"});
  ASSERT_EQ(renew.exit_code, 0) << renew.err;
  testing::CommandResult list = Run({"--json", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json listed = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listed.is_array() && listed.size() == 1) << list.out;
  auto not_after = ParseRfc3339(listed[0]["not_after"].get<std::string>());
  ASSERT_TRUE(not_after.ok());

  const std::string listen = "127.0.0.1:" + env_->Get("PROMETHEUS_SCRAPE_PORT");
  Child serve({CERTKEEPER_BINARY, "-c", config_, "serve", "--listen", listen},
              dir_.path() + "/serve.out");
  ASSERT_GT(serve.pid(), 0);

  // Prometheus scrapes every second: the target comes up, and the series carry
  // the inventory's values.
  auto up = ValueOf("up{job=\"certkeeper\"} == 1");
  ASSERT_TRUE(up.has_value()) << "Prometheus never scraped " << listen << ": "
                              << ServeLog();
  auto expiry = ValueOf("certkeeper_certificate_not_after_timestamp_seconds{name=\"web\"}");
  ASSERT_TRUE(expiry.has_value());
  EXPECT_EQ(static_cast<int64_t>(*expiry), ToUnixSeconds(*not_after));
  auto valid = ValueOf("certkeeper_certificate_status{name=\"web\",status=\"valid\"}");
  ASSERT_TRUE(valid.has_value());
  EXPECT_EQ(*valid, 1);
  auto due = ValueOf("certkeeper_certificate_status{name=\"web\",status=\"due\"}");
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(*due, 0);
  auto live = ValueOf("certkeeper_certificate_live_version{name=\"web\"}");
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(*live, 2);  // issued, then renewed once
  auto ca_up = ValueOf("certkeeper_ca_up");
  ASSERT_TRUE(ca_up.has_value());
  EXPECT_EQ(*ca_up, 1);
  auto orders = ValueOf("certkeeper_ca_requests_total{kind=\"newOrder\"}");
  ASSERT_TRUE(orders.has_value());
  EXPECT_GE(*orders, 1);

  // The running server stops cleanly on SIGTERM.
  int status = serve.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace certkeeper
