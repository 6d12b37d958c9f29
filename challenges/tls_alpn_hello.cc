#include "challenges/tls_alpn_hello.h"

#include <algorithm>
#include <cctype>

#include "challenges/tls_alpn_solver.h"

namespace certkeeper::challenges {

long FindAlpn(const unsigned char* list, size_t len, std::string_view proto) {
  size_t i = 0;
  while (i < len) {
    size_t n = list[i];
    if (n == 0 || i + 1 + n > len) return -1;
    if (std::string_view(reinterpret_cast<const char*>(list + i + 1), n) == proto) {
      return static_cast<long>(i);
    }
    i += 1 + n;
  }
  return -1;
}

std::string SniFromExtension(const unsigned char* p, size_t len) {
  if (len < 2) return "";
  size_t list_len = (size_t{p[0]} << 8) | p[1];
  if (list_len + 2 != len) return "";
  size_t i = 2;
  while (i + 3 <= len) {
    unsigned type = p[i];
    size_t n = (size_t{p[i + 1]} << 8) | p[i + 2];
    if (i + 3 + n > len) return "";
    if (type == 0) {
      std::string name(reinterpret_cast<const char*>(p + i + 3), n);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(tolower(c)); });
      return name;
    }
    i += 3 + n;
  }
  return "";
}

namespace {

// RFC 8737 §3: only acme-tls/1 clients with one of our names get an answer.
// Checked on the raw ClientHello so that clients without any ALPN extension
// (whom the ALPN callback never sees) are refused as well.
int OnClientHello(SSL* ssl, int* alert, void* arg) {
  const auto* lookup = static_cast<const ChallengeCertLookup*>(arg);
  const unsigned char* data = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &data,
                                &len) != 1 ||
      len < 2 || FindAlpn(data + 2, len - 2, kAcmeTlsAlpnProtocol) < 0) {
    *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
    return SSL_CLIENT_HELLO_ERROR;
  }
  std::string sni;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &data, &len) == 1) {
    sni = SniFromExtension(data, len);
  }
  std::shared_ptr<ChallengeCert> cert = (*lookup)(sni);
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

int OnAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
           unsigned int in_len, void*) {
  long at = FindAlpn(in, in_len, kAcmeTlsAlpnProtocol);
  if (at < 0) return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = in + at + 1;
  *out_len = in[at];
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void SetUpChallengeContext(SSL_CTX* ctx, const ChallengeCertLookup* lookup) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  // The lookup is only read; OpenSSL's callback argument is non-const.
  SSL_CTX_set_client_hello_cb(ctx, &OnClientHello, const_cast<ChallengeCertLookup*>(lookup));
  SSL_CTX_set_alpn_select_cb(ctx, &OnAlpn, nullptr);
}

}  // namespace certkeeper::challenges
