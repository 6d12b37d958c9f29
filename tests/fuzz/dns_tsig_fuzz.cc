// TSIG-signed DNS messages as an RFC 2136 server sends them back
// (challenges/dns_tsig.cc VerifyMessage and the TSIG RDATA parser, RFC 8945
// §4.2, §5.3), and the TSIG secret file formats (MakeTsigKey). Whatever
// decodes, once signed with SignMessage, verifies.
#include "challenges/dns_tsig.h"
#include "challenges/dns_wire.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;
using namespace certkeeper::challenges::dns;

namespace {

// The key of the knsupdate known-answer test (tests/unit/challenges/dns_tsig_test.cc);
// the seed corpus holds that captured, signed UPDATE.
constexpr std::string_view kSecretB64 = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg5MA==";
constexpr uint64_t kKnsupdateTime = 0x6b055bd4;
// The MAC of that request: a response to it is signed over this first.
constexpr unsigned char kRequestMac[] = {
    0xc0, 0xee, 0x62, 0x1c, 0x69, 0xcf, 0x9a, 0x40, 0x72, 0x93, 0x59, 0x29, 0x7c, 0x27, 0xbb, 0xca,
    0x59, 0x13, 0xc4, 0x15, 0x95, 0xb5, 0x41, 0x89, 0xd1, 0x14, 0x51, 0x2a, 0xf8, 0xe3, 0xf4, 0x76};

const TsigKey& TestKey() {
  static const TsigKey key = *MakeTsigKey("certkeeper-test", "hmac-sha256", kSecretB64, "fuzz");
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view wire = fuzz::AsText(data, size);
  const TsigKey& key = TestKey();
  // As a request (no request MAC), then as the answer to the knsupdate request.
  Status as_request = VerifyMessage(wire, key, "", kKnsupdateTime + 10);
  CK_FUZZ_CHECK(as_request.ok() || !as_request.message().empty());
  std::string_view request_mac(reinterpret_cast<const char*>(kRequestMac), sizeof kRequestMac);
  Status as_response = VerifyMessage(wire, key, request_mac, kKnsupdateTime);
  CK_FUZZ_CHECK(as_response.ok() || !as_response.message().empty());

  if (DecodeMessage(wire).ok()) {
    auto signed_msg = SignMessage(wire, key, kKnsupdateTime);
    if (signed_msg.ok()) {
      Status verified = VerifyMessage(signed_msg->wire, key, "", kKnsupdateTime);
      CK_FUZZ_CHECK(verified.ok());
    }
  }

  // The same bytes as the text of a tsig_secret_file.
  auto file_key = MakeTsigKey("k.example.", "hmac-sha512", wire, "fuzz.key");
  if (file_key.ok()) CK_FUZZ_CHECK(!file_key->secret.empty());
  return 0;
}
