// Helpers shared by the deploy end-to-end binaries: TOML quoting, reading and
// writing files, and an independent look at what a TLS server serves.
#ifndef CERTKEEPER_TESTS_E2E_DEPLOY_SUPPORT_H_
#define CERTKEEPER_TESTS_E2E_DEPLOY_SUPPORT_H_

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/crypto.h"
#include "base/fs.h"

namespace certkeeper::deploy_support {

inline std::vector<std::string> SplitOnSpaces(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// A TOML basic string holding `text` exactly.
inline std::string Toml(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

inline std::string Toml(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + Toml(list[i]);
  return out + "]";
}

inline std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

inline std::string Read(const std::string& path) {
  auto content = fs::ReadFile(path);
  return content.ok() ? *content : "<" + content.status().ToString() + ">";
}

inline void Write(const std::string& path, const std::string& content, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
}

// The serial of the leaf that host:port serves for `sni`, fetched with OpenSSL
// directly (not through certkeeper's verifier); "" when the handshake fails.
inline std::string ServedSerial(int port, const std::string& sni) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (!ctx) return "";
  std::string address = "127.0.0.1:" + std::to_string(port);
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new_ssl_connect(ctx.get()),
                                                    BIO_free_all);
  if (!bio) return "";
  SSL* ssl = nullptr;
  BIO_get_ssl(bio.get(), &ssl);
  SSL_set_tlsext_host_name(ssl, sni.c_str());
  BIO_set_conn_hostname(bio.get(), address.c_str());
  if (BIO_do_connect(bio.get()) <= 0 || BIO_do_handshake(bio.get()) <= 0) return "";
  std::unique_ptr<X509, decltype(&X509_free)> leaf(SSL_get1_peer_certificate(ssl), X509_free);
  if (!leaf) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> pem(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(pem.get(), leaf.get());
  char* data = nullptr;
  long size = BIO_get_mem_data(pem.get(), &data);
  auto info = ParseCertificatePem(std::string(data, size));
  return info.ok() ? info->serial_hex : "";
}

}  // namespace certkeeper::deploy_support

#endif  // CERTKEEPER_TESTS_E2E_DEPLOY_SUPPORT_H_
