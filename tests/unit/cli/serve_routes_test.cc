// serve's routes on snapshots made here: what each answers, /healthz's
// reasons, the bearer token, and the rules for methods and bodies.
#include "cli/serve_routes.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "cli/serve_health.h"
#include "cli/status_page.h"
#include "lifecycle/metrics.h"
#include "tests/unit/cli/serve_fixtures.h"

namespace certkeeper::cli {
namespace {

using challenges::ParseRequestHead;
using challenges::RequestHead;
using nlohmann::json;
using testing::Cert;
using testing::Day;
using testing::Snapshot;

const std::string kToken = "s3cret-token-0123456789";

RequestHead Head(const std::string& text) {
  auto parsed = ParseRequestHead(text);
  EXPECT_EQ(parsed.state, challenges::HeadState::kComplete) << text;
  return parsed.head;
}

RequestHead Get(const std::string& target, const std::string& fields = "") {
  return Head("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n");
}

int StatusOf(const std::string& response) { return std::stoi(response.substr(9, 3)); }

std::string BodyOf(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

bool HasHeader(const std::string& response, const std::string& line) {
  return response.substr(0, response.find("\r\n\r\n")).find("\r\n" + line + "\r\n") !=
         std::string::npos;
}

class ServeRoutesTest : public ::testing::Test {
 protected:
  ServeRoutes Routes(std::string token = "", std::chrono::milliseconds ttl = {}) {
    ServeRoutesOptions options;
    options.token = std::move(token);
    options.snapshot_ttl = ttl;
    return ServeRoutes(
        [this]() -> Result<lifecycle::MonitorSnapshot> {
          ++reads_;
          if (!error_.ok()) return error_;
          return snapshot_;
        },
        options);
  }

  lifecycle::MonitorSnapshot snapshot_ =
      Snapshot({Cert("web", "valid", -10), Cert("api", "valid", -20)});
  Status error_;
  int reads_ = 0;
};

TEST_F(ServeRoutesTest, MetricsServeExactlyRenderMetricsOfTheSnapshot) {
  ServeRoutes routes = Routes();
  std::string r = routes.Handle(Get("/metrics"));
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_TRUE(HasHeader(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8")) << r;
  EXPECT_EQ(BodyOf(r), lifecycle::RenderMetrics(snapshot_));
  EXPECT_TRUE(HasHeader(r, "Content-Length: " +
                               std::to_string(lifecycle::RenderMetrics(snapshot_).size())));
}

TEST_F(ServeRoutesTest, ApiCertificatesIsTheListJson) {
  ServeRoutes routes = Routes();
  std::string r = routes.Handle(Get("/api/certificates"));
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_TRUE(HasHeader(r, "Content-Type: application/json"));
  EXPECT_EQ(json::parse(BodyOf(r)), ListJson(snapshot_.certificates, snapshot_.now));
  EXPECT_EQ(json::parse(BodyOf(r)).size(), 2u);
}

TEST_F(ServeRoutesTest, PageIsTheStatusPageWithAPolicyThatForbidsScripts) {
  ServeRoutes routes = Routes();
  std::string r = routes.Handle(Get("/"));
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(BodyOf(r), RenderStatusPage(snapshot_));
  EXPECT_NE(r.find("Content-Security-Policy: default-src 'none'"), std::string::npos);
  EXPECT_TRUE(HasHeader(r, "X-Content-Type-Options: nosniff"));
}

TEST_F(ServeRoutesTest, HealthzOkWhenNothingIsWrong) {
  ServeRoutes routes = Routes();
  std::string r = routes.Handle(Get("/healthz"));
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(BodyOf(r), "ok\n");
  json j = json::parse(BodyOf(routes.Handle(Get("/healthz?format=json"))));
  EXPECT_EQ(j, (json{{"status", "ok"}, {"reasons", json::array()}}));
}

TEST_F(ServeRoutesTest, HealthzDegradedWithOneReasonPerProblem) {
  snapshot_.certificates = {Cert("ok", "valid", -10), Cert("broken", "failing", -10),
                            Cert("old", "expired", -100), Cert("late", "valid", -62)};
  snapshot_.certificates[1].status_reason = "3 failures: dns down\n\x1b[2J";
  lifecycle::CaStatusView ca;
  ca.ca = "le";
  ca.server = "https://le.example/dir";
  ca.up = false;
  ca.unreachable_runs = 2;
  snapshot_.cas.push_back(ca);
  lifecycle::ProbeView p;
  p.endpoint = "127.0.0.1:443";
  p.error = "connection refused";
  snapshot_.probes.push_back(p);
  ServeRoutes routes = Routes();
  std::string r = routes.Handle(Get("/healthz"));
  EXPECT_EQ(StatusOf(r), 503);
  std::string body = BodyOf(r);
  EXPECT_EQ(body.rfind("degraded\n", 0), 0u) << body;
  EXPECT_NE(body.find("certificate broken: failing"), std::string::npos) << body;
  EXPECT_NE(body.find("certificate old: expired"), std::string::npos);
  EXPECT_NE(body.find("ca le (https://le.example/dir): unreachable for 2 run(s)"),
            std::string::npos);
  EXPECT_NE(body.find("endpoint 127.0.0.1:443: probe failed: connection refused"),
            std::string::npos);
  EXPECT_EQ(body.find("certificate ok"), std::string::npos);
  EXPECT_EQ(body.find("\x1b"), std::string::npos) << "one line each, escaped";
  // 62 days after issuance is 2 days past renew_at: beyond the grace.
  EXPECT_NE(body.find("certificate late: past its renewal time"), std::string::npos);

  json j = json::parse(BodyOf(routes.Handle(Get("/healthz", "Accept: application/json\r\n"))));
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(j["reasons"].size(), 5u) << j.dump();
}

TEST_F(ServeRoutesTest, JustDueCertificateIsNoReasonWithinTheGrace) {
  snapshot_.certificates = {Cert("due", "due", -60)};
  snapshot_.now = Day(0) + std::chrono::hours(12);
  EXPECT_TRUE(EvaluateHealth(snapshot_).ok());
  snapshot_.now = Day(0) + kRenewOverdueGrace + std::chrono::seconds(1);
  EXPECT_FALSE(EvaluateHealth(snapshot_).ok());
}

TEST_F(ServeRoutesTest, UnreadableInventoryIsDegradedNeverOk) {
  error_ = Status(ErrorCode::kIo, "database is locked");
  ServeRoutes routes = Routes();
  std::string h = routes.Handle(Get("/healthz"));
  EXPECT_EQ(StatusOf(h), 503);
  EXPECT_NE(BodyOf(h).find("inventory unreadable"), std::string::npos);
  EXPECT_EQ(StatusOf(routes.Handle(Get("/metrics"))), 503);
  EXPECT_EQ(StatusOf(routes.Handle(Get("/"))), 503);
}

TEST_F(ServeRoutesTest, UnknownPathsAre404AndReadNothing) {
  ServeRoutes routes = Routes();
  for (const char* path : {"/metrics/", "/favicon.ico", "/api", "/healthz/x", "/../etc/passwd"}) {
    EXPECT_EQ(StatusOf(routes.Handle(Get(path))), 404) << path;
  }
  EXPECT_EQ(reads_, 0);
}

TEST_F(ServeRoutesTest, MethodsOtherThanGetAndHeadAre405) {
  ServeRoutes routes = Routes();
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"}) {
    std::string r =
        routes.Handle(Head(std::string(method) + " /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(StatusOf(r), 405) << method;
    EXPECT_TRUE(HasHeader(r, "Allow: GET, HEAD")) << method;
  }
  EXPECT_EQ(reads_, 0);
}

TEST_F(ServeRoutesTest, HeadHasTheHeadersOfGetAndNoBody) {
  ServeRoutes routes = Routes();
  std::string get = routes.Handle(Get("/metrics"));
  std::string head = routes.Handle(Head("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(head, get.substr(0, get.find("\r\n\r\n") + 4));
}

TEST_F(ServeRoutesTest, RequestsWithABodyAre413) {
  ServeRoutes routes = Routes();
  EXPECT_EQ(StatusOf(routes.Handle(Get("/metrics", "Content-Length: 5\r\n"))), 413);
  EXPECT_EQ(StatusOf(routes.Handle(Get("/metrics", "Transfer-Encoding: chunked\r\n"))), 413);
  EXPECT_EQ(StatusOf(routes.Handle(Get("/metrics", "Content-Length: -1\r\n"))), 400);
  EXPECT_EQ(StatusOf(routes.Handle(Get("/metrics", "Content-Length: 0\r\n"))), 200);
}

TEST_F(ServeRoutesTest, TokenRequiredOnEveryRouteWhenSet) {
  ServeRoutes routes = Routes(kToken);
  for (const char* path : {"/", "/metrics", "/healthz", "/api/certificates", "/nothing"}) {
    std::string r = routes.Handle(Get(path));
    EXPECT_EQ(StatusOf(r), 401) << path;
    EXPECT_TRUE(HasHeader(r, "WWW-Authenticate: Bearer realm=\"certkeeper\"")) << path;
  }
  for (const std::string& wrong :
       {std::string("Bearer ") + kToken + "x", std::string("Bearer ") + kToken.substr(1),
        std::string("Basic ") + kToken, std::string("Bearer"), std::string("Bearer "),
        kToken}) {
    EXPECT_EQ(StatusOf(routes.Handle(Get("/metrics", "Authorization: " + wrong + "\r\n"))), 401)
        << wrong;
  }
  EXPECT_EQ(reads_, 0);
  EXPECT_EQ(StatusOf(routes.Handle(Get("/metrics", "Authorization: Bearer " + kToken + "\r\n"))),
            200);
  EXPECT_EQ(StatusOf(routes.Handle(Get("/metrics", "authorization: bearer " + kToken + "\r\n"))),
            200);
}

TEST_F(ServeRoutesTest, BurstOfScrapesCostsOneReadWithinTheTtl) {
  ServeRoutes cached = Routes("", std::chrono::hours(1));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(StatusOf(cached.Handle(Get("/metrics"))), 200);
  EXPECT_EQ(reads_, 1);
  reads_ = 0;
  ServeRoutes fresh = Routes("", std::chrono::milliseconds(0));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(StatusOf(fresh.Handle(Get("/metrics"))), 200);
  EXPECT_EQ(reads_, 3);
}

TEST(BearerTokenTest, MatchesOnlyTheExactToken) {
  EXPECT_TRUE(BearerTokenMatches("Bearer abc", "abc"));
  EXPECT_TRUE(BearerTokenMatches("BEARER  abc", "abc"));
  EXPECT_FALSE(BearerTokenMatches("Bearer abcd", "abc"));
  EXPECT_FALSE(BearerTokenMatches("Bearer ab", "abc"));
  EXPECT_FALSE(BearerTokenMatches("Bearerabc", "abc"));
  EXPECT_FALSE(BearerTokenMatches("Bearer ", ""));
}

}  // namespace
}  // namespace certkeeper::cli
