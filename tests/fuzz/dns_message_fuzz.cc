// DNS messages as a resolver or an RFC 2136 server answers them
// (challenges/dns_wire.cc DecodeMessage and the RDATA decoders; RFC 1035 §4,
// §3.3): compression pointers, labels, counts and RDATA lengths. A decoded
// message encodes again and decodes to the same content.
#include "challenges/dns_wire.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;
using namespace certkeeper::challenges::dns;

namespace {

bool SameRecords(const std::vector<ResourceRecord>& a, const std::vector<ResourceRecord>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].type != b[i].type || a[i].klass != b[i].klass ||
        a[i].ttl != b[i].ttl || a[i].rdata != b[i].rdata) {
      return false;
    }
  }
  return true;
}

void DecodeRdata(const ResourceRecord& rr) {
  switch (rr.type) {
    case kTypeTxt: {
      auto txt = DecodeTxtRdata(rr.rdata);
      if (txt.ok()) CK_FUZZ_CHECK(txt->size() <= rr.rdata.size());
      break;
    }
    case kTypeNs:
    case kTypeCname: {
      // The decoder expanded compression, so the RDATA is one whole name.
      auto name = DecodeNameRdata(rr.rdata);
      CK_FUZZ_CHECK(name.ok());
      CK_FUZZ_CHECK(IsSubdomain(*name, "."));
      break;
    }
    case kTypeA:
    case kTypeAaaa: {
      auto address = DecodeAddressRdata(rr.type, rr.rdata);
      CK_FUZZ_CHECK(address.ok() == (rr.rdata.size() == (rr.type == kTypeA ? 4u : 16u)));
      break;
    }
    case kTypeCaa: {
      auto caa = DecodeCaaRdata(rr.rdata);
      if (caa.ok()) CK_FUZZ_CHECK(EncodeCaaRdata(caa->flags, caa->tag, caa->value) == rr.rdata);
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = DecodeMessage(fuzz::AsText(data, size));
  if (!m.ok()) return 0;
  for (const auto* section : {&m->answers, &m->authorities, &m->additionals}) {
    for (const ResourceRecord& rr : *section) {
      CK_FUZZ_CHECK(rr.wire_offset < size);
      DecodeRdata(rr);
      CK_FUZZ_CHECK(!ParentName(rr.name).empty());
    }
  }
  auto wire = EncodeMessage(*m);
  if (!wire.ok()) return 0;  // names with escaped octets do not encode
  auto again = DecodeMessage(*wire);
  CK_FUZZ_CHECK(again.ok());
  CK_FUZZ_CHECK(again->header.id == m->header.id && again->header.rcode == m->header.rcode &&
                again->header.opcode == m->header.opcode && again->header.qr == m->header.qr);
  CK_FUZZ_CHECK(again->questions.size() == m->questions.size());
  for (size_t i = 0; i < m->questions.size(); ++i) {
    CK_FUZZ_CHECK(again->questions[i].name == m->questions[i].name &&
                  again->questions[i].type == m->questions[i].type &&
                  again->questions[i].klass == m->questions[i].klass);
  }
  CK_FUZZ_CHECK(SameRecords(again->answers, m->answers));
  CK_FUZZ_CHECK(SameRecords(again->authorities, m->authorities));
  CK_FUZZ_CHECK(SameRecords(again->additionals, m->additionals));
  return 0;
}
