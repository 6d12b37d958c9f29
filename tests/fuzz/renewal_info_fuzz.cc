// ACME renewal information (acme/renewal_info.cc ParseRenewalInfo, RFC 9773
// §4.2) as a CA answers it.
#include "acme/resources.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc = fuzz::ParseJson(data, size);
  if (doc.is_discarded()) return 0;
  auto info = acme::ParseRenewalInfo(doc);
  if (!info.ok()) return 0;
  CK_FUZZ_CHECK(info->window_start <= info->window_end);
  for (unsigned char c : info->explanation_url) CK_FUZZ_CHECK(c > 0x20 && c != 0x7f);
  return 0;
}
