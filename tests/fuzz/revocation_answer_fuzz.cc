// An untrusted OCSP response (lifecycle/ocsp.cc VerifyOcspResponse) and an
// untrusted CRL (lifecycle/crl.cc CheckCrl) for a fixed self-signed issuer and
// leaf: whatever a responder or distribution point sends, the answer is an
// error or one of the statuses, never a crash or a leak.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "lifecycle/crl.h"
#include "lifecycle/ocsp.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;
using namespace certkeeper::lifecycle;

namespace {

X509Ptr Sign(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), issuer ? 2 : 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x.get(), key);
  X509_sign(x.get(), issuer_key, EVP_sha256());
  return x;
}

struct Fixture {
  PkeyPtr key{EVP_EC_gen("P-256")};
  X509Ptr ca = Sign(key.get(), "fuzz CA", nullptr, key.get());
  X509Ptr leaf = Sign(key.get(), "fuzz leaf", ca.get(), key.get());
  std::string request;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = [] {
    auto* fixture = new Fixture();
    CertPair pair{X509Ptr(X509_dup(fixture->leaf.get())), X509Ptr(X509_dup(fixture->ca.get()))};
    auto request = BuildOcspRequest(pair);
    if (request.ok()) fixture->request = *request;
    return fixture;
  }();
  CertPair pair{X509Ptr(X509_dup(f->leaf.get())), X509Ptr(X509_dup(f->ca.get()))};
  const std::string input(fuzz::AsText(data, size));
  const TimePoint now = std::chrono::system_clock::now();
  auto ocsp = VerifyOcspResponse(input, f->request, pair, now, std::chrono::hours(24));
  if (ocsp.ok()) CK_FUZZ_CHECK(!ocsp->status.empty());
  auto crl = CheckCrl(input, pair, now);
  if (crl.ok()) CK_FUZZ_CHECK(crl->status == "good" || crl->status == "revoked");
  return 0;
}
