// A TLS ClientHello as the TLS-ALPN-01 listener receives it (RFC 8737 §3): raw
// bytes from a memory BIO into an OpenSSL server context set up by the
// listener's own SetUpChallengeContext (challenges/tls_alpn_hello.h), with one
// challenge certificate, so that its ClientHello and ALPN callbacks and their
// extension parsers run on the input.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <memory>
#include <string>
#include <string_view>

#include "challenges/tls_alpn_hello.h"
#include "challenges/tls_alpn_solver.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;
using namespace certkeeper::challenges;

namespace {

constexpr std::string_view kName = "example.com";

struct Server {
  SslCtxPtr ctx;
  std::shared_ptr<ChallengeCert> cert = std::make_shared<ChallengeCert>();
  ChallengeCertLookup lookup;
};

// A self-signed P-256 certificate for kName, like the listener's (without the
// acmeIdentifier extension, which the handshake does not look at).
void MakeCertificate(ChallengeCert& c) {
  c.key.reset(EVP_EC_gen("P-256"));
  c.cert.reset(X509_new());
  X509* x = c.cert.get();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, c.key.get());
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                                            "DNS:example.com");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, c.key.get(), EVP_sha256());
}

Server& GetServer() {
  static Server* s = [] {
    auto* server = new Server;
    MakeCertificate(*server->cert);
    server->lookup = [server](const std::string& sni) -> std::shared_ptr<ChallengeCert> {
      for (char c : sni) CK_FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
      return sni == kName ? server->cert : nullptr;
    };
    server->ctx.reset(SSL_CTX_new(TLS_server_method()));
    SetUpChallengeContext(server->ctx.get(), &server->lookup);
    return server;
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The parsers on their own, on the raw bytes.
  long at = FindAlpn(data, size, kAcmeTlsAlpnProtocol);
  CK_FUZZ_CHECK(at < 0 || static_cast<size_t>(at) + 1 + kAcmeTlsAlpnProtocol.size() <= size);
  CK_FUZZ_CHECK(SniFromExtension(data, size).size() <= size);

  Server& server = GetServer();
  SSL* ssl = SSL_new(server.ctx.get());
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_write(in, data, static_cast<int>(size));
  SSL_set_bio(ssl, in, out);  // ssl owns both
  SSL_set_accept_state(ssl);
  // One pass consumes the whole client flight; a second one sees the end of
  // the input (want-read) or the alert.
  for (int i = 0; i < 2; ++i) {
    int rc = SSL_do_handshake(ssl);
    if (rc == 1 || SSL_get_error(ssl, rc) != SSL_ERROR_WANT_READ) break;
  }
  // Whatever the ALPN callback selected is acme-tls/1.
  const unsigned char* selected = nullptr;
  unsigned int selected_len = 0;
  SSL_get0_alpn_selected(ssl, &selected, &selected_len);
  CK_FUZZ_CHECK(selected_len == 0 ||
                std::string_view(reinterpret_cast<const char*>(selected), selected_len) ==
                    kAcmeTlsAlpnProtocol);
  SSL_free(ssl);
  ERR_clear_error();
  return 0;
}
