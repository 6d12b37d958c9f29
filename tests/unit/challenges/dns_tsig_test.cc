#include "challenges/dns_tsig.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/fs.h"
#include "challenges/dns_provider_rfc2136.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges::dns {
namespace {

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// An UPDATE captured from `knsupdate -y hmac-sha256:certkeeper-test.:<secret>`
// (Knot 3.2) adding _acme-challenge.example.test. 60 TXT "hello-value" to zone
// example.test.; the secret is base64 of "secret-key-for-tests-1234567890".
constexpr std::string_view kKnsupdateHex =
    "1bd928000001000000010001076578616d706c65047465737400000600010f5f61636d652d636861"
    "6c6c656e6765c00c001000010000003c000c0b68656c6c6f2d76616c75650f636572746b65657065"
    "722d746573740000fa00ff00000000003d0b686d61632d7368613235360000006b055bd4012c0020"
    "c0ee621c69cf9a40729359297c27bbca5913c41595b54189d114512af8e3f4761bd900000000";
constexpr uint64_t kKnsupdateTime = 0x6b055bd4;
constexpr std::string_view kSecretB64 = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg5MA==";

TsigKey TestKey() {
  return *MakeTsigKey("certkeeper-test", "hmac-sha256", kSecretB64, "test");
}

std::string SampleUpdate() {
  Message m;
  m.header.id = 4242;
  m.header.opcode = kOpcodeUpdate;
  m.questions.push_back({"example.test.", kTypeSoa, kClassIn});
  m.authorities.push_back(
      {"_acme-challenge.example.test.", kTypeTxt, kClassIn, 60, EncodeTxtRdata("v"), 0});
  return *EncodeMessage(m);
}

TEST(TsigTest, SignatureMatchesKnsupdateByteForByte) {
  std::string captured = FromHex(kKnsupdateHex);
  Result<Message> m = DecodeMessage(captured);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  size_t tsig_at = m->additionals.back().wire_offset;
  std::string unsigned_msg = captured.substr(0, tsig_at);
  unsigned_msg[11] = 0;  // ARCOUNT without the TSIG record
  Result<SignedMessage> signed_msg = SignMessage(unsigned_msg, TestKey(), kKnsupdateTime);
  ASSERT_TRUE(signed_msg.ok()) << signed_msg.status().ToString();
  EXPECT_EQ(signed_msg->wire, captured);
}

TEST(TsigTest, VerifiesTheKnsupdateRequest) {
  EXPECT_TRUE(VerifyMessage(FromHex(kKnsupdateHex), TestKey(), "", kKnsupdateTime + 10).ok());
}

TEST(TsigTest, SignThenVerifyRoundTripForEveryAlgorithm) {
  for (const char* alg : {"hmac-sha256", "HMAC-SHA512.", "hmac-sha1"}) {
    TsigKey key = *MakeTsigKey("k.example.", alg, kSecretB64, "test");
    Result<SignedMessage> s = SignMessage(SampleUpdate(), key, 1700000000);
    ASSERT_TRUE(s.ok()) << alg;
    Status v = VerifyMessage(s->wire, key, "", 1700000000);
    EXPECT_TRUE(v.ok()) << alg << ": " << v.ToString();
    Result<Message> m = DecodeMessage(s->wire);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->additionals.size(), 1u);
    EXPECT_EQ(m->additionals[0].type, kTypeTsig);
  }
}

TEST(TsigTest, TamperedMessageFailsVerification) {
  Result<SignedMessage> s = SignMessage(SampleUpdate(), TestKey(), 1700000000);
  ASSERT_TRUE(s.ok());
  // Flip a byte of the TXT value (inside the update section, before the TSIG).
  std::string tampered = s->wire;
  size_t pos = tampered.find("\x01v");
  ASSERT_NE(pos, std::string::npos);
  tampered[pos + 1] = 'w';
  Status v = VerifyMessage(tampered, TestKey(), "", 1700000000);
  EXPECT_FALSE(v.ok());
  EXPECT_NE(v.message().find("does not verify"), std::string::npos) << v.message();
}

TEST(TsigTest, WrongSecretFailsVerification) {
  Result<SignedMessage> s = SignMessage(SampleUpdate(), TestKey(), 1700000000);
  TsigKey other = *MakeTsigKey("certkeeper-test", "hmac-sha256", "b3RoZXItc2VjcmV0", "test");
  EXPECT_FALSE(VerifyMessage(s->wire, other, "", 1700000000).ok());
}

TEST(TsigTest, TimeOutsideFudgeIsBadTime) {
  Result<SignedMessage> s = SignMessage(SampleUpdate(), TestKey(), 1700000000, 300);
  EXPECT_TRUE(VerifyMessage(s->wire, TestKey(), "", 1700000300).ok());
  Status v = VerifyMessage(s->wire, TestKey(), "", 1700000301);
  EXPECT_FALSE(v.ok());
  EXPECT_NE(v.message().find("BADTIME"), std::string::npos);
}

// Builds a server's signed response by hand from RFC 8945 §4.3.3 and §5.3:
// HMAC(request MAC length + request MAC + response + TSIG variables).
std::string SignedResponse(const TsigKey& key, std::string_view request_mac, uint64_t time) {
  Message response;
  response.header.id = 4242;
  response.header.qr = true;
  response.header.opcode = kOpcodeUpdate;
  response.questions.push_back({"example.test.", kTypeSoa, kClassIn});
  std::string wire = *EncodeMessage(response);
  std::string alg = *EncodeName(key.algorithm);
  std::string time_fudge;
  AppendU16(time_fudge, static_cast<uint16_t>(time >> 32));
  AppendU32(time_fudge, static_cast<uint32_t>(time));
  AppendU16(time_fudge, 300);
  std::string digest_input;
  AppendU16(digest_input, static_cast<uint16_t>(request_mac.size()));
  digest_input += request_mac;
  digest_input += wire;
  digest_input += *EncodeName(key.name);
  AppendU16(digest_input, kClassAny);
  AppendU32(digest_input, 0);
  digest_input += alg + time_fudge;
  AppendU32(digest_input, 0);  // error, other len
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.secret.data(), static_cast<int>(key.secret.size()),
       reinterpret_cast<const unsigned char*>(digest_input.data()), digest_input.size(), mac,
       &mac_len);
  ResourceRecord rr{key.name, kTypeTsig, kClassAny, 0, alg + time_fudge, 0};
  AppendU16(rr.rdata, static_cast<uint16_t>(mac_len));
  rr.rdata.append(reinterpret_cast<char*>(mac), mac_len);
  AppendU16(rr.rdata, 4242);
  AppendU32(rr.rdata, 0);
  Message only_tsig;
  only_tsig.additionals.push_back(rr);
  wire[11] = 1;
  return wire + EncodeMessage(only_tsig)->substr(12);
}

TEST(TsigTest, ResponseIsVerifiedAgainstTheRequestMac) {
  TsigKey key = TestKey();
  Result<SignedMessage> request = SignMessage(SampleUpdate(), key, 1700000000);
  ASSERT_TRUE(request.ok());
  std::string wire = SignedResponse(key, request->mac, 1700000001);
  Status ok = VerifyMessage(wire, key, request->mac, 1700000001);
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  EXPECT_FALSE(VerifyMessage(wire, key, "", 1700000001).ok());
  std::string wrong_mac = request->mac;
  wrong_mac[0] ^= 1;
  EXPECT_FALSE(VerifyMessage(wire, key, wrong_mac, 1700000001).ok());
}

TEST(TsigTest, UnsignedResponseIsRefused) {
  Status v = VerifyMessage(SampleUpdate(), TestKey(), "", 1700000000);
  EXPECT_FALSE(v.ok());
  EXPECT_NE(v.message().find("not signed"), std::string::npos);
}

TEST(TsigTest, KeyFileFormats) {
  const std::string expected = "secret-key-for-tests-1234567890";
  EXPECT_EQ(MakeTsigKey("k", "hmac-sha256", std::string(kSecretB64) + "\n", "f")->secret,
            expected);
  EXPECT_EQ(MakeTsigKey("k", "hmac-sha256",
                        "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: " +
                            std::string(kSecretB64) + "\n",
                        "f")
                ->secret,
            expected);
  EXPECT_EQ(MakeTsigKey("k", "hmac-sha256",
                        "key \"k\" {\n algorithm hmac-sha256;\n secret \"" +
                            std::string(kSecretB64) + "\";\n};\n",
                        "f")
                ->secret,
            expected);
  Result<TsigKey> bad = MakeTsigKey("k", "hmac-sha256", "not base64 !!", "/etc/key");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().where(), "/etc/key");
  Result<TsigKey> md5 = MakeTsigKey("k", "hmac-md5", kSecretB64, "f");
  ASSERT_FALSE(md5.ok());
  EXPECT_NE(md5.status().message().find("hmac-md5"), std::string::npos);
}

// The mode warned about is the mode of the file whose secret is used, read
// through the same descriptor.
TEST(TsigTest, SecretFileModeIsCheckedOnTheFileRead) {
  fs::TempDir dir;
  const std::string path = dir.path() + "/tsig.key";
  for (mode_t mode : {mode_t{0600}, mode_t{0644}}) {
    SCOPED_TRACE(mode);
    fs::WriteOptions options;
    options.mode = mode;
    ASSERT_TRUE(fs::WriteFileAtomic(path, std::string(kSecretB64) + "\n", options).ok());
    std::vector<std::string> warnings;
    Result<TsigKey> key = LoadTsigKey("k", "hmac-sha256", path, &warnings);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(key->secret, "secret-key-for-tests-1234567890");
    EXPECT_EQ(warnings.size(), mode == 0600 ? 0u : 1u);
  }
  Result<TsigKey> missing = LoadTsigKey("k", "hmac-sha256", dir.path() + "/none", nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace certkeeper::challenges::dns
