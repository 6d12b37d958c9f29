// The standalone HTTP-01 listener under hostile clients: during validation any
// host on the internet can reach it, so a slow, endless or flooding client must
// neither starve the CA's request nor grow the process without bound.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "challenges/http01_solver.h"

namespace certkeeper::challenges {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "hostileTestToken_-1";
constexpr char kKeyAuthorization[] =
    "hostileTestToken_-1.LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

// Resident set size of this process in KiB (the server runs in-process).
long RssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A TCP connection to 127.0.0.1:port, closed by the destructor.
class Socket {
 public:
  explicit Socket(int port) {
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
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  enum class Sent { kAll, kClosed, kStalled };
  // Sends all of data; kClosed when the peer closed or reset the connection,
  // kStalled when it stopped reading for 2 s.
  Sent SendAll(std::string_view data) {
    while (!data.empty()) {
      pollfd p = {fd_, POLLOUT, 0};
      if (poll(&p, 1, 2000) <= 0) return Sent::kStalled;
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return Sent::kClosed;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Sent::kAll;
  }
  bool Send(std::string_view data) { return SendAll(data) == Sent::kAll; }

  // Reads until the peer closes or the deadline passes; returns what came.
  std::string ReadAll(Clock::time_point deadline) {
    std::string out;
    char buf[4096];
    while (out.size() < (1u << 20)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // True when the peer has closed (EOF or reset) within the deadline.
  bool ClosedByPeer(Clock::time_point deadline) {
    char buf[4096];
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
      ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
};

// Stops the attacking threads: a flag plus a condition for their pacing waits.
struct StopSignal {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  // Waits up to `pace`; true when asked to stop.
  bool WaitFor(std::chrono::milliseconds pace) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, pace, [this] { return stop; });
  }
  void Set() {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  }
};

std::unique_ptr<Http01Solver> StartSolver(Http01Options options = {}) {
  options.listen = "127.0.0.1:0";
  options.resolve = [](const std::string&) { return std::vector<std::string>{}; };
  Result<std::unique_ptr<Http01Solver>> solver = Http01Solver::Create(options);
  EXPECT_TRUE(solver.ok()) << solver.status().ToString();
  if (!solver.ok()) return nullptr;
  ChallengeTask task;
  task.identifier = "hostile.example.com";
  task.token = kToken;
  task.key_authorization = kKeyAuthorization;
  Status s = (*solver)->Present({task});
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::move(*solver);
}

// The CA's request, answered within 2 s.
void ExpectTokenServed(int port, const std::string& when) {
  auto started = Clock::now();
  Socket ca(port);
  ASSERT_TRUE(ca.ok()) << when;
  ASSERT_TRUE(ca.Send(std::string("GET /.well-known/acme-challenge/") + kToken +
                      " HTTP/1.1\r\nHost: hostile.example.com\r\nUser-Agent: ca\r\n"
                      "Accept: */*\r\nConnection: close\r\n\r\n"))
      << when;
  std::string response = ca.ReadAll(started + std::chrono::seconds(2));
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << when << ": " << response;
  ASSERT_GE(response.size(), sizeof(kKeyAuthorization) - 1) << when;
  EXPECT_EQ(response.substr(response.size() - (sizeof(kKeyAuthorization) - 1)),
            kKeyAuthorization)
      << when;
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(2)) << when;
}

// Tracks the highest RSS seen.
class RssPeak {
 public:
  RssPeak() : before_(RssKib()), peak_(before_) {}
  void Sample() {
    long now = RssKib();
    long seen = peak_.load();
    while (now > seen && !peak_.compare_exchange_weak(seen, now)) {
    }
  }
  long before() const { return before_; }
  long GrowthKib() const { return peak_.load() - before_; }

 private:
  long before_;
  std::atomic<long> peak_;
};

// What a flooding client achieved: bytes accepted by the server, and whether
// the server closed the connection before the flood ended.
struct FloodResult {
  size_t sent = 0;
  Socket::Sent last = Socket::Sent::kAll;
};

// Sends `prefix`, then `chunk` repeatedly until `total` bytes, a close or a
// stall, or 20 s; sampling RSS as it goes.
FloodResult Flood(int port, const std::string& prefix, const std::string& chunk, size_t total,
                  RssPeak& rss) {
  FloodResult result;
  Socket s(port);
  if (!s.ok()) return result;
  result.last = s.SendAll(prefix);
  auto give_up = Clock::now() + std::chrono::seconds(20);
  while (result.last == Socket::Sent::kAll && result.sent < total && Clock::now() < give_up) {
    result.last = s.SendAll(chunk);
    if (result.last == Socket::Sent::kAll) result.sent += chunk.size();
    rss.Sample();
  }
  return result;
}

std::string HeaderChunk() {
  std::string chunk;
  while (chunk.size() < 64 * 1024) chunk += "X-Flood: " + std::string(100, 'f') + "\r\n";
  return chunk;
}

constexpr size_t kFloodBytes = 46u << 20;

// A request line without end and a 46 MiB header flood, at full speed: the
// server must cut both off early and stay within a fixed memory budget.
TEST(Http01HostileTest, FloodsAreCutOffWithinMemoryBudget) {
  auto solver = StartSolver();
  ASSERT_NE(solver, nullptr);
  const int port = solver->bound_port();
  RssPeak rss;
  ASSERT_GT(rss.before(), 0);
  FloodResult endless_line;
  std::thread endless([&] {
    endless_line = Flood(port, "GET /", std::string(64 * 1024, 'a'), kFloodBytes, rss);
  });
  FloodResult headers = Flood(port, "GET / HTTP/1.1\r\nHost: flood\r\n", HeaderChunk(),
                              kFloodBytes, rss);
  endless.join();
  ::testing::Test::RecordProperty("endless_line_bytes_taken", std::to_string(endless_line.sent));
  ::testing::Test::RecordProperty("header_flood_bytes_taken", std::to_string(headers.sent));
  EXPECT_EQ(endless_line.last, Socket::Sent::kClosed)
      << "the server took " << endless_line.sent << " bytes of one request line";
  EXPECT_EQ(headers.last, Socket::Sent::kClosed)
      << "the server took " << headers.sent << " bytes of headers";
  ::testing::Test::RecordProperty("rss_growth_kib", std::to_string(rss.GrowthKib()));
  EXPECT_LT(rss.GrowthKib(), 32 * 1024) << "RSS grew by " << rss.GrowthKib() << " KiB";
  ExpectTokenServed(port, "after the floods");
  EXPECT_TRUE(solver->CleanUp({{"hostile.example.com", false, kToken, kKeyAuthorization}}).ok());
}

// Slow clients (more than any thread pool), a flood, and idle connections
// beyond the connection cap are all open: the CA's request is still answered
// within 2 s, and memory stays within the budget.
TEST(Http01HostileTest, SlowAndIdleClientsDoNotStarveTheToken) {
  auto solver = StartSolver();
  ASSERT_NE(solver, nullptr);
  const int port = solver->bound_port();
  RssPeak rss;
  ASSERT_GT(rss.before(), 0);
  StopSignal stop;

  // A request line that never ends: several KB, then a byte at a time.
  Socket endless(port);
  ASSERT_TRUE(endless.ok());
  ASSERT_TRUE(endless.Send("GET /" + std::string(6 * 1024, 'a')));
  constexpr int kTricklers = 64;
  std::vector<std::unique_ptr<Socket>> tricklers;
  for (int i = 0; i < kTricklers; ++i) {
    tricklers.push_back(std::make_unique<Socket>(port));
    ASSERT_TRUE(tricklers.back()->ok());
    ASSERT_TRUE(tricklers.back()->Send("GET /.well-known/acme-challenge/"));
  }
  std::thread trickle([&] {
    // Bounded: at most 300 rounds of 50 ms, one byte per connection per round.
    for (int round = 0; round < 300 && !stop.WaitFor(std::chrono::milliseconds(50)); ++round) {
      (void)send(endless.fd(), "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      for (auto& t : tricklers) (void)send(t->fd(), "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      rss.Sample();
    }
  });
  std::thread flood([&] {
    FloodResult ignored = Flood(port, "GET / HTTP/1.1\r\nHost: flood\r\n", HeaderChunk(),
                                kFloodBytes, rss);
    (void)ignored;
  });

  // Idle connections up to and beyond the server's connection cap (512).
  constexpr int kIdle = 512 + 64;
  std::vector<std::unique_ptr<Socket>> idle;
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<Socket>(port));
    rss.Sample();
  }

  ExpectTokenServed(port, "with slow and idle clients connected");
  flood.join();
  rss.Sample();
  ExpectTokenServed(port, "after the flood");
  stop.Set();
  trickle.join();
  ::testing::Test::RecordProperty("rss_growth_kib", std::to_string(rss.GrowthKib()));
  EXPECT_LT(rss.GrowthKib(), 32 * 1024) << "RSS grew by " << rss.GrowthKib() << " KiB";
  idle.clear();
  tricklers.clear();
  EXPECT_TRUE(solver->CleanUp({{"hostile.example.com", false, kToken, kKeyAuthorization}}).ok());
}

// The deadline counts from accept: a client that keeps sending a byte now and
// then is closed at it all the same.
TEST(Http01HostileTest, RequestDeadlineClosesSlowClients) {
  Http01Options options;
  options.request_timeout = std::chrono::milliseconds(300);
  auto solver = StartSolver(options);
  ASSERT_NE(solver, nullptr);
  Socket silent(solver->bound_port());
  Socket slow(solver->bound_port());
  ASSERT_TRUE(silent.ok() && slow.ok());
  auto started = Clock::now();
  bool slow_closed = false;
  // Bounded: 100 rounds of 50 ms at most.
  for (int i = 0; i < 100 && !slow_closed; ++i) {
    if (!slow.Send("G")) break;
    slow_closed = slow.ClosedByPeer(Clock::now() + std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(slow_closed || slow.ClosedByPeer(Clock::now() + std::chrono::seconds(1)));
  EXPECT_TRUE(silent.ClosedByPeer(started + std::chrono::seconds(3)));
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(4));
  ExpectTokenServed(solver->bound_port(), "after the deadline");
  EXPECT_TRUE(solver->CleanUp({{"hostile.example.com", false, kToken, kKeyAuthorization}}).ok());
}

TEST(Http01HostileTest, OversizedMalformedAndHeadRequestsGetTheirStatus) {
  auto solver = StartSolver();
  ASSERT_NE(solver, nullptr);
  auto ask = [&](const std::string& request) {
    Socket s(solver->bound_port());
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(s.Send(request));
    return s.ReadAll(Clock::now() + std::chrono::seconds(2));
  };
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n";
  EXPECT_EQ(ask(big).rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_EQ(ask("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  std::string head = ask(std::string("HEAD /.well-known/acme-challenge/") + kToken +
                         " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200 ", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: " + std::to_string(sizeof(kKeyAuthorization) - 1)),
            std::string::npos)
      << head;
  EXPECT_EQ(head.find(kKeyAuthorization), std::string::npos) << head;
  std::string absolute = ask(std::string("GET http://hostile.example.com/.well-known/"
                                         "acme-challenge/") +
                             kToken + " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(absolute.find(kKeyAuthorization), std::string::npos) << absolute;
  std::string subpath = ask(std::string("GET /.well-known/acme-challenge/") + kToken +
                          "/ HTTP/1.1\r\n\r\n");
  EXPECT_EQ(subpath.rfind("HTTP/1.1 404 ", 0), 0u) << subpath;
  EXPECT_TRUE(solver->CleanUp({{"hostile.example.com", false, kToken, kKeyAuthorization}}).ok());
}

}  // namespace
}  // namespace certkeeper::challenges
