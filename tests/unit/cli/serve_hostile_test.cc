// `certkeeper serve`'s server under hostile clients, through real sockets:
// slow clients are cut at the deadline, a huge head gets 431, a flood of
// connections cannot lock a scrape out, a body is never read.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "challenges/http_server.h"
#include "challenges/self_check.h"
#include "cli/serve_routes.h"
#include "tests/unit/cli/serve_fixtures.h"

namespace certkeeper::cli {
namespace {

using Clock = std::chrono::steady_clock;

class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  bool ok() const { return fd_ >= 0; }

  // False when the peer closed or stopped reading for 2 s.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      pollfd p = {fd_, POLLOUT, 0};
      if (poll(&p, 1, 2000) <= 0) return false;
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Everything until the peer closes (or the deadline).
  std::string ReadAll(Clock::time_point deadline) {
    std::string out;
    char buf[4096];
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
    out += "<deadline>";
    return out;
  }

 private:
  int fd_ = -1;
};

class ServeHostileTest : public ::testing::Test {
 protected:
  void Start(size_t max_connections = 8, std::chrono::milliseconds timeout =
                                             std::chrono::milliseconds(1500)) {
    auto address = challenges::ParseListenAddress("127.0.0.1:0");
    ASSERT_TRUE(address.ok());
    auto fd = challenges::BindListener(*address, "serve");
    ASSERT_TRUE(fd.ok()) << fd.status().ToString();
    port_ = *challenges::BoundPort(*fd);
    routes_ = std::make_shared<ServeRoutes>(
        [] { return Result<lifecycle::MonitorSnapshot>(
                 testing::Snapshot({testing::Cert("web", "valid", -10)})); },
        ServeRoutesOptions{});
    challenges::HttpServerLimits limits;
    limits.max_connections = max_connections;
    limits.request_timeout = timeout;
    auto routes = routes_;
    auto server = challenges::HttpServer::Start(
        *fd, "serve", [routes](const challenges::RequestHead& h) { return routes->Handle(h); },
        limits);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }

  // A well-behaved scrape, answered 200 within 2 s.
  void ExpectScrapeServed(const std::string& when) {
    auto started = Clock::now();
    Client c(port_);
    ASSERT_TRUE(c.ok()) << when;
    ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")) << when;
    std::string r = c.ReadAll(started + std::chrono::seconds(2));
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << when << ": " << r;
    EXPECT_NE(r.find("\r\n\r\nok\n"), std::string::npos) << when << ": " << r;
  }

  int port_ = 0;
  std::shared_ptr<ServeRoutes> routes_;
  std::unique_ptr<challenges::HttpServer> server_;
};

TEST_F(ServeHostileTest, SlowlorisIsCutAtTheDeadlineAndOthersAreServedMeanwhile) {
  Start(8, std::chrono::milliseconds(1500));
  auto started = Clock::now();
  Client slow(port_);
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE(slow.Send("GET /metrics HTTP/1.1\r\nX-Slow: "));
  // Keep trickling while a scrape is served.
  ASSERT_TRUE(slow.Send("a"));
  ExpectScrapeServed("during a slow client");
  ASSERT_TRUE(slow.Send("b"));
  std::string got = slow.ReadAll(started + std::chrono::seconds(5));
  auto closed_after = Clock::now() - started;
  EXPECT_EQ(got, "") << "closed without an answer";
  EXPECT_GE(closed_after, std::chrono::milliseconds(1400));
  EXPECT_LT(closed_after, std::chrono::milliseconds(4000));
}

TEST_F(ServeHostileTest, HugeHeadIs431) {
  Start();
  Client c(port_);
  ASSERT_TRUE(c.ok());
  std::string head = "GET / HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a');
  c.Send(head);  // the server stops reading at its limit: the send may stall
  std::string r = c.ReadAll(Clock::now() + std::chrono::seconds(3));
  EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r.substr(0, 200);
  ExpectScrapeServed("after a huge head");
}

TEST_F(ServeHostileTest, TooManyConnectionsDropTheOldestIdleOneNotTheScrape) {
  Start(8, std::chrono::seconds(20));
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<Client>(port_));
    ASSERT_TRUE(idle.back()->ok());
    ASSERT_TRUE(idle.back()->Send("GET"));
  }
  ExpectScrapeServed("with the connection table full of idle clients");
  // The oldest idle client made room: it was closed without an answer.
  std::string first = idle[0]->ReadAll(Clock::now() + std::chrono::seconds(2));
  EXPECT_EQ(first, "");
  // Many more connections than the bound: the scrape still gets through.
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<Client>(port_));
    if (idle.back()->ok()) idle.back()->Send("G");
  }
  ExpectScrapeServed("after a connection flood");
}

TEST_F(ServeHostileTest, BodyIsNeverReadAnd413) {
  Start();
  Client c(port_);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                     std::string(1000, 'x')));
  std::string r = c.ReadAll(Clock::now() + std::chrono::seconds(3));
  EXPECT_EQ(r.rfind("HTTP/1.1 413 ", 0), 0u) << r;
  Client post(port_);
  ASSERT_TRUE(post.Send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  std::string p = post.ReadAll(Clock::now() + std::chrono::seconds(3));
  EXPECT_EQ(p.rfind("HTTP/1.1 405 ", 0), 0u) << p;
  EXPECT_NE(p.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
}

TEST_F(ServeHostileTest, OneRequestPerConnectionThenClose) {
  Start();
  Client c(port_);
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"));
  std::string r = c.ReadAll(Clock::now() + std::chrono::seconds(3));
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(r.find("HTTP/1.1", 1), std::string::npos) << "a single response: " << r;
  EXPECT_EQ(r.find("<deadline>"), std::string::npos) << "closed by the server";
}

TEST_F(ServeHostileTest, MalformedHeadIs400) {
  Start();
  Client c(port_);
  ASSERT_TRUE(c.Send("GET /metrics HTTP/2.0\r\n\r\n"));
  std::string r = c.ReadAll(Clock::now() + std::chrono::seconds(3));
  EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
}

}  // namespace
}  // namespace certkeeper::cli
