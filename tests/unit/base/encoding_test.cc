#include "base/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace certkeeper {
namespace {

struct Vector {
  std::string_view bytes;
  std::string_view base64;
  std::string_view base64url;
};

// RFC 4648 §10, plus bytes that exercise the two characters where the alphabets
// differ (62 and 63).
constexpr Vector kVectors[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    {"\xfb\xff", "+/8=", "-_8"},
    {"\xfb\xef\xbe", "++++", "----"},
    {"\xff\xff\xff", "////", "____"},
};

TEST(EncodingTest, Rfc4648VectorsEncode) {
  for (const Vector& v : kVectors) {
    EXPECT_EQ(Base64Encode(v.bytes), v.base64) << "bytes " << HexEncode(v.bytes);
    EXPECT_EQ(Base64UrlEncode(v.bytes), v.base64url) << "bytes " << HexEncode(v.bytes);
  }
}

TEST(EncodingTest, Rfc4648VectorsDecode) {
  for (const Vector& v : kVectors) {
    auto std_decoded = Base64Decode(v.base64);
    ASSERT_TRUE(std_decoded.ok()) << v.base64 << ": " << std_decoded.status().ToString();
    EXPECT_EQ(*std_decoded, v.bytes);
    auto url_decoded = Base64UrlDecode(v.base64url);
    ASSERT_TRUE(url_decoded.ok()) << v.base64url << ": "
                                  << url_decoded.status().ToString();
    EXPECT_EQ(*url_decoded, v.bytes);
    EXPECT_TRUE(IsBase64Url(v.base64url)) << v.base64url;
  }
}

TEST(EncodingTest, RoundTripsEveryByteAtEveryTailLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); len += 1) {
    std::string_view bytes = std::string_view(all).substr(all.size() - len);
    auto url = Base64UrlDecode(Base64UrlEncode(bytes));
    ASSERT_TRUE(url.ok()) << "length " << len << ": " << url.status().ToString();
    EXPECT_EQ(*url, bytes) << "length " << len;
    auto std_round = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(std_round.ok()) << "length " << len;
    EXPECT_EQ(*std_round, bytes) << "length " << len;
  }
}

struct Rejected {
  const char* name;
  std::string_view text;
  std::string_view message_part;
};

TEST(EncodingTest, Base64UrlDecoderIsStrict) {
  const Rejected cases[] = {
      {"padding", "Zg==", "padding"},
      {"single_pad", "Zm8=", "padding"},
      {"space", "Zm 9v", "invalid character"},
      {"newline", "Zm9v\n", "invalid character"},
      {"tab", "\tZm9v", "invalid character"},
      {"standard_plus", "Zm+v", "invalid character '+'"},
      {"standard_slash", "Zm/v", "invalid character '/'"},
      {"nul_byte", std::string_view("Zm\0v", 4), "byte 0x00"},
      {"high_byte", "Zm\xc3\xa9", "byte 0xc3"},
      {"length_one", "Z", "impossible length"},
      {"length_five", "Zm9vY", "impossible length"},
      {"nonzero_tail_bits_two", "Zh", "non-canonical"},
      {"nonzero_tail_bits_three", "Zm9", "non-canonical"},
  };
  for (const Rejected& c : cases) {
    auto r = Base64UrlDecode(c.text);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << c.name;
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.name << ": " << r.status().message();
    EXPECT_FALSE(IsBase64Url(c.text)) << c.name;
  }
}

TEST(EncodingTest, InvalidCharacterErrorNamesTheOffset) {
  auto r = Base64UrlDecode("abcd.fgh");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 4"), std::string::npos)
      << r.status().message();
}

TEST(EncodingTest, Base64DecoderAcceptsPaddedAndUnpadded) {
  auto padded = Base64Decode("Zm9vYg==");
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(*padded, "foob");
  auto unpadded = Base64Decode("Zm9vYg");
  ASSERT_TRUE(unpadded.ok());
  EXPECT_EQ(*unpadded, "foob");
}

TEST(EncodingTest, Base64DecoderRejectsMalformedInput) {
  const Rejected cases[] = {
      {"short_padding", "Zg=", "padding"},
      {"too_much_padding", "Zm8==", "padding"},
      {"three_pads", "Z===", "'='"},
      {"padding_in_middle", "Zg==Zg==", "'='"},
      {"only_padding", "====", "'='"},
      {"whitespace", "Zm9v YmFy", "invalid character"},
      {"url_alphabet", "-_8=", "invalid character '-'"},
      {"length_one", "Zm9vY", "impossible length"},
      {"nonzero_tail_bits", "Zh==", "non-canonical"},
  };
  for (const Rejected& c : cases) {
    auto r = Base64Decode(c.text);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << c.name;
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.name << ": " << r.status().message();
  }
}

TEST(EncodingTest, HexEncodeIsLowerCase) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string_view("\x00\x01\x7f\x80\xab\xff", 6)), "00017f80abff");
}

TEST(EncodingTest, Sha256KnownAnswers) {
  // FIPS 180-2 Appendix B.1 and the digest of the empty string.
  std::string abc = Sha256("abc");
  EXPECT_EQ(abc.size(), 32u);
  EXPECT_EQ(HexEncode(abc),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

}  // namespace
}  // namespace certkeeper
