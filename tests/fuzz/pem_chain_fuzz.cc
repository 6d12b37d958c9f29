// PEM certificate chains as a CA sends them (base/crypto.cc
// SplitPemCertificates, ParseCertificatePem, VerifyChain; RFC 8555 §7.4.2) and
// the renewal-information certificate identifier derived from one
// (acme/renewal_info.cc AriCertificateId, RFC 9773 §4.1).
#include "acme/client.h"
#include "base/crypto.h"
#include "base/names.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view pem = fuzz::AsText(data, size);
  auto certs = SplitPemCertificates(pem);
  if (!certs.ok()) return 0;
  CK_FUZZ_CHECK(!certs->empty());
  for (const std::string& cert : *certs) {
    // SplitPemCertificates re-encodes each certificate; each one parses again.
    auto info = ParseCertificatePem(cert);
    if (!info.ok()) continue;  // parses as X.509 but has an unusable time or SAN
    CK_FUZZ_CHECK(info->sha256_fingerprint.size() == 64);
    for (const std::string& name : info->dns_names) {
      CK_FUZZ_CHECK(name.find('\0') == std::string::npos);
      // A dNSName that reads like an address ("*:example.com", "1.2.3.4")
      // covers no identifier: identifiers of that form are IPs, which only
      // iPAddress SANs cover.
      if (!name.empty() && !LooksLikeIpAddress(name)) {
        CK_FUZZ_CHECK(CertificateCovers(*info, name));
      }
    }
    // iPAddress SANs are reported canonically, so each covers itself.
    for (const std::string& ip : info->ip_addresses) {
      CK_FUZZ_CHECK(IsIpAddress(ip) && *CanonicalIpAddress(ip) == ip);
      CK_FUZZ_CHECK(CertificateCovers(*info, ip));
    }
  }
  auto id = acme::AriCertificateId(certs->front());
  if (id.ok()) CK_FUZZ_CHECK(id->find('.') != std::string::npos);
  // The last certificate as the only trust anchor: chain building over
  // whatever the input holds.
  Status verified = VerifyChain(pem, "", certs->back(), FromUnixSeconds(1'800'000'000));
  CK_FUZZ_CHECK(verified.ok() || !verified.message().empty());
  return 0;
}
