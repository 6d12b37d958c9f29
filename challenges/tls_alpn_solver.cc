#include "challenges/tls_alpn_solver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/names.h"
#include "challenges/tls_alpn_cert.h"
#include "challenges/tls_alpn_listener.h"

namespace certkeeper::challenges {

namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits until fd is ready for events, the wake descriptor fires (-1: none) or
// the deadline passes. Returns true when fd is ready.
bool WaitFor(int fd, short events, int wake_fd, Clock::time_point deadline) {
  while (true) {
    int timeout = RemainingMs(deadline);
    if (timeout == 0) return false;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    int rc = poll(fds, wake_fd >= 0 ? 2 : 1, timeout);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    if (wake_fd >= 0 && fds[1].revents != 0) return false;
    return fds[0].revents != 0;
  }
}

// Runs an SSL handshake step function on a non-blocking socket until it
// completes, fails, the deadline passes or wake_fd fires.
template <typename Step>
bool DriveSsl(SSL* ssl, int fd, int wake_fd, Clock::time_point deadline, Step step) {
  while (true) {
    int rc = step(ssl);
    if (rc == 1) return true;
    int err = SSL_get_error(ssl, rc);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0 || !WaitFor(fd, events, wake_fd, deadline)) return false;
  }
}

}  // namespace

Result<std::unique_ptr<TlsAlpnSolver>> TlsAlpnSolver::Create(const TlsAlpnOptions& options) {
  Result<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address.ok()) return address.status().Annotate("tls-alpn-01");
  return std::unique_ptr<TlsAlpnSolver>(new TlsAlpnSolver(options, *address));
}

TlsAlpnSolver::TlsAlpnSolver(const TlsAlpnOptions& options, ListenAddress address)
    : options_(options), address_(std::move(address)) {}

TlsAlpnSolver::~TlsAlpnSolver() { (void)Stop(); }

std::vector<SolverNote> TlsAlpnSolver::TakeNotes() { return std::exchange(notes_, {}); }

Status TlsAlpnSolver::SelfCheck(const std::vector<ChallengeTask>& tasks) {
  std::map<std::string, std::string> seen;
  for (const ChallengeTask& task : tasks) {
    CK_RETURN_IF_ERROR(ValidateTask(task, kTlsAlpn01));
    auto [it, inserted] = seen.emplace(task.identifier, task.key_authorization);
    if (!inserted && it->second != task.key_authorization) {
      return Status(ErrorCode::kInvalidArgument,
                    "tls-alpn-01: two different challenges for " + task.identifier +
                        " in one batch; one listener can answer only one per name")
          .Hint("present them one after the other");
    }
  }
  if (listener_ != nullptr) return Status::Ok();
  CK_RETURN_IF_ERROR(CheckCanBind(address_, kTlsAlpn01));
  notes_.push_back({"", "tls-alpn-01: " + address_.ToString() + " can be bound"});
  return Status::Ok();
}

Status TlsAlpnSolver::Present(const std::vector<ChallengeTask>& tasks) {
  struct Prepared {
    std::string name;
    const ChallengeTask* task;
    std::shared_ptr<ChallengeCert> cert;
  };
  std::vector<Prepared> certs;
  for (const ChallengeTask& task : tasks) {
    CK_RETURN_IF_ERROR(ValidateTask(task, kTlsAlpn01));
    std::string name = *CanonicalDnsName(task.identifier, /*allow_wildcard=*/false);
    Result<std::shared_ptr<ChallengeCert>> cert = MakeChallengeCert(name, task.key_authorization);
    if (!cert.ok()) return cert.status().Annotate(task.identifier);
    certs.push_back({std::move(name), &task, std::move(*cert)});
  }
  if (listener_ == nullptr) {
    CK_ASSIGN_OR_RETURN(int fd, BindListener(address_, kTlsAlpn01));
    Result<int> port = BoundPort(fd);
    auto listener = std::make_unique<TlsAlpnListener>(fd, options_.handshake_timeout);
    if (!port.ok()) return port.status();
    CK_RETURN_IF_ERROR(listener->Start());
    listener_ = std::move(listener);
    bound_port_ = *port;
    log::Info("tls-alpn-01 listener started",
              {{"listen", address_.WithPort(bound_port_).ToString()}});
  }
  for (const Prepared& p : certs) listener_->Put(p.name, p.cert);
  for (const Prepared& p : certs) {
    CK_RETURN_IF_ERROR(Probe(p.name, p.task->key_authorization, p.cert->der));
  }
  return Status::Ok();
}

Status TlsAlpnSolver::CleanUp(const std::vector<ChallengeTask>& tasks) {
  if (listener_ == nullptr) return Status::Ok();
  bool any_left = false;
  for (const ChallengeTask& task : tasks) {
    Result<std::string> name = CanonicalDnsName(task.identifier, false);
    any_left = listener_->Remove(name.ok() ? *name : task.identifier);
  }
  if (tasks.empty() || any_left) return Status::Ok();
  return Stop();
}

namespace {

// The self-check trusts exactly the certificate Present generated: the challenge
// certificate is self-signed by design (RFC 8737 §3), so instead of a chain the
// peer's leaf is pinned by its DER encoding.
int VerifyPinned(X509_STORE_CTX* store, void* arg) {
  const auto* expected = static_cast<const std::string*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  unsigned char* der = nullptr;
  int len = leaf ? i2d_X509(leaf, &der) : -1;
  bool match = len > 0 && std::string_view(reinterpret_cast<char*>(der),
                                           static_cast<size_t>(len)) == *expected;
  OPENSSL_free(der);
  if (!match) X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return match ? 1 : 0;
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Status TlsAlpnSolver::Probe(const std::string& name, const std::string& key_authorization,
                            const std::string& expected_der) {
  std::string host = address_.ConnectHost();
  std::string where =
      (address_.ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(bound_port_);
  Clock::time_point started = Clock::now();
  Clock::time_point deadline = started + options_.self_check_timeout;
  auto fail = [&](std::string why) {
    Status s = Status(ErrorCode::kFailedPrecondition,
                      "tls-alpn-01 self-check for " + name + " at " + where + ": " + why)
                   .Where(where)
                   .Hint("the listener on " + address_.ToString() +
                         " did not answer as RFC 8737 requires; check that nothing "
                         "else intercepts the port");
    notes_.push_back({name, s.ToString()});
    return s;
  };

  sockaddr_storage storage = {};
  socklen_t length;
  if (address_.ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(bound_port_));
    inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr);
    length = sizeof(*in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(bound_port_));
    inet_pton(AF_INET, host.c_str(), &in->sin_addr);
    length = sizeof(*in);
  }
  FdCloser sock{socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (sock.fd < 0) return fail(std::string("socket: ") + strerror(errno));
  if (connect(sock.fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    if (errno != EINPROGRESS) return fail(std::string("connect: ") + strerror(errno));
    if (!WaitFor(sock.fd, POLLOUT, -1, deadline)) return fail("connect timed out");
    int err = 0;
    socklen_t err_len = sizeof(err);
    getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
    if (err != 0) return fail(std::string("connect: ") + strerror(err));
  }

  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return fail("cannot create a TLS context: " + OpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx.get(), VerifyPinned,
                                   const_cast<std::string*>(&expected_der));
  SslPtr ssl(SSL_new(ctx.get()));
  static constexpr unsigned char kAlpnWire[] = "\x0a" "acme-tls/1";
  if (!ssl || SSL_set_fd(ssl.get(), sock.fd) != 1 ||
      SSL_set_tlsext_host_name(ssl.get(), name.c_str()) != 1 ||
      SSL_set_alpn_protos(ssl.get(), kAlpnWire, sizeof(kAlpnWire) - 1) != 0) {
    return fail("cannot set up the TLS client: " + OpenSslErrors());
  }
  if (!DriveSsl(ssl.get(), sock.fd, -1, deadline, SSL_connect)) {
    std::string why = RemainingMs(deadline) == 0 ? "handshake timed out"
                                                 : "handshake failed: " + OpenSslErrors();
    if (SSL_get_verify_result(ssl.get()) == X509_V_ERR_CERT_REJECTED) {
      why = "the listener served a different certificate";
    }
    return fail(why);
  }
  const unsigned char* proto = nullptr;
  unsigned int proto_len = 0;
  SSL_get0_alpn_selected(ssl.get(), &proto, &proto_len);
  if (std::string_view(reinterpret_cast<const char*>(proto), proto_len) != kAcmeTlsAlpnProtocol) {
    return fail("the listener did not negotiate acme-tls/1");
  }
  std::string why = CheckAcmeIdentifier(SSL_get0_peer_certificate(ssl.get()),
                                        AcmeIdentifierValue(key_authorization));
  if (!why.empty()) return fail(why);
  SSL_shutdown(ssl.get());
  ERR_clear_error();
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  notes_.push_back({name, "tls-alpn-01 self-check: " + where +
                              " served the acme-tls/1 certificate in " +
                              std::to_string(elapsed.count()) + "ms"});
  return Status::Ok();
}

Status TlsAlpnSolver::Stop() {
  if (listener_ == nullptr) return Status::Ok();
  listener_->Stop();
  listener_.reset();
  log::Info("tls-alpn-01 listener stopped",
            {{"listen", address_.WithPort(bound_port_).ToString()}});
  bound_port_ = 0;
  return Status::Ok();
}

}  // namespace certkeeper::challenges
