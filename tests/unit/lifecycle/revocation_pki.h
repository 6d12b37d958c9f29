// A small PKI built in-process for the OCSP and CRL tests: a CA, a leaf it
// issued (with AIA OCSP and CRL DP URLs), delegated responder certificates,
// and builders of OCSP responses and CRLs with every field under the test's
// control.
#ifndef CERTKEEPER_TESTS_UNIT_LIFECYCLE_REVOCATION_PKI_H_
#define CERTKEEPER_TESTS_UNIT_LIFECYCLE_REVOCATION_PKI_H_

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "base/openssl_ptr.h"
#include "lifecycle/revocation_status.h"

namespace certkeeper::lifecycle::testing_pki {

inline PkeyPtr NewKey() { return PkeyPtr(EVP_EC_gen("P-256")); }

inline X509Ptr Up(X509* x) {
  X509_up_ref(x);
  return X509Ptr(x);
}

inline ASN1_TIME* AsnTime(TimePoint t) {
  return ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(t));
}

struct CertOptions {
  std::string cn;
  long serial = 1;
  bool ca = false;
  std::string key_usage;  // e.g. "critical,keyCertSign,cRLSign"
  std::string eku;        // e.g. "OCSPSigning"
  std::string aia;        // e.g. "OCSP;URI:http://127.0.0.1:1"
  std::string cdp;        // e.g. "URI:http://127.0.0.1:2/a.crl"
};

// Signs a certificate for key with issuer/issuer_key (self-signed when
// issuer is null), valid from an hour ago for 30 days.
inline X509Ptr MakeCert(const CertOptions& o, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), o.serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 30L * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(o.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    if (value.empty()) return;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr) << value;
    if (ext) X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  };
  add(NID_basic_constraints, o.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add(NID_key_usage, o.key_usage);
  add(NID_ext_key_usage, o.eku);
  add(NID_info_access, o.aia);
  add(NID_crl_distribution_points, o.cdp);
  add(NID_subject_key_identifier, "hash");
  EXPECT_GT(X509_sign(x.get(), issuer_key, EVP_sha256()), 0);
  return x;
}

struct Pki {
  PkeyPtr ca_key = NewKey();
  X509Ptr ca = MakeCert({"test CA", 1, true, "critical,keyCertSign,cRLSign", "", "", ""},
                        ca_key.get(), nullptr, ca_key.get());
  PkeyPtr leaf_key = NewKey();
  X509Ptr leaf = MakeCert({"leaf.example", 0x1234, false, "critical,digitalSignature", "serverAuth",
                           "OCSP;URI:http://127.0.0.1:1/ocsp",
                           "URI:http://127.0.0.1:2/test.crl"},
                          leaf_key.get(), ca.get(), ca_key.get());
  // Another certificate of the same CA (a different serial).
  X509Ptr other = MakeCert({"other.example", 0x9999, false, "", "", "", ""}, leaf_key.get(),
                           ca.get(), ca_key.get());
  PkeyPtr responder_key = NewKey();
  X509Ptr responder = MakeCert({"responder", 7, false, "critical,digitalSignature", "OCSPSigning",
                                "", ""},
                               responder_key.get(), ca.get(), ca_key.get());
  // Signed by the CA but without id-kp-OCSPSigning: not a responder.
  X509Ptr not_responder = MakeCert({"no eku", 8, false, "critical,digitalSignature", "", "", ""},
                                   responder_key.get(), ca.get(), ca_key.get());
  // A responder certificate with the EKU from another CA.
  PkeyPtr stranger_key = NewKey();
  X509Ptr stranger_ca = MakeCert({"test CA", 1, true, "critical,keyCertSign,cRLSign", "", "", ""},
                                 stranger_key.get(), nullptr, stranger_key.get());
  X509Ptr stranger_responder =
      MakeCert({"stranger responder", 9, false, "critical,digitalSignature", "OCSPSigning", "", ""},
               responder_key.get(), stranger_ca.get(), stranger_key.get());

  CertPair Pair() const { return CertPair{Up(leaf.get()), Up(ca.get())}; }
};

inline std::string Der(OCSP_RESPONSE* r) {
  unsigned char* p = nullptr;
  int n = i2d_OCSP_RESPONSE(r, &p);
  std::string out(reinterpret_cast<char*>(p), static_cast<size_t>(n));
  OPENSSL_free(p);
  return out;
}

enum class Nonce { kEcho, kNone, kWrong };

struct OcspOptions {
  int status = V_OCSP_CERTSTATUS_GOOD;
  int reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
  X509* subject = nullptr;  // default: the leaf
  X509* signer = nullptr;   // default: the CA
  EVP_PKEY* signer_key = nullptr;
  Nonce nonce = Nonce::kEcho;
  Duration this_update_ago = std::chrono::minutes(1);
  std::optional<Duration> next_update_in = std::chrono::hours(12);
  std::optional<TimePoint> revoked_at;
  bool corrupt_signature = false;
};

// A successful basic response to request_der, shaped by o.
inline std::string OcspResponse(const Pki& pki, const std::string& request_der, OcspOptions o,
                                TimePoint now) {
  X509* subject = o.subject ? o.subject : pki.leaf.get();
  X509* signer = o.signer ? o.signer : pki.ca.get();
  EVP_PKEY* key = o.signer_key ? o.signer_key : pki.ca_key.get();
  const auto* p = reinterpret_cast<const unsigned char*>(request_der.data());
  OCSP_REQUEST* req = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(request_der.size()));
  OCSP_BASICRESP* basic = OCSP_BASICRESP_new();
  OCSP_CERTID* id = OCSP_cert_to_id(nullptr, subject, pki.ca.get());
  ASN1_TIME* this_update = AsnTime(now - o.this_update_ago);
  ASN1_TIME* next_update = o.next_update_in ? AsnTime(now + *o.next_update_in) : nullptr;
  ASN1_TIME* revoked = AsnTime(o.revoked_at.value_or(now - std::chrono::hours(2)));
  OCSP_basic_add1_status(basic, id, o.status, o.reason, revoked, this_update, next_update);
  if (o.nonce == Nonce::kEcho) OCSP_copy_nonce(basic, req);
  if (o.nonce == Nonce::kWrong) {
    unsigned char wrong[16] = {1, 2, 3};
    OCSP_basic_add1_nonce(basic, wrong, sizeof(wrong));
  }
  // Without the signer certificate the DER ends with the signature.
  const unsigned long flags = o.corrupt_signature ? OCSP_NOCERTS : 0;
  EXPECT_EQ(OCSP_basic_sign(basic, signer, key, EVP_sha256(), nullptr, flags), 1);
  OCSP_RESPONSE* response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
  std::string der = Der(response);
  if (o.corrupt_signature) der.back() ^= 0x01;
  OCSP_RESPONSE_free(response);
  OCSP_BASICRESP_free(basic);
  OCSP_CERTID_free(id);
  OCSP_REQUEST_free(req);
  ASN1_TIME_free(this_update);
  ASN1_TIME_free(next_update);
  ASN1_TIME_free(revoked);
  return der;
}

struct CrlEntry {
  long serial;
  int reason;  // -1: no reason extension
};

struct CrlOptions {
  std::vector<CrlEntry> revoked;
  X509* issuer = nullptr;  // whose name it carries; default: the CA
  EVP_PKEY* key = nullptr; // default: the CA's key
  Duration this_update_ago = std::chrono::hours(1);
  std::optional<Duration> next_update_in = std::chrono::hours(24 * 7);
  bool delta = false;
  std::string idp;  // an issuingDistributionPoint value, e.g. "onlyCA"
};

inline std::string Crl(const Pki& pki, const CrlOptions& o, TimePoint now) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(o.issuer ? o.issuer : pki.ca.get()));
  ASN1_TIME* last = AsnTime(now - o.this_update_ago);
  X509_CRL_set1_lastUpdate(crl, last);
  ASN1_TIME_free(last);
  if (o.next_update_in) {
    ASN1_TIME* next = AsnTime(now + *o.next_update_in);
    X509_CRL_set1_nextUpdate(crl, next);
    ASN1_TIME_free(next);
  }
  for (const CrlEntry& e : o.revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* serial = ASN1_INTEGER_new();
    ASN1_INTEGER_set(serial, e.serial);
    X509_REVOKED_set_serialNumber(r, serial);
    ASN1_INTEGER_free(serial);
    ASN1_TIME* at = AsnTime(now - std::chrono::hours(3));
    X509_REVOKED_set_revocationDate(r, at);
    ASN1_TIME_free(at);
    if (e.reason >= 0) {
      ASN1_ENUMERATED* reason = ASN1_ENUMERATED_new();
      ASN1_ENUMERATED_set(reason, e.reason);
      X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0);
      ASN1_ENUMERATED_free(reason);
    }
    X509_CRL_add0_revoked(crl, r);
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, pki.ca.get(), nullptr, nullptr, crl, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr) << value;
    if (ext) X509_CRL_add_ext(crl, ext, -1);
    X509_EXTENSION_free(ext);
  };
  ASN1_INTEGER* number = ASN1_INTEGER_new();
  ASN1_INTEGER_set(number, 4097);
  X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0);
  ASN1_INTEGER_set(number, 4096);
  if (o.delta) X509_CRL_add1_ext_i2d(crl, NID_delta_crl, number, 1, 0);
  ASN1_INTEGER_free(number);
  if (!o.idp.empty()) add(NID_issuing_distribution_point, "critical," + o.idp);
  X509_CRL_sort(crl);
  EXPECT_GT(X509_CRL_sign(crl, o.key ? o.key : pki.ca_key.get(), EVP_sha256()), 0);
  unsigned char* p = nullptr;
  int n = i2d_X509_CRL(crl, &p);
  std::string out(reinterpret_cast<char*>(p), static_cast<size_t>(n));
  OPENSSL_free(p);
  X509_CRL_free(crl);
  return out;
}

}  // namespace certkeeper::lifecycle::testing_pki

#endif  // CERTKEEPER_TESTS_UNIT_LIFECYCLE_REVOCATION_PKI_H_
