#include "challenges/dns_wire.h"

#include <gtest/gtest.h>

#include <random>

namespace certkeeper::challenges::dns {
namespace {

std::string Bytes(std::initializer_list<int> v) {
  std::string out;
  for (int b : v) out.push_back(static_cast<char>(b));
  return out;
}

Message SampleResponse() {
  Message m;
  m.header.id = 0xBEEF;
  m.header.qr = true;
  m.header.aa = true;
  m.header.rd = true;
  m.header.rcode = kRcodeNxDomain;
  m.questions.push_back({"_acme-challenge.example.com.", kTypeTxt, kClassIn});
  ResourceRecord txt{"_acme-challenge.example.com.", kTypeTxt, kClassIn, 60,
                     EncodeTxtRdata("abc"), 0};
  ResourceRecord cname{"www.example.com.", kTypeCname, kClassIn, 300, "", 0};
  cname.rdata = *EncodeName("target.example.net.");
  ResourceRecord a{"ns1.example.com.", kTypeA, kClassIn, 300, Bytes({192, 0, 2, 1}), 0};
  m.answers = {txt, cname};
  m.authorities = {a};
  m.additionals = {a};
  return m;
}

TEST(DnsNameTest, CanonicalLowerCasesAndAddsTheRootDot) {
  EXPECT_EQ(*CanonicalName("_ACME-Challenge.Example.COM"), "_acme-challenge.example.com.");
  EXPECT_EQ(*CanonicalName("example.com."), "example.com.");
  EXPECT_EQ(*CanonicalName("."), ".");
}

TEST(DnsNameTest, CanonicalRejectsBadNames) {
  EXPECT_FALSE(CanonicalName("").ok());
  EXPECT_FALSE(CanonicalName("a..b").ok());
  EXPECT_FALSE(CanonicalName(std::string(64, 'a') + ".com").ok());
  EXPECT_FALSE(CanonicalName("a b.com").ok());
  EXPECT_FALSE(CanonicalName("a\\.com").ok());
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'x') + ".";
  EXPECT_FALSE(CanonicalName(long_name).ok());
}

TEST(DnsNameTest, SubdomainAndParent) {
  EXPECT_TRUE(IsSubdomain("a.example.com.", "example.com."));
  EXPECT_TRUE(IsSubdomain("example.com.", "example.com."));
  EXPECT_FALSE(IsSubdomain("badexample.com.", "example.com."));
  EXPECT_TRUE(IsSubdomain("example.com.", "."));
  EXPECT_EQ(ParentName("a.example.com."), "example.com.");
  EXPECT_EQ(ParentName("com."), ".");
  EXPECT_EQ(ParentName("."), ".");
}

TEST(DnsWireTest, EncodeDecodeRoundTrip) {
  Message m = SampleResponse();
  Result<std::string> wire = EncodeMessage(m);
  ASSERT_TRUE(wire.ok()) << wire.status().ToString();
  Result<Message> back = DecodeMessage(*wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->header.id, 0xBEEF);
  EXPECT_TRUE(back->header.qr);
  EXPECT_TRUE(back->header.aa);
  EXPECT_TRUE(back->header.rd);
  EXPECT_FALSE(back->header.tc);
  EXPECT_EQ(back->header.rcode, kRcodeNxDomain);
  ASSERT_EQ(back->questions.size(), 1u);
  EXPECT_EQ(back->questions[0].name, "_acme-challenge.example.com.");
  ASSERT_EQ(back->answers.size(), 2u);
  EXPECT_EQ(*DecodeTxtRdata(back->answers[0].rdata), "abc");
  EXPECT_EQ(back->answers[0].ttl, 60u);
  EXPECT_EQ(*DecodeNameRdata(back->answers[1].rdata), "target.example.net.");
  EXPECT_EQ(*DecodeAddressRdata(kTypeA, back->additionals[0].rdata), "192.0.2.1");
  EXPECT_EQ(*EncodeMessage(*back), *wire);
}

TEST(DnsWireTest, UpdateOpcodeSurvivesRoundTrip) {
  Message m;
  m.header.opcode = kOpcodeUpdate;
  m.questions.push_back({"example.com.", kTypeSoa, kClassIn});
  m.authorities.push_back({"x.example.com.", kTypeTxt, kClassNone, 0, EncodeTxtRdata("v"), 0});
  Result<Message> back = DecodeMessage(*EncodeMessage(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->header.opcode, kOpcodeUpdate);
  EXPECT_EQ(back->authorities[0].klass, kClassNone);
}

TEST(DnsWireTest, DecodesCompressedNamesIncludingInsideRdata) {
  // Header, question "example.com. CNAME", answer at pointer 12 with CNAME
  // RDATA "www" + pointer to 12.
  std::string wire = Bytes({0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0});
  wire += Bytes({7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 5, 0, 1});
  wire += Bytes({0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'w', 'w', 0xC0, 12});
  Result<Message> m = DecodeMessage(wire);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->answers[0].name, "example.com.");
  EXPECT_EQ(*DecodeNameRdata(m->answers[0].rdata), "www.example.com.");
}

TEST(DnsWireTest, TxtValuesLongerThan255OctetsAreSplitAndJoined) {
  std::string value(600, 'q');
  std::string rdata = EncodeTxtRdata(value);
  EXPECT_EQ(rdata.size(), 603u);
  EXPECT_EQ(*DecodeTxtRdata(rdata), value);
  EXPECT_EQ(EncodeTxtRdata(""), std::string(1, '\0'));
  EXPECT_FALSE(DecodeTxtRdata(Bytes({5, 'a'})).ok());
}

struct BadMessageCase {
  const char* name;
  std::string wire;
};

TEST(DnsWireTest, MalformedMessagesAreErrors) {
  std::string header = Bytes({0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0});
  const BadMessageCase cases[] = {
      {"empty", ""},
      {"short_header", Bytes({0, 1, 0x81})},
      {"question_missing", header},
      {"label_past_end", header + Bytes({9, 'a', 'b'})},
      {"pointer_to_itself", header + Bytes({0xC0, 12, 0, 16, 0, 1})},
      {"pointer_forward", header + Bytes({0xC0, 14, 0, 0, 0, 16, 0, 1})},
      {"pointer_out_of_range", header + Bytes({0xC0, 0xFF, 0, 16, 0, 1})},
      {"truncated_pointer", header + Bytes({0xC0})},
      {"reserved_label_type", header + Bytes({0x80, 0, 0, 16, 0, 1})},
      {"question_truncated", header + Bytes({1, 'a', 0, 0})},
      {"trailing_bytes", header + Bytes({1, 'a', 0, 0, 16, 0, 1, 7})},
  };
  for (const BadMessageCase& c : cases) {
    Result<Message> m = DecodeMessage(c.wire);
    EXPECT_FALSE(m.ok()) << c.name;
    if (!m.ok()) {
      EXPECT_EQ(m.status().code(), ErrorCode::kProtocol) << c.name;
    }
  }
}

TEST(DnsWireTest, PointerChainLongerThan255OctetsIsRefused) {
  // Each label points back at the previous one: the expanded name grows past
  // 255 octets although each pointer goes backwards.
  std::string wire = Bytes({0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0});
  size_t prev = wire.size();
  wire += Bytes({63});
  wire += std::string(63, 'a');
  wire.push_back('\0');
  for (int i = 0; i < 6; ++i) {
    size_t here = wire.size();
    wire += Bytes({63});
    wire += std::string(63, 'b');
    wire += Bytes({0xC0 | static_cast<int>(prev >> 8), static_cast<int>(prev & 0xFF)});
    prev = here;
  }
  wire += Bytes({0xC0 | static_cast<int>(prev >> 8), static_cast<int>(prev & 0xFF), 0, 16, 0, 1});
  EXPECT_FALSE(DecodeMessage(wire).ok());
}

TEST(DnsWireTest, RecordRdataPastTheEndIsAnError) {
  Message m = SampleResponse();
  std::string wire = *EncodeMessage(m);
  for (size_t cut = 0; cut < wire.size(); ++cut) {
    EXPECT_FALSE(DecodeMessage(std::string_view(wire).substr(0, cut)).ok()) << "cut at " << cut;
  }
}

TEST(DnsWireTest, RandomMutationsNeverCrash) {
  std::string wire = *EncodeMessage(SampleResponse());
  std::mt19937 rng(20261124);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = wire;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % mutated.size();
      switch (rng() % 3) {
        case 0: mutated[pos] = static_cast<char>(rng()); break;
        case 1: mutated.erase(pos, 1 + rng() % 3); break;
        default: mutated.insert(pos, 1, static_cast<char>(rng())); break;
      }
      if (mutated.empty()) mutated = "x";
    }
    Result<Message> m = DecodeMessage(mutated);
    if (!m.ok()) continue;
    ++decoded;
    for (const ResourceRecord& rr : m->answers) {
      (void)DecodeTxtRdata(rr.rdata);
      (void)DecodeNameRdata(rr.rdata);
      (void)DecodeAddressRdata(rr.type, rr.rdata);
    }
  }
  // Mutations of flag and TTL bytes keep a message valid: some must decode.
  EXPECT_GT(decoded, 0);
}

TEST(DnsWireTest, NamesWithUnprintableBytesAreEscapedOnDecode) {
  std::string wire = Bytes({0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 1, 0, 0, 16, 0, 1});
  Result<Message> m = DecodeMessage(wire);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->questions[0].name, "a\\046\\001.");
}

TEST(DnsCaaRdataTest, RoundTripsFlagsTagAndValue) {
  std::string rdata = EncodeCaaRdata(128, "issue", "ca.example; accounturi=x");
  EXPECT_EQ(rdata, Bytes({128, 5}) + "issue" + "ca.example; accounturi=x");
  Result<CaaRdata> caa = DecodeCaaRdata(rdata);
  ASSERT_TRUE(caa.ok());
  EXPECT_EQ(caa->flags, 128);
  EXPECT_EQ(caa->tag, "issue");
  EXPECT_EQ(caa->value, "ca.example; accounturi=x");
  EXPECT_EQ(DecodeCaaRdata(EncodeCaaRdata(0, "issue", ""))->value, "");
}

TEST(DnsCaaRdataTest, MalformedRdataIsRefused) {
  EXPECT_FALSE(DecodeCaaRdata("").ok());
  EXPECT_FALSE(DecodeCaaRdata(Bytes({0})).ok());
  EXPECT_FALSE(DecodeCaaRdata(Bytes({0, 0})).ok());                     // empty tag
  EXPECT_FALSE(DecodeCaaRdata(Bytes({0, 6}) + "issue").ok());           // past the end
  EXPECT_FALSE(DecodeCaaRdata(Bytes({0, 16}) + std::string(16, 'a')).ok());  // > 15
  EXPECT_FALSE(DecodeCaaRdata(Bytes({0, 3}) + "i-s").ok());             // not alnum
  EXPECT_FALSE(DecodeCaaRdata(Bytes({0, 3}) + std::string("i\0s", 3)).ok());
}

}  // namespace
}  // namespace certkeeper::challenges::dns
