#include "challenges/tls_alpn_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/tls_socket.h"
#include "challenges/tls_alpn_hello.h"
#include "challenges/tls_alpn_solver.h"

namespace certkeeper::challenges {

namespace {

using Clock = std::chrono::steady_clock;

// Connections at once. Idle ones cost a descriptor each; a handshake in flight
// an SSL object of tens of KB: this bounds memory to a few MB.
constexpr size_t kMaxConnections = 256;
constexpr int kTlsAcceptsPerRound = 64;
// How long accepting pauses when the process is out of file descriptors.
constexpr auto kTlsAcceptPause = std::chrono::milliseconds(100);
// How long a connection that has sent nothing is kept (when shorter than the
// handshake timeout): a validating CA sends its ClientHello at once.
constexpr auto kSilentTimeout = std::chrono::milliseconds(3000);
// How long a finished connection waits for the peer's close_notify.
constexpr auto kLingerTimeout = std::chrono::milliseconds(500);

bool SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

// The listening socket, its accept thread and the certificates by name, which
// the handshake callbacks (challenges/tls_alpn_hello.h) reach through lookup_.
class TlsAlpnListener::Impl {
 public:
  Impl(int listen_fd, std::chrono::milliseconds handshake_timeout)
      : listen_fd_(listen_fd), handshake_timeout_(handshake_timeout) {}
  ~Impl() {
    Stop();
    if (listen_fd_ >= 0) close(listen_fd_);
    if (wake_[0] >= 0) close(wake_[0]);
    if (wake_[1] >= 0) close(wake_[1]);
  }

  void OnServed(std::function<void(const std::string&)> served) { served_ = std::move(served); }

  Status Start() {
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      return Status(ErrorCode::kIo, std::string("tls-alpn-01: pipe failed: ") + strerror(errno));
    }
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    if (!ctx_) return SslError("cannot create the TLS context");
    SetUpChallengeContext(ctx_.get(), &lookup_);
    if (!SetNonBlocking(listen_fd_)) {
      return Status(ErrorCode::kIo, std::string("tls-alpn-01: fcntl failed: ") + strerror(errno));
    }
    acceptor_ = std::thread([this] { AcceptLoop(); });
    return Status::Ok();
  }

  // Wakes the thread and joins it; it waits in poll() with the wake pipe, so
  // this returns within one poll round, every client socket closed.
  void Stop() {
    if (!acceptor_.joinable()) return;
    char byte = 1;
    while (write(wake_[1], &byte, 1) < 0 && errno == EINTR) {
    }
    acceptor_.join();
  }

  void Put(const std::string& name, std::shared_ptr<ChallengeCert> cert) {
    std::lock_guard<std::mutex> lock(mu_);
    certs_[name] = std::move(cert);
  }
  // Returns whether any name is left.
  bool Remove(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    certs_.erase(name);
    return !certs_.empty();
  }

 private:
  enum class Phase { kSilent, kHandshake, kShutdown };
  // One client. The SSL object (tens of KB) is made only once the client has
  // sent something, so idle connections cost a descriptor and this struct.
  struct Connection {
    int fd = -1;
    Phase phase = Phase::kSilent;
    SslPtr ssl;
    Clock::time_point accepted;
    Clock::time_point deadline;
    short events = POLLIN;
  };

  // One thread multiplexes every handshake with poll(), so that no number of
  // idle or slow clients below the cap can hold the listener; at the cap a new
  // client closes the oldest silent one (or the oldest of all).
  void AcceptLoop() {
    std::vector<pollfd> fds;
    Clock::time_point accept_paused_until;
    while (true) {
      Clock::time_point now = Clock::now();
      const bool accepting = now >= accept_paused_until;
      int timeout = accepting ? 1000 : RemainingMs(accept_paused_until) + 1;
      fds.clear();
      fds.push_back({wake_[0], POLLIN, 0});
      fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
      for (const Connection& c : connections_) {
        fds.push_back({c.fd, c.events, 0});
        timeout = std::min(timeout, RemainingMs(c.deadline) + 1);
      }
      int rc = poll(fds.data(), fds.size(), timeout);
      if (rc < 0 && errno != EINTR) {
        log::Error(std::string("tls-alpn-01: poll failed: ") + strerror(errno));
        break;
      }
      if (rc > 0 && fds[0].revents != 0) break;
      now = Clock::now();
      for (size_t i = 0; rc > 0 && i < connections_.size(); ++i) {
        if (fds[i + 2].revents != 0) Advance(connections_[i], now);
      }
      for (Connection& c : connections_) {
        if (c.fd >= 0 && now >= c.deadline) Close(c);
      }
      std::erase_if(connections_, [](const Connection& c) { return c.fd < 0; });
      if (rc > 0 && fds[1].revents != 0 && !AcceptSome(now)) {
        accept_paused_until = now + kTlsAcceptPause;
      }
    }
    for (Connection& c : connections_) Close(c);
    connections_.clear();
  }

  // Accepts pending clients; false when out of descriptors with none of ours
  // to close, so that the loop pauses accepting instead of spinning.
  bool AcceptSome(Clock::time_point now) {
    for (int i = 0; i < kTlsAcceptsPerRound; ++i) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) {
          if (connections_.empty()) return false;
          EvictOldest();  // make room for the next round
        }
        return true;  // EAGAIN, ECONNABORTED, ...: try again next round
      }
      // Room is made only for a connection actually accepted.
      if (connections_.size() >= kMaxConnections) EvictOldest();
      Connection c;
      c.fd = fd;
      c.accepted = now;
      // A client that has sent nothing gets less time than a handshake.
      c.deadline = now + std::min(handshake_timeout_, kSilentTimeout);
      connections_.push_back(std::move(c));
    }
    return true;
  }

  void EvictOldest() {
    auto key = [](const Connection& c) {
      return std::make_pair(c.phase != Phase::kSilent, c.accepted);
    };
    auto oldest = std::min_element(
        connections_.begin(), connections_.end(),
        [&key](const Connection& a, const Connection& b) { return key(a) < key(b); });
    if (oldest == connections_.end()) return;
    Close(*oldest);
    connections_.erase(oldest);
  }

  // One step of a connection: the handshake (which presents the certificate),
  // then close_notify. No application data is read or written (RFC 8737 §3).
  void Advance(Connection& c, Clock::time_point now) {
    if (c.phase == Phase::kSilent) {
      c.ssl.reset(SSL_new(ctx_.get()));
      if (!c.ssl || !SetSslSocket(c.ssl.get(), c.fd)) {
        Close(c);
        return;
      }
      c.phase = Phase::kHandshake;
      c.deadline = c.accepted + handshake_timeout_;
    }
    if (c.phase == Phase::kHandshake) {
      int rc = SSL_accept(c.ssl.get());
      if (rc != 1) {
        WaitOrClose(c, rc);
        return;
      }
      const char* sni = SSL_get_servername(c.ssl.get(), TLSEXT_NAMETYPE_host_name);
      log::Debug("tls-alpn-01: challenge certificate served", {{"sni", sni ? sni : ""}});
      if (served_ && sni != nullptr) served_(sni);
      // Send close_notify, then give the peer a moment to send its own, so
      // that closing does not reset the connection under unread data.
      c.phase = Phase::kShutdown;
      c.deadline = std::min(c.deadline, now + kLingerTimeout);
    }
    int rc = SSL_shutdown(c.ssl.get());
    if (rc == 1) {
      Close(c);
    } else if (rc == 0) {
      c.events = POLLIN;  // close_notify sent; the peer's is awaited
    } else {
      WaitOrClose(c, rc);
    }
  }

  // After an SSL call returned rc: wait for the socket it needs, or close.
  static void WaitOrClose(Connection& c, int rc) {
    int err = SSL_get_error(c.ssl.get(), rc);
    if (err == SSL_ERROR_WANT_READ) {
      c.events = POLLIN;
    } else if (err == SSL_ERROR_WANT_WRITE) {
      c.events = POLLOUT;
    } else {
      Close(c);
    }
  }

  static void Close(Connection& c) {
    c.ssl.reset();
    ERR_clear_error();
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }

  int listen_fd_;
  std::chrono::milliseconds handshake_timeout_;
  std::function<void(const std::string&)> served_;  // set before the thread starts
  int wake_[2] = {-1, -1};
  // The handshake callbacks' view of certs_; declared before ctx_, which uses it.
  ChallengeCertLookup lookup_ = [this](const std::string& sni) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = certs_.find(sni);
    return it != certs_.end() ? it->second : nullptr;
  };
  SslCtxPtr ctx_;
  std::thread acceptor_;
  std::vector<Connection> connections_;  // only touched by acceptor_
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<ChallengeCert>> certs_;
};

TlsAlpnListener::TlsAlpnListener(int listen_fd, std::chrono::milliseconds handshake_timeout)
    : impl_(std::make_unique<Impl>(listen_fd, handshake_timeout)) {}

TlsAlpnListener::~TlsAlpnListener() = default;

void TlsAlpnListener::OnServed(std::function<void(const std::string& name)> served) {
  impl_->OnServed(std::move(served));
}

Status TlsAlpnListener::Start() { return impl_->Start(); }

void TlsAlpnListener::Stop() { impl_->Stop(); }

void TlsAlpnListener::Put(const std::string& name, std::shared_ptr<ChallengeCert> cert) {
  impl_->Put(name, std::move(cert));
}

bool TlsAlpnListener::Remove(const std::string& name) { return impl_->Remove(name); }

}  // namespace certkeeper::challenges
