#include "base/encoding.h"

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace certkeeper {

namespace {

constexpr std::string_view kStdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr int8_t kInvalid = -1;

using DecodeTable = std::array<int8_t, 256>;

constexpr DecodeTable MakeDecodeTable(std::string_view alphabet) {
  DecodeTable table{};
  for (auto& entry : table) entry = kInvalid;
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

constexpr DecodeTable kStdDecode = MakeDecodeTable(kStdAlphabet);
constexpr DecodeTable kUrlDecode = MakeDecodeTable(kUrlAlphabet);

std::string Encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                 (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                 uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  uint32_t n = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
  if (rest == 2) n |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
  out.push_back(alphabet[(n >> 18) & 63]);
  out.push_back(alphabet[(n >> 12) & 63]);
  if (rest == 2) out.push_back(alphabet[(n >> 6) & 63]);
  if (pad) out.append(rest == 1 ? "==" : "=");
  return out;
}

// Describes an offending character without echoing more than that character:
// the decoded text may be secret (keys, TSIG secrets).
std::string DescribeChar(char c) {
  auto u = static_cast<unsigned char>(c);
  char buf[16];
  if (u > 0x20 && u < 0x7f) {
    std::snprintf(buf, sizeof buf, "'%c'", c);
  } else {
    std::snprintf(buf, sizeof buf, "byte 0x%02x", u);
  }
  return buf;
}

// Decodes unpadded text in the alphabet of table. A final group of 2 or 3
// characters must have zero trailing bits (RFC 4648 §3.5: canonical encoding), so
// that every byte string has exactly one accepted encoding.
Result<std::string> DecodeUnpadded(std::string_view text, const DecodeTable& table,
                                   std::string_view what) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    int8_t v = table[static_cast<unsigned char>(text[i])];
    if (v == kInvalid) {
      return Status(ErrorCode::kInvalidArgument,
                    std::string(what) + ": invalid character " +
                        DescribeChar(text[i]) + " at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (text.size() % 4 == 1) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(what) + ": impossible length " +
                      std::to_string(text.size()) +
                      " (a final group of one character encodes no byte)")
        .Hint("the text is truncated or has an extra character");
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(what) +
                      ": non-canonical encoding (the last character has unused "
                      "bits set)");
  }
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  return Encode(bytes, kUrlAlphabet, /*pad=*/false);
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  if (auto pos = text.find('='); pos != std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument,
                  "base64url: padding '=' at offset " + std::to_string(pos) +
                      " is not allowed")
        .Hint("JOSE base64url (RFC 7515 §2) omits the trailing '=' characters");
  }
  return DecodeUnpadded(text, kUrlDecode, "base64url");
}

bool IsBase64Url(std::string_view text) { return Base64UrlDecode(text).ok(); }

std::string Base64Encode(std::string_view bytes) {
  return Encode(bytes, kStdAlphabet, /*pad=*/true);
}

Result<std::string> Base64Decode(std::string_view text) {
  // Padding is optional, but when present it must complete the final group.
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  std::string_view body = text.substr(0, text.size() - pad);
  if (pad > 0 && text.size() % 4 != 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "base64: padding does not complete a 4-character group "
                  "(length " + std::to_string(text.size()) + ")");
  }
  if (pad > 0 && (body.size() % 4) + pad != 4) {
    return Status(ErrorCode::kInvalidArgument,
                  "base64: wrong number of '=' padding characters");
  }
  if (auto pos = body.find('='); pos != std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument,
                  "base64: '=' at offset " + std::to_string(pos) +
                      " before the end of the text");
  }
  return DecodeUnpadded(body, kStdDecode, "base64");
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(kDigits[u >> 4]);
    out.push_back(kDigits[u & 0x0f]);
  }
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // EVP_Digest with SHA-256 fails only on allocation failure; there is no
  // recovering from that, and an empty digest would be silently wrong.
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1 ||
      len != 32) {
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), len);
}

}  // namespace certkeeper
