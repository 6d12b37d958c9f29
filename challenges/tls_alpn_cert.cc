#include "challenges/tls_alpn_cert.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "base/encoding.h"
#include "base/names.h"
#include "base/openssl_error.h"
#include "challenges/tls_alpn_solver.h"

namespace certkeeper::challenges {

Status SslError(std::string what) {
  return Status(ErrorCode::kTls, "tls-alpn-01: " + std::move(what) + ": " + OpenSslErrors());
}

// The extension's extnValue: DER of Authorization ::= OCTET STRING (SIZE (32)),
// holding SHA-256 of the key authorization (RFC 8737 §3).
std::string AcmeIdentifierValue(std::string_view key_authorization) {
  std::string digest = Sha256(key_authorization);
  return std::string("\x04\x20", 2) + digest;
}

namespace {

// The subjectAltName's one entry: the dNSName, or for an IP address the
// iPAddress of its 4 or 16 network-order octets (RFC 5280 §4.2.1.6).
GENERAL_NAME* SubjectAltName(const std::string& identifier) {
  GENERAL_NAME* general = GENERAL_NAME_new();
  if (general == nullptr) return nullptr;
  unsigned char ip[16];
  int ip_length = 0;
  if (inet_pton(AF_INET, identifier.c_str(), ip) == 1) {
    ip_length = 4;
  } else if (inet_pton(AF_INET6, identifier.c_str(), ip) == 1) {
    ip_length = 16;
  }
  ASN1_STRING* value = ip_length > 0 ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
  bool ok = value != nullptr &&
            (ip_length > 0 ? ASN1_OCTET_STRING_set(value, ip, ip_length) == 1
                           : ASN1_STRING_set(value, identifier.data(),
                                             static_cast<int>(identifier.size())) == 1);
  if (!ok) {
    ASN1_STRING_free(value);
    GENERAL_NAME_free(general);
    return nullptr;
  }
  GENERAL_NAME_set0_value(general, ip_length > 0 ? GEN_IPADD : GEN_DNS, value);
  return general;
}

}  // namespace

Result<std::shared_ptr<ChallengeCert>> MakeChallengeCert(const std::string& identifier,
                                                         const std::string& key_authorization) {
  const std::string& name = identifier;
  const bool is_ip = IsIpAddress(identifier);
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
  // No common name for an address: the iPAddress SAN is what is validated.
  if (!is_ip && name.size() <= 64) {  // ub-common-name
    X509_NAME* subject = X509_get_subject_name(x);
    ok = ok && X509_NAME_add_entry_by_txt(
                   subject, "CN", MBSTRING_ASC,
                   reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0) == 1;
  }
  ok = ok && X509_set_issuer_name(x, X509_get_subject_name(x)) == 1;
  if (!ok) return SslError("cannot build the challenge certificate");

  // subjectAltName: exactly the identifier being validated (RFC 8737 §3).
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  GENERAL_NAME* san = SubjectAltName(identifier);
  ok = names && san;
  if (ok) {
    ok = sk_GENERAL_NAME_push(names, san) > 0;
    if (ok) san = nullptr;
  }
  ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
  GENERAL_NAME_free(san);
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

}  // namespace certkeeper::challenges
