// The EAB MAC key file (acme/eab.cc DecodeEabMacKey, RFC 8555 §7.3.4): text
// an operator pastes from the CA's web page.
#include "acme/client.h"
#include "base/encoding.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  auto key = acme::DecodeEabMacKey(text);
  if (!key.ok()) {
    CK_FUZZ_CHECK(key.status().code() == ErrorCode::kInvalidArgument);
    return 0;
  }
  CK_FUZZ_CHECK(!key->empty());
  // The key's own encoding, padded or with whitespace around it, reads back
  // as the same key.
  const std::string encoded = Base64UrlEncode(*key);
  for (const std::string& form : {encoded, " " + encoded + "\n"}) {
    auto again = acme::DecodeEabMacKey(form);
    CK_FUZZ_CHECK(again.ok() && *again == *key);
  }
  CK_FUZZ_CHECK(key->size() <= text.size());
  return 0;
}
