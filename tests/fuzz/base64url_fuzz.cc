// base64url and base64 (base/encoding.cc; RFC 4648 §5, RFC 7515 §2): tokens,
// JWS parts, TSIG secrets. Decoding accepts exactly the canonical encodings.
#include "base/encoding.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  auto decoded = Base64UrlDecode(text);
  CK_FUZZ_CHECK(decoded.ok() == IsBase64Url(text));
  if (decoded.ok()) CK_FUZZ_CHECK(Base64UrlEncode(*decoded) == text);
  auto round = Base64UrlDecode(Base64UrlEncode(text));
  CK_FUZZ_CHECK(round.ok() && *round == text);

  auto std_decoded = Base64Decode(text);
  if (std_decoded.ok()) {
    // Padding is optional on input, always written on output.
    std::string encoded = Base64Encode(*std_decoded);
    CK_FUZZ_CHECK(encoded.substr(0, encoded.find('=')) ==
                  text.substr(0, text.find('=')));
  }
  auto std_round = Base64Decode(Base64Encode(text));
  CK_FUZZ_CHECK(std_round.ok() && *std_round == text);
  return 0;
}
