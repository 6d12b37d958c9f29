// One ACME challenge object (acme/authorization.cc ParseChallenge, RFC 8555
// §7.1.5 and §8): the token ends up in file names, URLs and DNS records.
#include "acme/resources.h"
#include "base/challenge_type.h"
#include "base/encoding.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc = fuzz::ParseJson(data, size);
  if (doc.is_discarded()) return 0;
  auto c = acme::ParseChallenge(doc, "https");
  if (!c.ok()) return 0;
  CK_FUZZ_CHECK(acme::UrlScheme(c->url) == "https");
  // §8.1: a token is base64url; for the three solved types it carries at
  // least 128 bits, so it never holds '/', '.', NUL or anything to escape.
  CK_FUZZ_CHECK(IsBase64Url(c->token));
  if (ParseChallengeType(c->type)) {
    CK_FUZZ_CHECK(c->token.size() >= 22);
  }
  return 0;
}
