#include "base/sealing.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <set>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "base/encoding.h"
#include "base/fs.h"
#include "tests/support/fs_helpers.h"

namespace certkeeper {
namespace {

std::string KeyBytes(char fill) { return std::string(SealingKey::kKeySize, fill); }

SealingKey MakeKey(char fill) {
  auto key = SealingKey::FromBytes(KeyBytes(fill));
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return *key;
}

// The base64 payload of a sealed value, decoded.
std::string Payload(const std::string& sealed) {
  auto decoded = Base64Decode(sealed.substr(sealed.rfind(':') + 1));
  EXPECT_TRUE(decoded.ok());
  return decoded.ok() ? *decoded : "";
}

std::string WithPayload(const SealingKey& key, const std::string& payload) {
  return "ck1:" + key.id() + ":" + Base64Encode(payload);
}

TEST(SealingKeyTest, IdIsSixteenHexDigitsOfTheLabelledDigest) {
  SealingKey key = MakeKey('k');
  std::string expected =
      HexEncode(Sha256("certkeeper sealing key id" + KeyBytes('k'))).substr(0, 16);
  EXPECT_EQ(key.id(), expected);
  EXPECT_NE(MakeKey('j').id(), key.id());
}

// A value sealed by an independent AES-256-GCM implementation (Python's
// cryptography package) from the format of base/sealing.h: key 00 01 .. 1f,
// nonce 64 65 .. 6f, additional data "ck1:<key id>:" + "version:web:3". Pins
// the layout (nonce || ciphertext || tag), the additional data and the key id,
// so hosts built from different versions read each other's values.
TEST(SealingKeyTest, OpensAValueFromTheFormatSpecification) {
  std::string raw;
  for (int i = 0; i < 32; ++i) raw.push_back(static_cast<char>(i));
  auto key = SealingKey::FromBytes(raw);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->id(), "adec14488ab0bca2");
  const std::string sealed =
      "ck1:adec14488ab0bca2:"
      "ZGVmZ2hpamtsbW5vZTbzS1SrE9l3LH+4iCw8vBaHJkHONd5fivyBQstG1nVcAw6D8jd3sUM0/w8=";
  auto opened = key->Open(sealed, "version:web:3");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "-----BEGIN PRIVATE KEY-----\n");
}

TEST(SealingKeyTest, FromBytesRefusesOtherLengths) {
  for (size_t n : {0u, 16u, 31u, 33u, 64u}) {
    auto key = SealingKey::FromBytes(std::string(n, 'x'));
    ASSERT_FALSE(key.ok()) << n;
    EXPECT_EQ(key.status().code(), ErrorCode::kInvalidArgument) << n;
  }
}

TEST(SealingKeyTest, RoundTrip) {
  SealingKey key = MakeKey('k');
  const std::string big(1u << 20, '\x5a');  // a few MiB, like a long chain
  for (const std::string& plain :
       {std::string(), std::string("-----BEGIN PRIVATE KEY-----\n"),
        std::string("\0\xff binary", 9), big}) {
    auto sealed = key.Seal(plain, "version:web:3");
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(sealed->rfind("ck1:" + key.id() + ":", 0), 0u);
    auto opened = key.Open(*sealed, "version:web:3");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plain);
    // A copy of the key (another host with the same file) opens it too.
    SealingKey copy = MakeKey('k');
    EXPECT_TRUE(copy.Open(*sealed, "version:web:3").ok());
  }
}

TEST(SealingKeyTest, RefusesPlaintextOverSixteenMiB) {
  SealingKey key = MakeKey('k');
  auto sealed = key.Seal(std::string(SealingKey::kMaxPlaintext + 1, 'a'), "x");
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(key.Seal(std::string(SealingKey::kMaxPlaintext, 'a'), "x").ok());
}

TEST(SealingKeyTest, EverySealUsesAFreshNonce) {
  SealingKey key = MakeKey('k');
  std::set<std::string> values;
  std::set<std::string> nonces;
  for (int i = 0; i < 64; ++i) {
    auto sealed = key.Seal("same secret", "account:ca");
    ASSERT_TRUE(sealed.ok());
    values.insert(*sealed);
    nonces.insert(Payload(*sealed).substr(0, SealingKey::kNonceSize));
  }
  EXPECT_EQ(values.size(), 64u);
  EXPECT_EQ(nonces.size(), 64u);
}

TEST(SealingKeyTest, AnotherKeyIdNamesBothKeys) {
  SealingKey fleet = MakeKey('f');
  SealingKey host = MakeKey('h');
  auto sealed = fleet.Seal("secret", "account:ca");
  ASSERT_TRUE(sealed.ok());
  auto opened = host.Open(*sealed, "account:ca");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(opened.status().message(),
            "sealed with key " + fleet.id() + ", this host's key is " + host.id() +
                ": the [store] encryption_key_file differs from the one the fleet uses");
}

// Each row changes one part of a valid value (or the aad); none may open.
TEST(SealingKeyTest, TamperedValueOrAadDoesNotOpen) {
  SealingKey key = MakeKey('k');
  auto sealed = key.Seal("the private key", "version:web:3");
  ASSERT_TRUE(sealed.ok());
  const std::string payload = Payload(*sealed);
  auto flip = [&](size_t at) {
    std::string p = payload;
    p[at] = static_cast<char>(p[at] ^ 0x01);
    return WithPayload(key, p);
  };
  struct Case {
    const char* name;
    std::string sealed;
    std::string aad;
  };
  const Case cases[] = {
      {"nonce bit flipped", flip(0), "version:web:3"},
      {"ciphertext bit flipped", flip(SealingKey::kNonceSize + 2), "version:web:3"},
      {"tag bit flipped", flip(payload.size() - 1), "version:web:3"},
      {"tag cut short", WithPayload(key, payload.substr(0, payload.size() - 1)),
       "version:web:3"},
      {"other row", *sealed, "version:web:4"},
      {"other kind of row", *sealed, "account:web:3"},
      {"empty aad", *sealed, ""},
  };
  for (const Case& c : cases) {
    auto opened = key.Open(c.sealed, c.aad);
    ASSERT_FALSE(opened.ok()) << c.name;
    EXPECT_EQ(opened.status().code(), ErrorCode::kPermissionDenied) << c.name;
    EXPECT_EQ(opened.status().message(), "cannot decrypt: wrong key or tampered value")
        << c.name;
  }
}

TEST(SealingKeyTest, WrongKeyWithForgedIdDoesNotOpen) {
  SealingKey fleet = MakeKey('f');
  SealingKey other = MakeKey('o');
  auto sealed = other.Seal("secret", "account:ca");
  ASSERT_TRUE(sealed.ok());
  std::string forged = WithPayload(fleet, Payload(*sealed));
  auto opened = fleet.Open(forged, "account:ca");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(opened.status().message(), "cannot decrypt: wrong key or tampered value");
}

TEST(SealingKeyTest, MalformedValuesAreInvalidArgument) {
  SealingKey key = MakeKey('k');
  auto sealed = key.Seal("secret", "a");
  ASSERT_TRUE(sealed.ok());
  const std::string head = "ck1:" + key.id() + ":";
  const std::string body = sealed->substr(head.size());
  struct Case {
    const char* name;
    std::string sealed;
  };
  const Case cases[] = {
      {"empty", ""},
      {"no prefix", body},
      {"other version", "ck2:" + key.id() + ":" + body},
      {"no key id", "ck1:" + body},
      {"short key id", "ck1:" + key.id().substr(1) + ":" + body},
      {"upper-case key id", "ck1:ABCDEF0123456789:" + body},
      {"bad base64 character", head + "!" + body.substr(1)},
      {"base64 not padded", head + body.substr(0, body.find('='))},
      {"empty payload", head},
      {"shorter than nonce and tag",
       head + Base64Encode(std::string(SealingKey::kNonceSize + SealingKey::kTagSize - 1,
                                       'x'))},
  };
  for (const Case& c : cases) {
    auto opened = key.Open(c.sealed, "a");
    ASSERT_FALSE(opened.ok()) << c.name;
    EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidArgument)
        << c.name << ": " << opened.status().ToString();
  }
}

class SealingKeyFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    std::string path = fs::JoinPath(dir_.path(), name);
    fs::WriteOptions options;
    options.mode = mode;
    EXPECT_TRUE(fs::WriteFileAtomic(path, content, options).ok());
    return path;
  }
  fs::TempDir dir_;
};

TEST_F(SealingKeyFileTest, LoadsRawAndHexForms) {
  const std::string raw = "0123456789abcdefghijklmnopqrstu\xff";  // 32 bytes
  ASSERT_EQ(raw.size(), 32u);
  auto expected = SealingKey::FromBytes(raw);
  ASSERT_TRUE(expected.ok());
  const std::string hex = HexEncode(raw);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  for (const auto& [name, content, mode] :
       {std::tuple{"raw", raw, 0600}, std::tuple{"hex", hex, 0600},
        std::tuple{"hex newline", hex + "\n", 0400}, std::tuple{"upper hex", upper, 0600}}) {
    auto key = SealingKey::Load(Write("key", content, static_cast<mode_t>(mode)));
    ASSERT_TRUE(key.ok()) << name << ": " << key.status().ToString();
    EXPECT_EQ(key->id(), expected->id()) << name;
  }
}

TEST_F(SealingKeyFileTest, MissingFileIsNotFoundWithHowToCreateIt) {
  std::string path = fs::JoinPath(dir_.path(), "absent");
  auto key = SealingKey::Load(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(key.status().where(), path);
  EXPECT_NE(key.status().hint().find("head -c 32 /dev/urandom > " + path), std::string::npos)
      << key.status().hint();
}

TEST_F(SealingKeyFileTest, GroupOrOtherModeBitsArePermissionDenied) {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0601}) {
    auto key = SealingKey::Load(Write("key", KeyBytes('\x01'), mode));
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_EQ(key.status().code(), ErrorCode::kPermissionDenied) << std::oct << mode;
    EXPECT_NE(key.status().hint().find("chmod 600"), std::string::npos);
  }
}

TEST_F(SealingKeyFileTest, SymlinkIsNotFollowed) {
  std::string target = Write("real", KeyBytes('\x01'), 0600);
  std::string link = fs::JoinPath(dir_.path(), "link");
  test_fs::PlantSymlink(target, link, /*foreign=*/false);
  ASSERT_TRUE(SealingKey::Load(target).ok());
  auto key = SealingKey::Load(link);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(key.status().message().find("symbolic link"), std::string::npos);
}

TEST_F(SealingKeyFileTest, NonRegularFilesAreRefusedWithoutBlocking) {
  std::string fifo = fs::JoinPath(dir_.path(), "fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto from_fifo = SealingKey::Load(fifo);  // would block without O_NONBLOCK
  ASSERT_FALSE(from_fifo.ok());
  EXPECT_EQ(from_fifo.status().code(), ErrorCode::kInvalidArgument);
  std::string dir = fs::JoinPath(dir_.path(), "dir");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  auto from_dir = SealingKey::Load(dir);
  ASSERT_FALSE(from_dir.ok());
  EXPECT_EQ(from_dir.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SealingKeyFileTest, AnotherOwnerIsPermissionDenied) {
  if (geteuid() != 0) GTEST_SKIP() << "only root can give a file to another user";
  std::string path = Write("key", KeyBytes('\x01'), 0600);
  ASSERT_EQ(chown(path.c_str(), test_fs::kNobody, test_fs::kNobody), 0);
  auto key = SealingKey::Load(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(key.status().message().find("owned by uid 65534"), std::string::npos);
}

TEST_F(SealingKeyFileTest, WrongContentIsInvalidArgument) {
  const std::string hex = HexEncode(KeyBytes('\x01'));
  struct Case {
    const char* name;
    std::string content;
  };
  const Case cases[] = {
      {"empty", ""},
      {"31 bytes", std::string(31, '\x01')},
      {"33 bytes", std::string(33, '\x01')},
      {"raw key and newline", KeyBytes('\x01') + "\n"},
      {"16 bytes as hex", hex.substr(0, 32)},
      {"63 hex digits", hex.substr(0, 63)},
      {"hex with two newlines", hex + "\n\n"},
      {"hex with carriage return", hex + "\r"},
      {"64 non-hex bytes", std::string(64, 'g')},
      {"long file", std::string(4096, '\x01')},
  };
  for (const Case& c : cases) {
    auto key = SealingKey::Load(Write("key", c.content, 0600));
    ASSERT_FALSE(key.ok()) << c.name;
    EXPECT_EQ(key.status().code(), ErrorCode::kInvalidArgument) << c.name;
    // The message never echoes the key material.
    EXPECT_EQ(key.status().ToUserString().find(std::string(8, '\x01')), std::string::npos);
  }
}

}  // namespace
}  // namespace certkeeper
