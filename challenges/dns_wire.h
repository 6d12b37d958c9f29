// DNS message encoding and decoding (RFC 1035 §4), the subset DNS-01 needs:
// queries for TXT/CNAME/NS/SOA/A/AAAA/CAA, UPDATE messages (RFC 2136) and TSIG
// records (RFC 8945). Decoding parses network input: every read is bounds-checked
// and a malformed message is a kProtocol error, never a crash.
#ifndef CERTKEEPER_CHALLENGES_DNS_WIRE_H_
#define CERTKEEPER_CHALLENGES_DNS_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace certkeeper::challenges::dns {

// RR types and classes (RFC 1035 §3.2.2-3.2.4, RFC 3596, RFC 8945).
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNs = 2;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeTsig = 250;
inline constexpr uint16_t kTypeAny = 255;
inline constexpr uint16_t kTypeCaa = 257;  // RFC 8659 §4.1
inline constexpr uint16_t kClassIn = 1;
inline constexpr uint16_t kClassNone = 254;  // RFC 2136 §2.4.3
inline constexpr uint16_t kClassAny = 255;

inline constexpr uint8_t kOpcodeQuery = 0;
inline constexpr uint8_t kOpcodeUpdate = 5;  // RFC 2136 §1

// Response codes (RFC 1035 §4.1.1, RFC 2136 §2.2, RFC 8945 §5.3.2).
inline constexpr uint16_t kRcodeNoError = 0;
inline constexpr uint16_t kRcodeFormErr = 1;
inline constexpr uint16_t kRcodeServFail = 2;
inline constexpr uint16_t kRcodeNxDomain = 3;
inline constexpr uint16_t kRcodeNotImp = 4;
inline constexpr uint16_t kRcodeRefused = 5;
inline constexpr uint16_t kRcodeNotAuth = 9;
inline constexpr uint16_t kRcodeNotZone = 10;
inline constexpr uint16_t kRcodeBadSig = 16;  // TSIG error field only
inline constexpr uint16_t kRcodeBadKey = 17;
inline constexpr uint16_t kRcodeBadTime = 18;

// "NOERROR", "NOTAUTH", "BADSIG", or "RCODE 42".
std::string RcodeName(uint16_t rcode);
std::string TypeName(uint16_t type);

// Names are held in presentation form without escapes, lower-cased, with a
// trailing dot ("_acme-challenge.example.com."); the root is ".".
// Returns the canonical form or kInvalidArgument (empty label, label > 63 octets,
// name > 255 octets on the wire, characters outside printable ASCII or '.' / '\').
Result<std::string> CanonicalName(std::string_view name);
// True when name equals zone or lies below it (both canonical).
bool IsSubdomain(std::string_view name, std::string_view zone);
// The name with its first label removed; "." stays ".".
std::string ParentName(std::string_view name);

struct Question {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = kClassIn;
};

struct ResourceRecord {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = kClassIn;
  uint32_t ttl = 0;
  // Raw RDATA. For types whose RDATA holds names (NS, CNAME, SOA) the decoder
  // expands compression pointers, so rdata is always self-contained.
  std::string rdata;
  // Offset of the record's first octet in the decoded message (decode only):
  // TSIG verification needs the message bytes before the TSIG record.
  size_t wire_offset = 0;
};

struct Header {
  uint16_t id = 0;
  bool qr = false;  // response
  uint8_t opcode = kOpcodeQuery;
  bool aa = false;
  bool tc = false;
  bool rd = false;
  bool ra = false;
  uint16_t rcode = 0;
};

// For UPDATE messages the sections are zone / prerequisite / update / additional
// (RFC 2136 §2).
struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authorities;
  std::vector<ResourceRecord> additionals;
};

// Encodes without name compression (always valid; messages here are small).
// Fails only for names that are not canonical or sections with > 65535 entries.
Result<std::string> EncodeMessage(const Message& message);
// Decodes a whole message. Compression pointers must point backwards (which
// rules out loops), names are bounded at 255 octets, and trailing bytes after the
// counted records are an error.
Result<Message> DecodeMessage(std::string_view wire);

// Name wire form (uncompressed) of a canonical name; also used by TSIG.
Result<std::string> EncodeName(std::string_view name);

// RDATA helpers. TXT: one or more <character-string>s (RFC 1035 §3.3.14); a
// value longer than 255 octets is split into several strings, and decoding
// joins them, as ACME servers do (RFC 8555 §8.4).
std::string EncodeTxtRdata(std::string_view value);
Result<std::string> DecodeTxtRdata(std::string_view rdata);
// NS and CNAME RDATA (as decoded: uncompressed) to a canonical name.
Result<std::string> DecodeNameRdata(std::string_view rdata);
// A and AAAA RDATA to a textual address.
Result<std::string> DecodeAddressRdata(uint16_t type, std::string_view rdata);

// CAA RDATA (RFC 8659 §4.1): flags, tag length, tag, value (the rest). The tag
// MUST be 1-15 ASCII letters or digits (it is returned as sent; callers compare
// it case-insensitively); the value is opaque octets, possibly empty, and is
// returned unchanged, hostile bytes included.
struct CaaRdata {
  uint8_t flags = 0;
  std::string tag;
  std::string value;
};
Result<CaaRdata> DecodeCaaRdata(std::string_view rdata);
// The inverse, for tests and fake servers; the tag is not checked.
std::string EncodeCaaRdata(uint8_t flags, std::string_view tag, std::string_view value);

// Big-endian helpers shared by the TSIG code.
void AppendU16(std::string& out, uint16_t v);
void AppendU32(std::string& out, uint32_t v);

}  // namespace certkeeper::challenges::dns

#endif  // CERTKEEPER_CHALLENGES_DNS_WIRE_H_
