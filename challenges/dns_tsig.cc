#include "challenges/dns_tsig.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <memory>

#include "base/encoding.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges::dns {
namespace {

struct Algorithm {
  std::string_view name;    // canonical DNS name (RFC 8945 §6)
  std::string_view digest;  // OpenSSL digest name
};
constexpr Algorithm kAlgorithms[] = {
    {"hmac-sha256.", "SHA256"},
    {"hmac-sha512.", "SHA512"},
    {"hmac-sha1.", "SHA1"},
};

const Algorithm* FindAlgorithm(std::string_view canonical) {
  for (const Algorithm& a : kAlgorithms) {
    if (a.name == canonical) return &a;
  }
  return nullptr;
}

Result<std::string> Hmac(std::string_view digest, std::string_view key, std::string_view data) {
  auto fail = [] { return Status(ErrorCode::kInternal, "TSIG: HMAC computation failed"); };
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                        &EVP_MAC_free);
  if (!mac) return fail();
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac.get()),
                                                                &EVP_MAC_CTX_free);
  if (!ctx) return fail();
  std::string digest_name(digest);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name.data(), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return fail();
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (EVP_MAC_final(ctx.get(), out, &out_len, sizeof(out)) != 1) return fail();
  return std::string(reinterpret_cast<char*>(out), out_len);
}

void AppendU48(std::string& out, uint64_t v) {
  AppendU16(out, static_cast<uint16_t>((v >> 32) & 0xFFFF));
  AppendU32(out, static_cast<uint32_t>(v & 0xFFFFFFFF));
}

struct TsigFields {
  std::string algorithm;
  uint64_t time_signed = 0;
  uint16_t fudge = 0;
  std::string mac;
  uint16_t original_id = 0;
  uint16_t error = 0;
  std::string other;
};

// The TSIG variables of RFC 8945 §4.3.3.
Result<std::string> TsigVariables(const TsigKey& key, const TsigFields& f) {
  std::string out;
  CK_ASSIGN_OR_RETURN(std::string key_name, EncodeName(key.name));
  CK_ASSIGN_OR_RETURN(std::string alg_name, EncodeName(f.algorithm));
  out += key_name;
  AppendU16(out, kClassAny);
  AppendU32(out, 0);
  out += alg_name;
  AppendU48(out, f.time_signed);
  AppendU16(out, f.fudge);
  AppendU16(out, f.error);
  AppendU16(out, static_cast<uint16_t>(f.other.size()));
  out += f.other;
  return out;
}

Result<TsigFields> ParseTsigRdata(std::string_view rdata) {
  auto bad = [] { return Status(ErrorCode::kProtocol, "malformed TSIG record in DNS response"); };
  TsigFields f;
  // The algorithm name is uncompressed (RFC 8945 §4.2): walk its labels.
  size_t pos = 0;
  while (true) {
    if (pos >= rdata.size()) return bad();
    uint8_t len = static_cast<uint8_t>(rdata[pos]);
    if (len & 0xC0) return bad();
    pos += 1 + len;
    if (len == 0) break;
  }
  CK_ASSIGN_OR_RETURN(f.algorithm, DecodeNameRdata(rdata.substr(0, pos)));
  auto u16 = [&](uint16_t& v) {
    if (pos + 2 > rdata.size()) return false;
    v = static_cast<uint16_t>((static_cast<uint8_t>(rdata[pos]) << 8) |
                              static_cast<uint8_t>(rdata[pos + 1]));
    pos += 2;
    return true;
  };
  uint16_t t_hi = 0, t_mid = 0, t_lo = 0, mac_size = 0, other_len = 0;
  if (!u16(t_hi) || !u16(t_mid) || !u16(t_lo) || !u16(f.fudge) || !u16(mac_size)) return bad();
  f.time_signed = (static_cast<uint64_t>(t_hi) << 32) | (static_cast<uint64_t>(t_mid) << 16) | t_lo;
  if (pos + mac_size > rdata.size()) return bad();
  f.mac = std::string(rdata.substr(pos, mac_size));
  pos += mac_size;
  if (!u16(f.original_id) || !u16(f.error) || !u16(other_len)) return bad();
  if (pos + other_len != rdata.size()) return bad();
  f.other = std::string(rdata.substr(pos, other_len));
  return f;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Result<std::string> CanonicalTsigAlgorithm(std::string_view name) {
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower.empty() || lower.back() != '.') lower.push_back('.');
  if (FindAlgorithm(lower) == nullptr) {
    return Status(ErrorCode::kInvalidArgument,
                  "unsupported TSIG algorithm '" + std::string(name) + "'")
        .Hint("use hmac-sha256 (recommended), hmac-sha512 or hmac-sha1");
  }
  return lower;
}

Result<TsigKey> MakeTsigKey(std::string_view name, std::string_view algorithm,
                            std::string_view secret_text, std::string_view where) {
  TsigKey key;
  CK_ASSIGN_OR_RETURN(key.name, CanonicalName(name));
  CK_ASSIGN_OR_RETURN(key.algorithm, CanonicalTsigAlgorithm(algorithm));
  std::string text(secret_text);
  size_t at = text.find("secret");
  std::string b64;
  if (at != std::string::npos) {
    size_t p = at + 6;
    while (p < text.size() && (std::isspace(static_cast<unsigned char>(text[p])) ||
                               text[p] == ':' || text[p] == '"')) {
      ++p;
    }
    size_t end = p;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
           text[end] != '"' && text[end] != ';') {
      ++end;
    }
    b64 = text.substr(p, end - p);
  } else {
    b64 = Trim(text);
  }
  Result<std::string> secret = Base64Decode(b64);
  if (!secret.ok() || secret->empty()) {
    return Status(ErrorCode::kInvalidArgument, "TSIG secret is not valid base64")
        .Where(std::string(where))
        .Hint("the file must hold the base64 secret, alone or as `secret: ...` "
              "(keymgr -t output) or `secret \"...\";` (BIND key file)");
  }
  key.secret = std::move(*secret);
  return key;
}

Result<SignedMessage> SignMessage(std::string_view wire, const TsigKey& key,
                                  uint64_t time_signed, uint16_t fudge) {
  const Algorithm* alg = FindAlgorithm(key.algorithm);
  if (alg == nullptr) return CanonicalTsigAlgorithm(key.algorithm).status();
  if (wire.size() < 12) return Status(ErrorCode::kInvalidArgument, "TSIG: message too short");
  TsigFields f;
  f.algorithm = key.algorithm;
  f.time_signed = time_signed;
  f.fudge = fudge;
  f.original_id = static_cast<uint16_t>((static_cast<uint8_t>(wire[0]) << 8) |
                                        static_cast<uint8_t>(wire[1]));
  CK_ASSIGN_OR_RETURN(std::string vars, TsigVariables(key, f));
  CK_ASSIGN_OR_RETURN(f.mac, Hmac(alg->digest, key.secret, std::string(wire) + vars));

  ResourceRecord rr;
  rr.name = key.name;
  rr.type = kTypeTsig;
  rr.klass = kClassAny;
  rr.ttl = 0;
  CK_ASSIGN_OR_RETURN(std::string alg_name, EncodeName(key.algorithm));
  rr.rdata = alg_name;
  AppendU48(rr.rdata, f.time_signed);
  AppendU16(rr.rdata, f.fudge);
  AppendU16(rr.rdata, static_cast<uint16_t>(f.mac.size()));
  rr.rdata += f.mac;
  AppendU16(rr.rdata, f.original_id);
  AppendU16(rr.rdata, 0);
  AppendU16(rr.rdata, 0);

  Message one;
  one.additionals.push_back(rr);
  CK_ASSIGN_OR_RETURN(std::string encoded, EncodeMessage(one));
  SignedMessage out;
  out.wire = std::string(wire) + encoded.substr(12);
  uint16_t arcount = static_cast<uint16_t>((static_cast<uint8_t>(wire[10]) << 8) |
                                           static_cast<uint8_t>(wire[11]));
  ++arcount;
  out.wire[10] = static_cast<char>(arcount >> 8);
  out.wire[11] = static_cast<char>(arcount & 0xFF);
  out.mac = f.mac;
  return out;
}

Status VerifyMessage(std::string_view wire, const TsigKey& key, std::string_view request_mac,
                     uint64_t now) {
  CK_ASSIGN_OR_RETURN(Message m, DecodeMessage(wire));
  if (m.additionals.empty() || m.additionals.back().type != kTypeTsig) {
    return Status(ErrorCode::kPermissionDenied, "DNS response is not signed with TSIG")
        .Hint("the server does not know key '" + key.name + "' or did not sign its answer");
  }
  const ResourceRecord& rr = m.additionals.back();
  CK_ASSIGN_OR_RETURN(TsigFields f, ParseTsigRdata(rr.rdata));
  if (f.error == kRcodeBadSig || f.error == kRcodeBadKey) {
    return Status(ErrorCode::kPermissionDenied,
                  "the DNS server rejected our TSIG signature: " + RcodeName(f.error))
        .Hint(f.error == kRcodeBadKey
                  ? "the server does not know key '" + key.name + "' with algorithm " +
                        key.algorithm + "; check tsig_key_name and tsig_algorithm"
                  : "the TSIG secret does not match the server's; check tsig_secret_file");
  }
  if (rr.name != key.name || f.algorithm != key.algorithm) {
    return Status(ErrorCode::kPermissionDenied,
                  "DNS response signed with key '" + rr.name + "' (" + f.algorithm +
                      "), expected '" + key.name + "' (" + key.algorithm + ")");
  }
  const Algorithm* alg = FindAlgorithm(key.algorithm);
  if (alg == nullptr) return CanonicalTsigAlgorithm(key.algorithm).status();
  std::string data;
  if (!request_mac.empty()) {
    AppendU16(data, static_cast<uint16_t>(request_mac.size()));
    data += request_mac;
  }
  std::string unsigned_msg(wire.substr(0, rr.wire_offset));
  uint16_t arcount = static_cast<uint16_t>(m.additionals.size() - 1);
  unsigned_msg[0] = static_cast<char>(f.original_id >> 8);
  unsigned_msg[1] = static_cast<char>(f.original_id & 0xFF);
  unsigned_msg[10] = static_cast<char>(arcount >> 8);
  unsigned_msg[11] = static_cast<char>(arcount & 0xFF);
  data += unsigned_msg;
  CK_ASSIGN_OR_RETURN(std::string vars, TsigVariables(key, f));
  data += vars;
  CK_ASSIGN_OR_RETURN(std::string expected, Hmac(alg->digest, key.secret, data));
  if (f.mac.size() != expected.size() ||
      CRYPTO_memcmp(f.mac.data(), expected.data(), expected.size()) != 0) {
    return Status(ErrorCode::kPermissionDenied, "TSIG signature of the DNS message does not verify")
        .Hint("the message was altered or the secret differs from the server's");
  }
  uint64_t skew = now > f.time_signed ? now - f.time_signed : f.time_signed - now;
  if (f.error == kRcodeBadTime || skew > f.fudge) {
    return Status(ErrorCode::kPermissionDenied,
                  "TSIG time check failed (BADTIME): clocks differ by " + std::to_string(skew) +
                      "s, fudge " + std::to_string(f.fudge) + "s")
        .Hint("synchronise this machine's clock with the DNS server's (NTP)");
  }
  return Status::Ok();
}

}  // namespace certkeeper::challenges::dns
