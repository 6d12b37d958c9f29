#include "challenges/rest_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/fs.h"
#include "tests/support/test_cert.h"
#include "tests/support/test_tls_server.h"

namespace certkeeper::challenges {
namespace {

using std::chrono::milliseconds;

// A local HTTP server with the answers the transport must bound or refuse.
class LocalApi {
 public:
  LocalApi() {
    server_.Patch("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.method + "|" + req.get_header_value("X-API-Key") + "|" +
                          req.get_header_value("Content-Type") + "|" + req.body,
                      "application/json");
      res.status = 200;
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(64 * 1024, 'x'), "application/json");
    });
    server_.Get("/moved", [](const httplib::Request&, httplib::Response& res) {
      res.status = 302;
      res.set_header("Location", "/echo");
    });
    server_.Get("/error", [](const httplib::Request&, httplib::Response& res) {
      res.status = 422;
      res.set_content(R"({"error": "Name is out of zone"})", "application/json");
    });
    server_.Get("/hang", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(10), [this] { return released_; });
      res.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  ~LocalApi() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

TEST(RestClientTest, SendsMethodHeadersAndJsonBody) {
  LocalApi api;
  auto client = MakeCurlRestClient({});
  Result<RestResponse> r =
      client->Send({"PATCH", api.url("/echo"), {"X-API-Key: k1"}, R"({"rrsets": []})"});
  ASSERT_TRUE(r.ok()) << r.status().ToUserString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"(PATCH|k1|application/json|{"rrsets": []})");
  EXPECT_EQ(r->content_type, "application/json");
}

TEST(RestClientTest, ErrorStatusIsAResponseNotAnError) {
  LocalApi api;
  Result<RestResponse> r = MakeCurlRestClient({})->Send({"GET", api.url("/error"), {}, ""});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 422);
  EXPECT_NE(r->body.find("out of zone"), std::string::npos);
}

TEST(RestClientTest, RedirectsAreNotFollowed) {
  LocalApi api;
  Result<RestResponse> r = MakeCurlRestClient({})->Send({"GET", api.url("/moved"), {}, ""});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 302);
}

TEST(RestClientTest, ResponsesAreBoundedInSize) {
  LocalApi api;
  CurlRestOptions options;
  options.max_response_bytes = 16 * 1024;
  Result<RestResponse> r = MakeCurlRestClient(options)->Send({"GET", api.url("/big"), {}, ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(r.status().message().find("16384 bytes"), std::string::npos);
}

TEST(RestClientTest, ResponsesAreBoundedInTimeAndErrorsNameNoHeader) {
  LocalApi api;
  CurlRestOptions options;
  options.timeout = milliseconds(200);
  Result<RestResponse> r =
      MakeCurlRestClient(options)->Send({"GET", api.url("/hang"), {"X-API-Key: hidden-key"}, ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().where(), api.url("/hang"));
  EXPECT_EQ(r.status().ToUserString().find("hidden-key"), std::string::npos);
}

TEST(RestClientTest, OtherSchemesAreRefused) {
  Result<RestResponse> r = MakeCurlRestClient({})->Send({"GET", "file:///etc/passwd", {}, ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
}

TEST(RestClientTest, HttpsIsVerifiedPeerAndHost) {
  testing::MadeCert self_signed = testing::MakeCert("pdns.example.net", nullptr, 1);
  testing::TestTlsServer tls(self_signed.CertPem(), self_signed.KeyPem());
  const std::string url = "https://127.0.0.1:" + std::to_string(tls.port()) + "/api/v1";
  Result<RestResponse> r = MakeCurlRestClient({})->Send({"GET", url, {}, ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTls) << r.status().ToUserString();
  EXPECT_NE(r.status().hint().find("ca_file"), std::string::npos);
  // Trusting the certificate is not enough: it does not name 127.0.0.1.
  fs::TempDir dir;
  CurlRestOptions options;
  options.ca_file = dir.path() + "/ca.pem";
  ASSERT_TRUE(fs::WriteFileAtomic(options.ca_file, self_signed.CertPem()).ok());
  r = MakeCurlRestClient(options)->Send({"GET", url, {}, ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTls) << r.status().ToUserString();
}

}  // namespace
}  // namespace certkeeper::challenges
