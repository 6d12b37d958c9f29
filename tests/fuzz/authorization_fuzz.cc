// An ACME authorization with its challenges (acme/authorization.cc
// ParseAuthorization, RFC 8555 §7.1.4).
#include "acme/resources.h"
#include "base/names.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc = fuzz::ParseJson(data, size);
  if (doc.is_discarded()) return 0;
  auto authz = acme::ParseAuthorization(doc, "https://ca.example/authz/1", "https");
  if (!authz.ok()) return 0;
  auto canonical = CanonicalDnsName(authz->identifier, /*allow_wildcard=*/false);
  CK_FUZZ_CHECK(canonical.ok() && *canonical == authz->identifier);
  for (const acme::Challenge& c : authz->challenges) {
    CK_FUZZ_CHECK(authz->Find(c.type) != nullptr);
    CK_FUZZ_CHECK(acme::UrlScheme(c.url) == "https");
  }
  return 0;
}
