#include "challenges/dns_wire.h"

#include <arpa/inet.h>

#include <cstdio>

namespace certkeeper::challenges::dns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameWire = 255;  // RFC 1035 §3.1
constexpr size_t kMaxLabel = 63;

Status Malformed(std::string what, size_t offset) {
  return Status(ErrorCode::kProtocol,
                "malformed DNS message: " + what + " at offset " + std::to_string(offset))
      .Hint("the DNS server sent a message that does not parse; check that the "
            "address points at a DNS server");
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool IsPlainLabelChar(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

// Reads big-endian integers with bounds checks.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  std::string_view data() const { return data_; }

  bool U8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool U16(uint16_t& v) {
    if (remaining() < 2) return false;
    v = static_cast<uint16_t>((static_cast<uint8_t>(data_[pos_]) << 8) |
                              static_cast<uint8_t>(data_[pos_ + 1]));
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t& v) {
    uint16_t hi = 0, lo = 0;
    if (!U16(hi) || !U16(lo)) return false;
    v = (static_cast<uint32_t>(hi) << 16) | lo;
    return true;
  }
  bool Bytes(size_t n, std::string_view& out) {
    if (remaining() < n) return false;
    out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  void Seek(size_t p) { pos_ = p; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// RFC 1035 §4.1.4: a pointer may only refer to an earlier position, which makes
// loops impossible; the total expanded length is bounded too.
Result<std::string> ReadName(Reader& r) {
  std::string name;
  size_t wire_len = 0;
  size_t cursor = r.pos();
  size_t resume = 0;  // where the reader continues after the first pointer
  bool jumped = false;
  std::string_view data = r.data();
  while (true) {
    if (cursor >= data.size()) return Malformed("name runs past the end", cursor);
    uint8_t len = static_cast<uint8_t>(data[cursor]);
    if ((len & 0xC0) == 0xC0) {
      if (cursor + 1 >= data.size()) return Malformed("truncated name pointer", cursor);
      size_t target = (static_cast<size_t>(len & 0x3F) << 8) |
                      static_cast<uint8_t>(data[cursor + 1]);
      if (target >= cursor) return Malformed("name pointer does not point backwards", cursor);
      if (!jumped) resume = cursor + 2;
      jumped = true;
      cursor = target;
      continue;
    }
    if ((len & 0xC0) != 0) return Malformed("unsupported label type", cursor);
    wire_len += 1 + len;
    if (wire_len > kMaxNameWire) return Malformed("name longer than 255 octets", cursor);
    if (len == 0) {
      ++cursor;
      break;
    }
    if (cursor + 1 + len > data.size()) return Malformed("label runs past the end", cursor);
    for (size_t i = 0; i < len; ++i) {
      unsigned char c = static_cast<unsigned char>(data[cursor + 1 + i]);
      if (IsPlainLabelChar(c)) {
        name.push_back(LowerAscii(static_cast<char>(c)));
      } else {
        char esc[8];
        std::snprintf(esc, sizeof(esc), "\\%03u", static_cast<unsigned>(c));
        name += esc;
      }
    }
    name.push_back('.');
    cursor += 1 + len;
  }
  r.Seek(jumped ? resume : cursor);
  if (name.empty()) name = ".";
  return name;
}

Result<ResourceRecord> ReadRecord(Reader& r) {
  ResourceRecord rr;
  rr.wire_offset = r.pos();
  CK_ASSIGN_OR_RETURN(rr.name, ReadName(r));
  uint16_t rdlength = 0;
  if (!r.U16(rr.type) || !r.U16(rr.klass) || !r.U32(rr.ttl) || !r.U16(rdlength)) {
    return Malformed("truncated record header", r.pos());
  }
  size_t rdata_start = r.pos();
  if (r.remaining() < rdlength) return Malformed("RDATA runs past the end", rdata_start);
  size_t rdata_end = rdata_start + rdlength;
  if (rr.type == kTypeNs || rr.type == kTypeCname || rr.type == kTypeSoa) {
    // Expand compressed names so that rdata stands on its own.
    std::string expanded;
    int names = rr.type == kTypeSoa ? 2 : 1;
    for (int i = 0; i < names; ++i) {
      CK_ASSIGN_OR_RETURN(std::string n, ReadName(r));
      if (r.pos() > rdata_end) return Malformed("name runs past its RDATA", rdata_start);
      CK_ASSIGN_OR_RETURN(std::string wire, EncodeName(n));
      expanded += wire;
    }
    std::string_view rest;
    if (!r.Bytes(rdata_end - r.pos(), rest)) return Malformed("bad RDATA", rdata_start);
    if (rr.type == kTypeSoa && rest.size() != 20) return Malformed("bad SOA RDATA", rdata_start);
    if (rr.type != kTypeSoa && !rest.empty()) return Malformed("bad name RDATA", rdata_start);
    rr.rdata = expanded + std::string(rest);
  } else {
    std::string_view rdata;
    r.Bytes(rdlength, rdata);
    rr.rdata = std::string(rdata);
  }
  return rr;
}

Status AppendRecord(std::string& out, const ResourceRecord& rr) {
  CK_ASSIGN_OR_RETURN(std::string name, EncodeName(rr.name));
  if (rr.rdata.size() > 0xFFFF) {
    return Status(ErrorCode::kInvalidArgument, "DNS RDATA longer than 65535 octets");
  }
  out += name;
  AppendU16(out, rr.type);
  AppendU16(out, rr.klass);
  AppendU32(out, rr.ttl);
  AppendU16(out, static_cast<uint16_t>(rr.rdata.size()));
  out += rr.rdata;
  return Status::Ok();
}

}  // namespace

void AppendU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}

void AppendU32(std::string& out, uint32_t v) {
  AppendU16(out, static_cast<uint16_t>(v >> 16));
  AppendU16(out, static_cast<uint16_t>(v & 0xFFFF));
}

std::string RcodeName(uint16_t rcode) {
  switch (rcode) {
    case kRcodeNoError: return "NOERROR";
    case kRcodeFormErr: return "FORMERR";
    case kRcodeServFail: return "SERVFAIL";
    case kRcodeNxDomain: return "NXDOMAIN";
    case kRcodeNotImp: return "NOTIMP";
    case kRcodeRefused: return "REFUSED";
    case 6: return "YXDOMAIN";
    case 7: return "YXRRSET";
    case 8: return "NXRRSET";
    case kRcodeNotAuth: return "NOTAUTH";
    case kRcodeNotZone: return "NOTZONE";
    case kRcodeBadSig: return "BADSIG";
    case kRcodeBadKey: return "BADKEY";
    case kRcodeBadTime: return "BADTIME";
    default: return "RCODE " + std::to_string(rcode);
  }
}

std::string TypeName(uint16_t type) {
  switch (type) {
    case kTypeA: return "A";
    case kTypeNs: return "NS";
    case kTypeCname: return "CNAME";
    case kTypeSoa: return "SOA";
    case kTypeTxt: return "TXT";
    case kTypeAaaa: return "AAAA";
    case kTypeTsig: return "TSIG";
    case kTypeCaa: return "CAA";
    default: return "TYPE" + std::to_string(type);
  }
}

Result<std::string> CanonicalName(std::string_view name) {
  auto bad = [&](std::string why) {
    return Status(ErrorCode::kInvalidArgument,
                  "invalid DNS name '" + std::string(name) + "': " + why);
  };
  if (name.empty()) return bad("empty");
  if (name == ".") return std::string(".");
  std::string out;
  size_t label_len = 0;
  for (char c : name) {
    if (c == '.') {
      if (label_len == 0) return bad("empty label");
      label_len = 0;
      out.push_back('.');
      continue;
    }
    if (!IsPlainLabelChar(static_cast<unsigned char>(c))) {
      return bad("character outside printable ASCII");
    }
    if (++label_len > kMaxLabel) return bad("label longer than 63 octets");
    out.push_back(LowerAscii(c));
  }
  if (out.back() != '.') out.push_back('.');
  if (out.size() + 1 > kMaxNameWire) return bad("longer than 255 octets");
  return out;
}

bool IsSubdomain(std::string_view name, std::string_view zone) {
  if (zone == ".") return true;
  if (name.size() < zone.size()) return false;
  if (name.substr(name.size() - zone.size()) != zone) return false;
  return name.size() == zone.size() || name[name.size() - zone.size() - 1] == '.';
}

std::string ParentName(std::string_view name) {
  size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot + 1 >= name.size()) return ".";
  return std::string(name.substr(dot + 1));
}

Result<std::string> EncodeName(std::string_view name) {
  CK_ASSIGN_OR_RETURN(std::string canonical, CanonicalName(name));
  std::string out;
  if (canonical != ".") {
    size_t start = 0;
    while (start < canonical.size()) {
      size_t dot = canonical.find('.', start);
      out.push_back(static_cast<char>(dot - start));
      out.append(canonical, start, dot - start);
      start = dot + 1;
    }
  }
  out.push_back('\0');
  return out;
}

Result<std::string> EncodeMessage(const Message& m) {
  if (m.questions.size() > 0xFFFF || m.answers.size() > 0xFFFF ||
      m.authorities.size() > 0xFFFF || m.additionals.size() > 0xFFFF) {
    return Status(ErrorCode::kInvalidArgument, "DNS message section too large");
  }
  std::string out;
  AppendU16(out, m.header.id);
  uint16_t flags = 0;
  if (m.header.qr) flags |= 0x8000;
  flags |= static_cast<uint16_t>((m.header.opcode & 0x0F) << 11);
  if (m.header.aa) flags |= 0x0400;
  if (m.header.tc) flags |= 0x0200;
  if (m.header.rd) flags |= 0x0100;
  if (m.header.ra) flags |= 0x0080;
  flags |= m.header.rcode & 0x0F;
  AppendU16(out, flags);
  AppendU16(out, static_cast<uint16_t>(m.questions.size()));
  AppendU16(out, static_cast<uint16_t>(m.answers.size()));
  AppendU16(out, static_cast<uint16_t>(m.authorities.size()));
  AppendU16(out, static_cast<uint16_t>(m.additionals.size()));
  for (const Question& q : m.questions) {
    CK_ASSIGN_OR_RETURN(std::string name, EncodeName(q.name));
    out += name;
    AppendU16(out, q.type);
    AppendU16(out, q.klass);
  }
  for (const auto* section : {&m.answers, &m.authorities, &m.additionals}) {
    for (const ResourceRecord& rr : *section) CK_RETURN_IF_ERROR(AppendRecord(out, rr));
  }
  return out;
}

Result<Message> DecodeMessage(std::string_view wire) {
  Reader r(wire);
  Message m;
  uint16_t flags = 0, qd = 0, an = 0, ns = 0, ar = 0;
  if (wire.size() < kHeaderSize || !r.U16(m.header.id) || !r.U16(flags) || !r.U16(qd) ||
      !r.U16(an) || !r.U16(ns) || !r.U16(ar)) {
    return Malformed("message shorter than its 12-octet header", wire.size());
  }
  m.header.qr = flags & 0x8000;
  m.header.opcode = static_cast<uint8_t>((flags >> 11) & 0x0F);
  m.header.aa = flags & 0x0400;
  m.header.tc = flags & 0x0200;
  m.header.rd = flags & 0x0100;
  m.header.ra = flags & 0x0080;
  m.header.rcode = flags & 0x0F;
  for (uint16_t i = 0; i < qd; ++i) {
    Question q;
    CK_ASSIGN_OR_RETURN(q.name, ReadName(r));
    if (!r.U16(q.type) || !r.U16(q.klass)) return Malformed("truncated question", r.pos());
    m.questions.push_back(std::move(q));
  }
  for (auto [count, section] : {std::pair{an, &m.answers}, std::pair{ns, &m.authorities},
                                std::pair{ar, &m.additionals}}) {
    for (uint16_t i = 0; i < count; ++i) {
      CK_ASSIGN_OR_RETURN(ResourceRecord rr, ReadRecord(r));
      section->push_back(std::move(rr));
    }
  }
  if (r.remaining() != 0) return Malformed("trailing bytes after the last record", r.pos());
  return m;
}

std::string EncodeTxtRdata(std::string_view value) {
  std::string out;
  do {
    std::string_view chunk = value.substr(0, 255);
    out.push_back(static_cast<char>(chunk.size()));
    out += chunk;
    value.remove_prefix(chunk.size());
  } while (!value.empty());
  return out;
}

Result<std::string> DecodeTxtRdata(std::string_view rdata) {
  std::string out;
  size_t pos = 0;
  while (pos < rdata.size()) {
    size_t len = static_cast<uint8_t>(rdata[pos]);
    if (pos + 1 + len > rdata.size()) return Malformed("TXT string runs past its RDATA", pos);
    out.append(rdata.substr(pos + 1, len));
    pos += 1 + len;
  }
  return out;
}

Result<std::string> DecodeNameRdata(std::string_view rdata) {
  Reader r(rdata);
  CK_ASSIGN_OR_RETURN(std::string name, ReadName(r));
  if (r.remaining() != 0) return Malformed("trailing bytes after a name", r.pos());
  return name;
}

Result<std::string> DecodeAddressRdata(uint16_t type, std::string_view rdata) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (type == kTypeA && rdata.size() == 4) {
    inet_ntop(AF_INET, rdata.data(), buf, sizeof(buf));
  } else if (type == kTypeAaaa && rdata.size() == 16) {
    inet_ntop(AF_INET6, rdata.data(), buf, sizeof(buf));
  } else {
    return Malformed("bad address RDATA for " + TypeName(type), 0);
  }
  return std::string(buf);
}

Result<CaaRdata> DecodeCaaRdata(std::string_view rdata) {
  if (rdata.size() < 2) return Malformed("CAA RDATA shorter than flags and tag length", 0);
  CaaRdata out;
  out.flags = static_cast<uint8_t>(rdata[0]);
  size_t tag_length = static_cast<uint8_t>(rdata[1]);
  // RFC 8659 §4.1: "The tag length MUST be at least 1".
  if (tag_length == 0 || tag_length > 15) return Malformed("CAA tag length not 1-15", 1);
  if (2 + tag_length > rdata.size()) return Malformed("CAA tag runs past its RDATA", 1);
  out.tag = std::string(rdata.substr(2, tag_length));
  for (char c : out.tag) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) return Malformed("CAA tag with a character other than a letter or digit", 2);
  }
  out.value = std::string(rdata.substr(2 + tag_length));
  return out;
}

std::string EncodeCaaRdata(uint8_t flags, std::string_view tag, std::string_view value) {
  std::string out;
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>(tag.size()));
  out += tag;
  out += value;
  return out;
}

}  // namespace certkeeper::challenges::dns
