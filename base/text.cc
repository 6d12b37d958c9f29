#include "base/text.h"

#include <cstdint>
#include <cstdio>

namespace certkeeper {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// One decoded character, or (valid == false) the length of a maximal invalid
// subpart: the longest prefix of a well-formed sequence, at least one byte.
struct Decoded {
  uint32_t code_point = 0;
  size_t length = 1;
  bool valid = false;
};

// RFC 3629 §4 (Table 3-7 of the Unicode Standard): the range the second byte
// must fall in depends on the lead byte; later bytes are plain continuations.
Decoded DecodeAt(std::string_view s, size_t i) {
  Decoded d;
  unsigned char lead = static_cast<unsigned char>(s[i]);
  if (lead < 0x80) {
    d.code_point = lead;
    d.valid = true;
    return d;
  }
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return d;  // continuation byte, C0/C1 (overlong) or F5..FF
  }
  uint32_t cp = lead & (0x3F >> need);
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return d;
    unsigned char c = static_cast<unsigned char>(s[i + k]);
    bool in_range = k == 1 ? (c >= lo && c <= hi) : IsContinuation(c);
    if (!in_range) return d;
    cp = (cp << 6) | (c & 0x3F);
    d.length = k + 1;
  }
  d.code_point = cp;
  d.valid = true;
  return d;
}

// Expected length of the sequence a lead byte starts (1 for anything else).
size_t SequenceLength(unsigned char lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 1;
}

bool IsBidiControl(uint32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

bool IsPlainAscii(unsigned char c) { return c >= 0x20 && c < 0x7F && c != '\\'; }

void AppendEscape(std::string& out, const char* format, unsigned value) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), format, value);
  out += buf;
}

std::string Escape(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    // Printable ASCII other than the backslash stands for itself: such runs,
    // nearly all of every name and message, are copied whole.
    size_t plain = i;
    while (plain < text.size() && IsPlainAscii(static_cast<unsigned char>(text[plain]))) ++plain;
    if (plain > i) {
      out.append(text.data() + i, plain - i);
      i = plain;
      if (i == text.size()) break;
    }
    Decoded d = DecodeAt(text, i);
    if (!d.valid) {
      for (size_t k = 0; k < d.length; ++k) {
        AppendEscape(out, "\\x%02x", static_cast<unsigned char>(text[i + k]));
      }
      i += d.length;
      continue;
    }
    uint32_t cp = d.code_point;
    if (cp == '\n' && keep_newlines) {
      out += '\n';
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\\') {
      out += "\\\\";
    } else if (cp < 0x20 || cp == 0x7F) {
      AppendEscape(out, "\\x%02x", cp);
    } else if ((cp >= 0x80 && cp <= 0x9F) || IsBidiControl(cp)) {
      AppendEscape(out, "\\u%04x", cp);
    } else {
      out.append(text.substr(i, d.length));
    }
    i += d.length;
  }
  return out;
}

}  // namespace

std::string SanitizeUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    Decoded d = DecodeAt(bytes, i);
    if (d.valid) {
      out.append(bytes.substr(i, d.length));
    } else {
      out.append(kReplacement);
    }
    i += d.length;
  }
  return out;
}

bool IsValidUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    Decoded d = DecodeAt(bytes, i);
    if (!d.valid) return false;
    i += d.length;
  }
  return true;
}

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  if (IsContinuation(static_cast<unsigned char>(text[cut]))) {
    // Find the lead byte of the character the cut falls into (at most 3 back).
    for (size_t back = 1; back <= 3 && back <= cut; ++back) {
      unsigned char c = static_cast<unsigned char>(text[cut - back]);
      if (IsContinuation(c)) continue;
      if (SequenceLength(c) > back) cut -= back;
      break;
    }
  }
  return text.substr(0, cut);
}

std::string_view Utf8Suffix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t start = text.size() - max_bytes;
  for (int k = 0; k < 3 && start < text.size() &&
                  IsContinuation(static_cast<unsigned char>(text[start]));
       ++k) {
    ++start;
  }
  return text.substr(start);
}

std::string EscapeForTerminal(std::string_view text) { return Escape(text, false); }

std::string EscapeLinesForTerminal(std::string_view text) { return Escape(text, true); }

}  // namespace certkeeper
