#include "challenges/http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "base/log.h"

namespace certkeeper::challenges {

namespace {

using Clock = std::chrono::steady_clock;

// After the response, the client's close is awaited this long (and unread
// request bytes discarded up to kMaxDrain), so that closing does not reset the
// connection under a response the client has not read yet.
constexpr auto kDrainTimeout = std::chrono::milliseconds(1000);
constexpr size_t kMaxDrain = 64 * 1024;
// Connections accepted per poll round, so that a connect flood cannot keep the
// loop from serving the connections it has.
constexpr int kAcceptsPerRound = 256;
// How long accepting pauses when the process is out of file descriptors.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);

enum class Phase { kReading, kWriting, kDraining };

struct Connection {
  int fd = -1;
  Phase phase = Phase::kReading;
  Clock::time_point accepted;
  Clock::time_point deadline;
  std::string in;  // the request head so far, at most max_request_head bytes
  std::string out;
  size_t out_sent = 0;
  size_t drained = 0;
};

int MillisUntil(Clock::time_point when, Clock::time_point now) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(when - now).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

}  // namespace

std::string HttpResponse(int status, std::string_view reason, std::string_view content_type,
                         std::string_view extra_headers, std::string_view body, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                    "\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                    std::string(extra_headers) + "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

class HttpServer::Loop {
 public:
  Loop(int listen_fd, std::string name, HttpHandler handler, const HttpServerLimits& limits)
      : listen_fd_(listen_fd),
        name_(std::move(name)),
        handler_(std::move(handler)),
        limits_(limits) {}
  ~Loop() {
    if (thread_.joinable()) {
      char byte = 1;
      while (write(wake_[1], &byte, 1) < 0 && errno == EINTR) {
      }
      thread_.join();
    }
    for (Connection& c : connections_) CloseConnection(c);
    if (listen_fd_ >= 0) close(listen_fd_);
    if (wake_[0] >= 0) close(wake_[0]);
    if (wake_[1] >= 0) close(wake_[1]);
    if (closed_early_ > 0) {
      log::Info(name_ + ": connections closed before a complete request",
                {{"count", std::to_string(closed_early_)}});
    }
  }

  Status Start() {
    int flags = fcntl(listen_fd_, F_GETFL, 0);
    if (flags < 0 || fcntl(listen_fd_, F_SETFL, flags | O_NONBLOCK) != 0 ||
        pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      return Status(ErrorCode::kIo, name_ + ": cannot set up the server: " +
                                        strerror(errno));
    }
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

 private:
  void Run() {
    std::vector<pollfd> fds;
    Clock::time_point accept_paused_until;
    while (true) {
      Clock::time_point now = Clock::now();
      const bool accepting = now >= accept_paused_until;
      int timeout = accepting ? 1000 : MillisUntil(accept_paused_until, now);
      fds.clear();
      fds.push_back({wake_[0], POLLIN, 0});
      fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
      for (const Connection& c : connections_) {
        fds.push_back({c.fd, static_cast<short>(c.phase == Phase::kWriting ? POLLOUT : POLLIN), 0});
        timeout = std::min(timeout, MillisUntil(c.deadline, now));
      }
      int rc = poll(fds.data(), fds.size(), timeout);
      if (rc < 0 && errno != EINTR) {
        log::Error(name_ + ": poll failed: " + strerror(errno));
        return;
      }
      if (rc > 0 && fds[0].revents != 0) return;
      now = Clock::now();
      for (size_t i = 0; rc > 0 && i < connections_.size(); ++i) {
        if (fds[i + 2].revents != 0) Advance(connections_[i], now);
      }
      for (Connection& c : connections_) {
        if (c.fd >= 0 && now >= c.deadline) {
          if (c.phase == Phase::kReading) ++closed_early_;
          CloseConnection(c);
        }
      }
      std::erase_if(connections_, [](const Connection& c) { return c.fd < 0; });
      if (rc > 0 && fds[1].revents != 0 && !AcceptSome(now)) {
        accept_paused_until = now + kAcceptPause;
      }
    }
  }

  // Accepts pending connections; false when out of file descriptors with
  // nothing to close.
  bool AcceptSome(Clock::time_point now) {
    for (int i = 0; i < kAcceptsPerRound; ++i) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          if (!EvictOldest()) return false;
          continue;
        }
        return true;  // EAGAIN, or a connection that went away
      }
      // Room is made only for a connection actually accepted.
      if (connections_.size() >= limits_.max_connections) EvictOldest();
      Connection c;
      c.fd = fd;
      c.accepted = now;
      c.deadline = now + limits_.request_timeout;
      connections_.push_back(std::move(c));
    }
    return true;
  }

  // Closes the connection accepted first among those still sending their
  // request (or, when all are being answered, the first of all).
  bool EvictOldest() {
    if (connections_.empty()) return false;
    auto key = [](const Connection& c) {
      return std::make_pair(c.phase != Phase::kReading, c.accepted);
    };
    auto oldest = std::min_element(
        connections_.begin(), connections_.end(),
        [&key](const Connection& a, const Connection& b) { return key(a) < key(b); });
    if (oldest->phase == Phase::kReading) ++closed_early_;
    CloseConnection(*oldest);
    connections_.erase(oldest);
    return true;
  }

  void Advance(Connection& c, Clock::time_point now) {
    if (c.phase == Phase::kReading) Read(c);
    if (c.phase == Phase::kWriting) Write(c, now);
    if (c.phase == Phase::kDraining) Drain(c);
  }

  void Read(Connection& c) {
    char buf[4096];
    size_t room = limits_.max_request_head - c.in.size();
    ssize_t n = recv(c.fd, buf, std::min(room, sizeof(buf)), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {  // closed or reset before the request was complete
      ++closed_early_;
      CloseConnection(c);
      return;
    }
    c.in.append(buf, static_cast<size_t>(n));
    ParsedHead parsed = ParseRequestHead(c.in, limits_.max_request_head);
    switch (parsed.state) {
      case HeadState::kIncomplete:
        return;
      case HeadState::kMalformed:
        c.out = HttpResponse(400, "Bad Request", "text/plain", "", "malformed request\n", false);
        break;
      case HeadState::kTooLarge:
        c.out = HttpResponse(431, "Request Header Fields Too Large", "text/plain", "",
                             "request too large\n", false);
        break;
      case HeadState::kComplete:
        c.out = handler_(parsed.head);
        break;
    }
    c.in = std::string();  // release the buffer
    c.phase = Phase::kWriting;
  }

  void Write(Connection& c, Clock::time_point now) {
    while (c.out_sent < c.out.size()) {
      ssize_t n = send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        CloseConnection(c);
        return;
      }
      c.out_sent += static_cast<size_t>(n);
    }
    c.out = std::string();
    shutdown(c.fd, SHUT_WR);
    c.phase = Phase::kDraining;
    c.deadline = std::min(c.deadline, now + kDrainTimeout);
  }

  void Drain(Connection& c) {
    char buf[4096];
    while (true) {
      ssize_t n = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      c.drained += n > 0 ? static_cast<size_t>(n) : 0;
      if (n <= 0 || c.drained > kMaxDrain) {
        CloseConnection(c);
        return;
      }
    }
  }

  static void CloseConnection(Connection& c) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }

  int listen_fd_;
  std::string name_;
  HttpHandler handler_;
  HttpServerLimits limits_;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  std::vector<Connection> connections_;  // only touched by the thread
  size_t closed_early_ = 0;
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(int listen_fd, std::string name,
                                                     HttpHandler handler,
                                                     const HttpServerLimits& limits) {
  auto loop = std::make_unique<Loop>(listen_fd, std::move(name), std::move(handler), limits);
  CK_RETURN_IF_ERROR(loop->Start());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(loop)));
}

HttpServer::HttpServer(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}

HttpServer::~HttpServer() = default;

}  // namespace certkeeper::challenges
