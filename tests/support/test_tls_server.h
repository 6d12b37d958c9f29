// A TLS server on 127.0.0.1 (a free port chosen by the kernel) for unit tests
// of TLS clients: it completes handshakes with one certificate chain, selects
// an ALPN protocol from the ones it is given, and records the SNI names it was
// asked for. Runs on a thread of the test process; the destructor stops and
// joins it.
#ifndef CERTKEEPER_TESTS_SUPPORT_TEST_TLS_SERVER_H_
#define CERTKEEPER_TESTS_SUPPORT_TEST_TLS_SERVER_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace certkeeper::testing {

class TestTlsServer {
 public:
  // chain_pem: the leaf first, then the intermediates to send with it.
  // alpn: the protocols the server agrees to, in its order of preference;
  // empty: ALPN is ignored.
  TestTlsServer(const std::string& chain_pem, const std::string& key_pem,
                std::vector<std::string> alpn = {})
      : alpn_(std::move(alpn)) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    LoadChainAndKey(chain_pem, key_pem);
    if (!alpn_.empty()) {
      for (const std::string& p : alpn_) alpn_wire_ += static_cast<char>(p.size()) + p;
      SSL_CTX_set_alpn_select_cb(ctx_, SelectAlpn, this);
    }
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 16) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    thread_ = std::thread([this] { Serve(); });
  }

  ~TestTlsServer() {
    char byte = 1;
    if (write(wake_[1], &byte, 1) != 1) {}
    thread_.join();
    close(wake_[0]);
    close(wake_[1]);
    close(listen_fd_);
    SSL_CTX_free(ctx_);
  }
  TestTlsServer(const TestTlsServer&) = delete;
  TestTlsServer& operator=(const TestTlsServer&) = delete;

  int port() const { return port_; }
  std::vector<std::string> server_names() {
    std::lock_guard<std::mutex> lock(mu_);
    return server_names_;
  }
  int handshakes() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(server_names_.size());
  }
  // The server finishes a handshake after the client does: wait (bounded) until
  // it has recorded at least n.
  bool WaitForHandshakes(int n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [&] { return static_cast<int>(server_names_.size()) >= n; });
  }

 private:
  static void Check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test TLS server: ") + what);
  }

  void LoadChainAndKey(const std::string& chain_pem, const std::string& key_pem) {
    BIO* certs = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
    X509* leaf = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
    Check(leaf != nullptr && SSL_CTX_use_certificate(ctx_, leaf) == 1, "use certificate");
    X509_free(leaf);
    while (X509* extra = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr)) {
      Check(SSL_CTX_add0_chain_cert(ctx_, extra) == 1, "add chain certificate");
    }
    ERR_clear_error();  // the end of the PEM bundle
    BIO_free(certs);
    BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    Check(key != nullptr && SSL_CTX_use_PrivateKey(ctx_, key) == 1, "use key");
    EVP_PKEY_free(key);
    BIO_free(key_bio);
  }

  static int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_len,
                        const unsigned char* in, unsigned int in_len, void* arg) {
    auto* self = static_cast<TestTlsServer*>(arg);
    unsigned char* selected = nullptr;
    int rc = SSL_select_next_proto(
        &selected, out_len, reinterpret_cast<const unsigned char*>(self->alpn_wire_.data()),
        static_cast<unsigned int>(self->alpn_wire_.size()), in, in_len);
    if (rc != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }

  void Serve() {
    // A client that hangs up early must not end the test binary with SIGPIPE.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      timeval tv{.tv_sec = 2, .tv_usec = 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        std::lock_guard<std::mutex> lock(mu_);
        server_names_.push_back(sni ? sni : "");
        cv_.notify_all();
      }
      SSL_shutdown(ssl);
      SSL_free(ssl);
      ERR_clear_error();
      close(fd);
    }
  }

  std::vector<std::string> alpn_;
  std::string alpn_wire_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> server_names_;
};

}  // namespace certkeeper::testing

#endif  // CERTKEEPER_TESTS_SUPPORT_TEST_TLS_SERVER_H_
