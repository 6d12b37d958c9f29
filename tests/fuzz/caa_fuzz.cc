// CAA records as a resolver hands them over (challenges/caa.cc EvaluateCaa on
// what dns_wire.cc DecodeCaaRdata accepts; RFC 8659 §4, RFC 8657): the issue
// value grammar, parameters, accounturi and validationmethods. Input: one
// control octet (bit 0: wildcard, bit 1: an account URL), then RDATAs each
// prefixed by its length octet. The verdict is printable, bounded, and does not
// depend on the case of the CA identities.
#include <string>
#include <vector>

#include "challenges/caa.h"
#include "challenges/dns_wire.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;
using namespace certkeeper::challenges;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::AsText(data, size);
  if (in.empty()) return 0;
  const uint8_t control = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  CaaSet set{"example.com", {}};
  while (!in.empty() && set.records.size() < kMaxCaaRecords) {
    size_t length = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    std::string_view rdata = in.substr(0, length);
    in.remove_prefix(rdata.size());
    Result<dns::CaaRdata> caa = dns::DecodeCaaRdata(rdata);
    if (!caa.ok()) continue;
    CK_FUZZ_CHECK(dns::EncodeCaaRdata(caa->flags, caa->tag, caa->value) == rdata);
    set.records.push_back({caa->flags, caa->tag, caa->value});
  }
  const bool wildcard = control & 1;
  const std::string account = (control & 2) ? "https://ca.example/acct/1" : "";
  CaaVerdict v = EvaluateCaa(set, wildcard, {"ca.example", "b.example"}, account);
  CaaVerdict upper = EvaluateCaa(set, wildcard, {"CA.EXAMPLE", "B.Example."}, account);
  CK_FUZZ_CHECK(v.allowed == upper.allowed && v.challenge_types == upper.challenge_types);
  CK_FUZZ_CHECK(!v.reason.empty());
  CK_FUZZ_CHECK(v.reason.size() <= 300 + 500 * set.records.size());
  for (char c : v.reason) {
    CK_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
  }
  if (!v.allowed) CK_FUZZ_CHECK(v.challenge_types.empty());
  for (const std::string& type : v.challenge_types) {
    CK_FUZZ_CHECK(!type.empty());
    for (char c : type) {
      CK_FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    }
  }
  // No record: nothing forbids it (RFC 8659 §4.2).
  if (set.records.empty()) CK_FUZZ_CHECK(v.allowed);
  return 0;
}
