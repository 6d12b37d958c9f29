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
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "base/encoding.h"
#include "base/log.h"
#include "base/names.h"
#include "challenges/tls_alpn_hello.h"

namespace certkeeper::challenges {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxConnections = 32;
// How long a finished connection waits for the peer's close_notify.
constexpr auto kLingerTimeout = std::chrono::milliseconds(500);

struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error recorded" : out;
}

Status SslError(std::string what) {
  return Status(ErrorCode::kTls, "tls-alpn-01: " + std::move(what) + ": " + OpenSslErrors());
}

// The certificate and key answering for one identifier.
struct ChallengeCert {
  X509Ptr cert;
  PkeyPtr key;
  std::string der;
};

// The extension's extnValue: DER of Authorization ::= OCTET STRING (SIZE (32)),
// holding SHA-256 of the key authorization (RFC 8737 §3).
std::string AcmeIdentifierValue(std::string_view key_authorization) {
  std::string digest = Sha256(key_authorization);
  return std::string("\x04\x20", 2) + digest;
}

Result<std::shared_ptr<ChallengeCert>> MakeChallengeCert(const std::string& name,
                                                         const std::string& key_authorization) {
  auto out = std::make_shared<ChallengeCert>();
  out->key.reset(EVP_EC_gen("P-256"));
  out->cert.reset(X509_new());
  if (!out->key || !out->cert) return SslError("cannot generate the challenge key");
  X509* x = out->cert.get();
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return SslError("no random serial");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
  BN_free(bn);
  ok = ok && X509_set_version(x, X509_VERSION_3) == 1 &&
       X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
       X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600) != nullptr &&
       X509_set_pubkey(x, out->key.get()) == 1;
  if (name.size() <= 64) {  // ub-common-name
    X509_NAME* subject = X509_get_subject_name(x);
    ok = ok && X509_NAME_add_entry_by_txt(
                   subject, "CN", MBSTRING_ASC,
                   reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0) == 1;
  }
  ok = ok && X509_set_issuer_name(x, X509_get_subject_name(x)) == 1;
  if (!ok) return SslError("cannot build the challenge certificate");

  // subjectAltName: exactly the dNSName being validated (RFC 8737 §3).
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  GENERAL_NAME* dns = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  ok = names && dns && ia5 && ASN1_STRING_set(ia5, name.data(), static_cast<int>(name.size()));
  if (ok) {
    GENERAL_NAME_set0_value(dns, GEN_DNS, ia5);
    ia5 = nullptr;
    ok = sk_GENERAL_NAME_push(names, dns) > 0;
    if (ok) dns = nullptr;
  }
  ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
  ASN1_IA5STRING_free(ia5);
  GENERAL_NAME_free(dns);
  GENERAL_NAMES_free(names);
  if (!ok) return SslError("cannot add the subjectAltName");

  // id-pe-acmeIdentifier, critical (RFC 8737 §3).
  std::string value = AcmeIdentifierValue(key_authorization);
  ASN1_OBJECT* oid = OBJ_txt2obj(std::string(kAcmeIdentifierOid).c_str(), 1);
  ASN1_OCTET_STRING* octets = ASN1_OCTET_STRING_new();
  X509_EXTENSION* ext = nullptr;
  ok = oid && octets &&
       ASN1_OCTET_STRING_set(octets, reinterpret_cast<const unsigned char*>(value.data()),
                             static_cast<int>(value.size())) == 1;
  if (ok) ext = X509_EXTENSION_create_by_OBJ(nullptr, oid, /*crit=*/1, octets);
  ok = ok && ext != nullptr && X509_add_ext(x, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(octets);
  ASN1_OBJECT_free(oid);
  if (!ok) return SslError("cannot add the acmeIdentifier extension");

  if (X509_sign(x, out->key.get(), EVP_sha256()) <= 0) {
    return SslError("cannot sign the challenge certificate");
  }
  unsigned char* der = nullptr;
  int der_len = i2d_X509(x, &der);
  if (der_len <= 0) return SslError("cannot encode the challenge certificate");
  out->der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  return out;
}

bool SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

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

// The listening socket, its accept thread and the certificates by name. Shared
// with OpenSSL callbacks through the SSL_CTX's app data.
class TlsAlpnSolver::Listener {
 public:
  Listener(int listen_fd, std::chrono::milliseconds handshake_timeout)
      : listen_fd_(listen_fd), handshake_timeout_(handshake_timeout) {}
  ~Listener() {
    Stop();
    if (listen_fd_ >= 0) close(listen_fd_);
    if (wake_[0] >= 0) close(wake_[0]);
    if (wake_[1] >= 0) close(wake_[1]);
  }

  Status Start() {
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      return Status(ErrorCode::kIo, std::string("tls-alpn-01: pipe failed: ") + strerror(errno));
    }
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    if (!ctx_) return SslError("cannot create the TLS context");
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx_.get(), 0);
    SSL_CTX_set_options(ctx_.get(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_client_hello_cb(ctx_.get(), &Listener::OnClientHello, this);
    SSL_CTX_set_alpn_select_cb(ctx_.get(), &Listener::OnAlpn, this);
    if (!SetNonBlocking(listen_fd_)) {
      return Status(ErrorCode::kIo, std::string("tls-alpn-01: fcntl failed: ") + strerror(errno));
    }
    acceptor_ = std::thread([this] { AcceptLoop(); });
    return Status::Ok();
  }

  // Wakes every thread and joins them; each waits in poll() with the wake pipe,
  // so this returns within one poll round.
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
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  // RFC 8737 §3: only acme-tls/1 clients with one of our names get an answer.
  // Checked on the raw ClientHello so that clients without any ALPN extension
  // (whom the ALPN callback never sees) are refused as well.
  static int OnClientHello(SSL* ssl, int* alert, void* arg) {
    auto* self = static_cast<Listener*>(arg);
    const unsigned char* data = nullptr;
    size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
                                  &data, &len) != 1 ||
        len < 2 || FindAlpn(data + 2, len - 2, kAcmeTlsAlpnProtocol) < 0) {
      *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
      return SSL_CLIENT_HELLO_ERROR;
    }
    std::string sni;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &data, &len) == 1) {
      sni = SniFromExtension(data, len);
    }
    std::shared_ptr<ChallengeCert> cert;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      auto it = self->certs_.find(sni);
      if (it != self->certs_.end()) cert = it->second;
    }
    if (cert == nullptr) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_CLIENT_HELLO_ERROR;
    }
    if (SSL_use_certificate(ssl, cert->cert.get()) != 1 ||
        SSL_use_PrivateKey(ssl, cert->key.get()) != 1) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  static int OnAlpn(SSL*, const unsigned char** out, unsigned char* out_len,
                    const unsigned char* in, unsigned int in_len, void*) {
    long at = FindAlpn(in, in_len, kAcmeTlsAlpnProtocol);
    if (at < 0) return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = in + at + 1;
    *out_len = in[at];
    return SSL_TLSEXT_ERR_OK;
  }

  void AcceptLoop() {
    std::list<Connection> connections;
    auto reap = [&connections](bool all) {
      for (auto it = connections.begin(); it != connections.end();) {
        if (all || it->done->load()) {
          it->thread.join();
          it = connections.erase(it);
        } else {
          ++it;
        }
      }
    };
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      int rc = poll(fds, 2, 1000);
      if (rc < 0 && errno != EINTR) {
        log::Error(std::string("tls-alpn-01: poll failed: ") + strerror(errno));
        break;
      }
      if (fds[1].revents != 0) break;
      reap(false);
      if (rc <= 0 || fds[0].revents == 0) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) continue;  // EAGAIN, ECONNABORTED, EMFILE: try again later
      if (connections.size() >= kMaxConnections) {
        log::Warn("tls-alpn-01: too many connections at once; one refused");
        close(fd);
        continue;
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      connections.push_back({std::thread([this, fd, done] {
                               Serve(fd);
                               done->store(true);
                             }),
                             done});
    }
    reap(true);
  }

  // One connection: the handshake (which presents the certificate), then
  // close_notify. No application data is read or written (RFC 8737 §3).
  void Serve(int fd) {
    Clock::time_point deadline = Clock::now() + handshake_timeout_;
    SslPtr ssl(SSL_new(ctx_.get()));
    if (ssl && SSL_set_fd(ssl.get(), fd) == 1) {
      bool ok = DriveSsl(ssl.get(), fd, wake_[0], deadline, SSL_accept);
      if (ok) {
        const char* sni = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name);
        log::Debug("tls-alpn-01: challenge certificate served", {{"sni", sni ? sni : ""}});
        // Send close_notify, then give the peer a moment to send its own, so
        // that closing does not reset the connection under unread data.
        Clock::time_point linger = std::min(deadline, Clock::now() + kLingerTimeout);
        if (SSL_shutdown(ssl.get()) == 0) {
          DriveSsl(ssl.get(), fd, wake_[0], linger, SSL_shutdown);
        }
      }
      ERR_clear_error();
    }
    ssl.reset();
    close(fd);
  }

  int listen_fd_;
  std::chrono::milliseconds handshake_timeout_;
  int wake_[2] = {-1, -1};
  SslCtxPtr ctx_;
  std::thread acceptor_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<ChallengeCert>> certs_;
};

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
    auto listener = std::make_unique<Listener>(fd, options_.handshake_timeout);
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

// Checks the acmeIdentifier extension the way a validating server does.
std::string CheckAcmeIdentifier(X509* cert, std::string_view key_authorization_digest_der) {
  ASN1_OBJECT* oid = OBJ_txt2obj(std::string(kAcmeIdentifierOid).c_str(), 1);
  int index = oid ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
  ASN1_OBJECT_free(oid);
  if (index < 0) return "the certificate has no acmeIdentifier extension";
  X509_EXTENSION* ext = X509_get_ext(cert, index);
  if (X509_EXTENSION_get_critical(ext) != 1) return "the acmeIdentifier extension is not critical";
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  std::string_view value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                         static_cast<size_t>(ASN1_STRING_length(data)));
  if (value != key_authorization_digest_der) {
    return "the acmeIdentifier extension does not hold SHA-256 of the key authorization";
  }
  return "";
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
