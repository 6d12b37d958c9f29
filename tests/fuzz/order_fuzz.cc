// An ACME order object (acme/order.cc ParseOrder, RFC 8555 §7.1.3), including
// the problem document in its "error" member.
#include "acme/resources.h"
#include "base/names.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc = fuzz::ParseJson(data, size);
  if (doc.is_discarded()) return 0;
  auto order = acme::ParseOrder(doc, "https://ca.example/order/1", "https");
  if (!order.ok()) return 0;
  CK_FUZZ_CHECK(!order->identifiers.empty());
  for (const std::string& name : order->identifiers) {
    // Identifiers end up in file names and DNS queries: they are canonical.
    auto canonical = CanonicalDnsName(name, /*allow_wildcard=*/true);
    CK_FUZZ_CHECK(canonical.ok() && *canonical == name);
  }
  CK_FUZZ_CHECK(acme::UrlScheme(order->finalize) == "https");
  for (const std::string& a : order->authorizations) {
    CK_FUZZ_CHECK(acme::UrlScheme(a) == "https");
  }
  return 0;
}
