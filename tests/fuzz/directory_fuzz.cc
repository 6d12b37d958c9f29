// The ACME directory (acme/directory.cc ParseDirectory, RFC 8555 §7.1.1) as the
// client receives it from a CA.
#include "acme/resources.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc = fuzz::ParseJson(data, size);
  if (doc.is_discarded()) return 0;
  auto dir = acme::ParseDirectory(doc, "https://ca.example/dir");
  if (!dir.ok()) {
    CK_FUZZ_CHECK(!dir.status().message().empty());
    return 0;
  }
  // Every endpoint the client will POST to is on the directory's scheme.
  for (const std::string* url : {&dir->new_nonce, &dir->new_account, &dir->new_order,
                                 &dir->revoke_cert}) {
    CK_FUZZ_CHECK(acme::UrlScheme(*url) == "https");
  }
  for (const std::string* url : {&dir->new_authz, &dir->renewal_info, &dir->key_change}) {
    CK_FUZZ_CHECK(url->empty() || acme::UrlScheme(*url) == "https");
  }
  return 0;
}
