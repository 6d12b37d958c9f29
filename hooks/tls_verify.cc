#include "hooks/tls_verify.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "base/encoding.h"

namespace certkeeper::hooks {

namespace {

using SteadyClock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Writing to a connection the server already closed raises SIGPIPE, which would
// end the whole program. A library must not change the process's signal
// disposition, so SIGPIPE is blocked for this thread while it talks TLS, and one
// raised meanwhile is consumed before the mask is restored.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

int RemainingMs(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits until fd is ready for `events`; false on timeout or error.
bool WaitFor(int fd, short events, SteadyClock::time_point deadline) {
  while (true) {
    int ms = RemainingMs(deadline);
    if (ms == 0) return false;
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int rc = poll(&p, 1, ms);
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string OpenSslError() {
  unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) return "the connection was closed";
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  return buf;
}

Result<std::string> Handshake(int fd, const std::string& server_name,
                              SteadyClock::time_point deadline, const std::string& where) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (!ctx) return Status(ErrorCode::kInternal, "SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Only the served certificate's fingerprint matters here, and it is compared
  // exactly; trust is not evaluated on this private context.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 ||
      SSL_set_tlsext_host_name(ssl.get(), server_name.c_str()) != 1) {
    return Status(ErrorCode::kInternal, "cannot set up the TLS connection").Where(where);
  }
  ERR_clear_error();
  while (true) {
    int rc = SSL_connect(ssl.get());
    if (rc == 1) break;
    int err = SSL_get_error(ssl.get(), rc);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN
                   : err == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                  : 0;
    if (events == 0) {
      return Status(ErrorCode::kTls, "TLS handshake failed: " + OpenSslError()).Where(where);
    }
    if (!WaitFor(fd, events, deadline)) {
      return Status(ErrorCode::kDeadlineExceeded, "TLS handshake timed out").Where(where);
    }
  }
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl.get()),
                                                   X509_free);
  if (!cert) return Status(ErrorCode::kTls, "the server sent no certificate").Where(where);
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  if (len <= 0) return Status(ErrorCode::kTls, "cannot encode the served certificate");
  std::string fingerprint =
      HexEncode(Sha256(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(len))));
  OPENSSL_free(der);
  SSL_shutdown(ssl.get());
  return fingerprint;
}

Status ConnectOne(int fd, const addrinfo* addr, SteadyClock::time_point deadline,
                  const std::string& where) {
  if (connect(fd, addr->ai_addr, addr->ai_addrlen) != 0 && errno != EINPROGRESS) {
    return Status(ErrorCode::kUnavailable, std::string("cannot connect: ") + strerror(errno))
        .Where(where);
  }
  if (!WaitFor(fd, POLLOUT, deadline)) {
    return Status(ErrorCode::kDeadlineExceeded, "connect timed out").Where(where);
  }
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    return Status(ErrorCode::kUnavailable, std::string("cannot connect: ") + strerror(err))
        .Where(where);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> FetchServedFingerprint(const Endpoint& endpoint,
                                           const std::string& server_name,
                                           std::chrono::milliseconds timeout) {
  ScopedSigpipeBlock no_sigpipe;
  SteadyClock::time_point deadline = SteadyClock::now() + timeout;
  std::string where = endpoint.ToString();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(endpoint.port);
  int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return Status(ErrorCode::kUnavailable,
                  std::string("cannot resolve the host: ") + gai_strerror(rc))
        .Where(where);
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  Status last(ErrorCode::kUnavailable, "no address to connect to");
  for (const addrinfo* addr = list.get(); addr != nullptr; addr = addr->ai_next) {
    Fd fd(socket(addr->ai_family, addr->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 addr->ai_protocol));
    if (fd.get() < 0) {
      last = Status(ErrorCode::kIo, std::string("socket: ") + strerror(errno)).Where(where);
      continue;
    }
    last = ConnectOne(fd.get(), addr, deadline, where);
    if (!last.ok()) continue;
    return Handshake(fd.get(), server_name, deadline, where);
  }
  return last;
}

Status VerifyServedCertificates(const std::vector<Endpoint>& endpoints,
                                const std::vector<std::string>& domains,
                                std::string_view expected_fingerprint,
                                const VerifyOptions& options, Clock& clock) {
  const TimePoint deadline = clock.Now() + options.total_timeout;
  auto remaining = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.Now());
  };
  for (const Endpoint& endpoint : endpoints) {
    for (const std::string& domain : domains) {
      std::string sni = SniNameFor(domain);
      std::chrono::milliseconds interval = options.first_interval;
      Status last;
      // A wrong certificate seen once says more than a later timeout: report it.
      Status mismatch;
      for (int attempt = 1;; ++attempt) {
        std::chrono::milliseconds budget = remaining();
        if (budget.count() <= 0) {
          if (last.ok()) {
            last = Status(ErrorCode::kDeadlineExceeded, "no time left to check").Where(
                endpoint.ToString());
          }
          break;
        }
        Result<std::string> served = FetchServedFingerprint(endpoint, sni, budget);
        if (served.ok() && *served == expected_fingerprint) {
          last = Status::Ok();
          break;
        }
        if (served.ok()) {
          last = Status(ErrorCode::kFailedPrecondition,
                        endpoint.ToString() + " serves " + *served + " for " + sni +
                            ", not the deployed " + std::string(expected_fingerprint))
                     .Where(endpoint.ToString())
                     .Hint("the reload did not take effect, or the server uses other "
                           "files: check its configuration and `reload`");
          mismatch = last;
        } else {
          last = served.status();
          last.Annotate("checking " + sni);
          if (last.hint().empty()) {
            last.Hint("is the server running and listening on " + endpoint.ToString() + "?");
          }
        }
        if (attempt >= options.max_attempts) break;
        std::chrono::milliseconds pause = std::min(interval, remaining());
        if (pause.count() <= 0) break;
        clock.SleepFor(pause);
        interval = std::min(interval * 2, options.max_interval);
      }
      if (!last.ok()) return mismatch.ok() ? last : mismatch;
    }
  }
  return Status::Ok();
}

}  // namespace certkeeper::hooks
