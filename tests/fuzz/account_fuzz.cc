// An ACME account object (acme/account.cc ParseAccount, RFC 8555 §7.1.2).
#include "acme/resources.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc = fuzz::ParseJson(data, size);
  if (doc.is_discarded()) return 0;
  auto account = acme::ParseAccount(doc, "https://ca.example/acct/1", "https");
  if (!account.ok()) return 0;
  CK_FUZZ_CHECK(account->status == "valid" || account->status == "deactivated" ||
                account->status == "revoked");
  CK_FUZZ_CHECK(account->orders.empty() || acme::UrlScheme(account->orders) == "https");
  return 0;
}
