// A TLS ClientHello as the TLS-ALPN-01 listener receives it (RFC 8737 §3): raw
// bytes from a memory BIO into an OpenSSL server context set up like the
// listener's in challenges/tls_alpn_solver.cc (TLS >= 1.2, no tickets, no
// renegotiation, a ClientHello callback that requires ALPN "acme-tls/1" and a
// known SNI before it sets the challenge certificate, an ALPN select callback),
// using the listener's extension parsers (challenges/tls_alpn_hello.cc).
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>

#include "challenges/tls_alpn_hello.h"
#include "challenges/tls_alpn_solver.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;
using namespace certkeeper::challenges;

namespace {

constexpr std::string_view kName = "example.com";

struct Server {
  SSL_CTX* ctx = nullptr;
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
};

// A self-signed P-256 certificate for kName, like the listener's (without the
// acmeIdentifier extension, which the handshake does not look at).
void MakeCertificate(Server& s) {
  s.key = EVP_EC_gen("P-256");
  s.cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(s.cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(s.cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(s.cert), 3600);
  X509_set_pubkey(s.cert, s.key);
  X509_set_issuer_name(s.cert, X509_get_subject_name(s.cert));
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                                            "DNS:example.com");
  X509_add_ext(s.cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(s.cert, s.key, EVP_sha256());
}

int OnClientHello(SSL* ssl, int* alert, void* arg) {
  auto* s = static_cast<Server*>(arg);
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
    CK_FUZZ_CHECK(sni.size() + 5 <= len || sni.empty());
    for (char c : sni) CK_FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
  }
  if (sni != kName) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (SSL_use_certificate(ssl, s->cert) != 1 || SSL_use_PrivateKey(ssl, s->key) != 1) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

int OnAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
           unsigned int in_len, void*) {
  long at = FindAlpn(in, in_len, kAcmeTlsAlpnProtocol);
  if (at < 0) return SSL_TLSEXT_ERR_ALERT_FATAL;
  CK_FUZZ_CHECK(static_cast<size_t>(at) + 1 + in[at] <= in_len);
  *out = in + at + 1;
  *out_len = in[at];
  CK_FUZZ_CHECK(std::string_view(reinterpret_cast<const char*>(*out), *out_len) ==
                kAcmeTlsAlpnProtocol);
  return SSL_TLSEXT_ERR_OK;
}

Server& GetServer() {
  static Server* s = [] {
    auto* server = new Server;
    MakeCertificate(*server);
    server->ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(server->ctx, TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(server->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(server->ctx, 0);
    SSL_CTX_set_options(server->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_client_hello_cb(server->ctx, &OnClientHello, server);
    SSL_CTX_set_alpn_select_cb(server->ctx, &OnAlpn, server);
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
  SSL* ssl = SSL_new(server.ctx);
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
  SSL_free(ssl);
  ERR_clear_error();
  return 0;
}
