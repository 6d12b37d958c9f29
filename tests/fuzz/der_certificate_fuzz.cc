// One DER certificate (base/crypto.cc ParseCertificateDer, the form a chain's
// certificates take once base64-decoded), and its round trip through DerToPem.
#include "base/crypto.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto info = ParseCertificateDer(fuzz::AsText(data, size));
  if (!info.ok()) return 0;
  CK_FUZZ_CHECK(!info->serial_hex.empty());
  auto again = ParseCertificatePem(DerToPem(info->der));
  CK_FUZZ_CHECK(again.ok());
  CK_FUZZ_CHECK(again->sha256_fingerprint == info->sha256_fingerprint);
  CK_FUZZ_CHECK(again->dns_names == info->dns_names);
  CK_FUZZ_CHECK(again->ip_addresses == info->ip_addresses);
  return 0;
}
