// SealingKey::Open (base/sealing.cc): sealed values read back from a shared
// inventory that anyone with write access to the database may have edited.
// Whatever the input, Open returns an error or exactly what was sealed, and
// never crashes or reads out of bounds.
#include "base/sealing.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

namespace {

const SealingKey& Key() {
  static const SealingKey key = *SealingKey::FromBytes(std::string(32, '\x42'));
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  // The input as it is, and the input behind this key's valid header (so the
  // fuzzer reaches base64 decoding and GCM without guessing the key id).
  const std::string header = "ck1:" + Key().id() + ":";
  for (const std::string& sealed : {std::string(text), header + std::string(text)}) {
    auto opened = Key().Open(sealed, "version:fuzz:1");
    if (!opened.ok()) {
      CK_FUZZ_CHECK(opened.status().code() == ErrorCode::kInvalidArgument ||
                    opened.status().code() == ErrorCode::kPermissionDenied);
      continue;
    }
    // Only a value this key sealed for this aad opens; sealing what opened
    // gives a value that opens to the same bytes.
    auto resealed = Key().Seal(*opened, "version:fuzz:1");
    CK_FUZZ_CHECK(resealed.ok());
    auto again = Key().Open(*resealed, "version:fuzz:1");
    CK_FUZZ_CHECK(again.ok() && *again == *opened);
  }
  // Sealing the input always round-trips, and another aad never opens it.
  auto sealed = Key().Seal(text, "account:fuzz");
  CK_FUZZ_CHECK(sealed.ok());
  auto opened = Key().Open(*sealed, "account:fuzz");
  CK_FUZZ_CHECK(opened.ok() && *opened == text);
  CK_FUZZ_CHECK(!Key().Open(*sealed, "account:fuzz2").ok());
  return 0;
}
