#include "base/json_writer.h"

#include <array>
#include <cassert>
#include <charconv>
#include <cstring>

#include <nlohmann/json.hpp>

#include "base/text.h"

namespace certkeeper {

namespace {

// 1: escaped; 2: not ASCII (the text must be checked for UTF-8); 0: as is.
constexpr std::array<unsigned char, 256> kClass = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  for (int c = 0x80; c < 0x100; ++c) t[c] = 2;
  return t;
}();

// The escapes of nlohmann::json's serializer (ensure_ascii off).
void AppendEscaped(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(esc, sizeof esc);
    }
  }
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  unsigned char seen = 0;
  for (unsigned char c : s) seen |= kClass[c];
  if (seen == 0) {  // most strings: nothing to escape or check
    out += '"';
    out += s;
    out += '"';
    return;
  }
  if ((seen & 2) && !IsValidUtf8(s)) {
    // Rare (rows written before text was sanitized where it entered): the
    // replacement characters exactly where nlohmann::json puts them.
    out += nlohmann::json(std::string(s)).dump(-1, ' ', false,
                                                nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  size_t clean = 0;  // s[clean, i) needs no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (kClass[c] != 1) continue;
    out.append(s.data() + clean, i - clean);
    AppendEscaped(out, c);
    clean = i + 1;
  }
  out.append(s.data() + clean, s.size() - clean);
  out += '"';
}

JsonWriter::JsonWriter(int indent, Sink sink) : indent_(indent), sink_(std::move(sink)) {
  if (sink_) out_.reserve(kFlushBytes + 4096);
}

void JsonWriter::NewLine(size_t depth) {
  if (indent_ < 0) return;
  out_ += '\n';
  out_.append(depth * static_cast<size_t>(indent_), ' ');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (levels_.empty()) return;
  Level& level = levels_.back();
  assert(!level.object && "a member of an object needs its Key() first");
  if (!level.empty) out_ += ',';
  level.empty = false;
  NewLine(levels_.size());
}

void JsonWriter::Key(std::string_view key) {
  assert(!levels_.empty() && levels_.back().object && !after_key_);
  Level& level = levels_.back();
#ifndef NDEBUG
  assert((level.empty || level.last_key < key) &&
         "members in nlohmann::json's order: by key, byte-wise ascending");
  level.last_key = std::string(key);
#endif
  const bool first = level.empty;
  level.empty = false;
  after_key_ = true;
  bool plain = true;  // a name of the program's (most are): nothing to escape
  for (unsigned char c : key) plain &= kClass[c] == 0;
  if (!plain) {
    if (!first) out_ += ',';
    NewLine(levels_.size());
    AppendJsonString(out_, key);
    out_ += indent_ < 0 ? ":" : ": ";
    return;
  }
  // `,\n<indent>"key": ` in one step: a document of 10,000 rows has 250,000.
  const size_t spaces = indent_ < 0 ? 0 : levels_.size() * static_cast<size_t>(indent_);
  const size_t size = (first ? 0 : 1) + (indent_ < 0 ? 0 : 1 + spaces) + key.size() +
                      (indent_ < 0 ? 3 : 4);
  const size_t at = out_.size();
  out_.resize(at + size);
  char* p = out_.data() + at;
  if (!first) *p++ = ',';
  if (indent_ >= 0) {
    *p++ = '\n';
    std::memset(p, ' ', spaces);
    p += spaces;
  }
  *p++ = '"';
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  *p++ = '"';
  *p++ = ':';
  if (indent_ >= 0) *p++ = ' ';
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_ += '{';
  levels_.push_back({});
  levels_.back().object = true;
}

void JsonWriter::BeginArray() {
  BeforeValue();
  out_ += '[';
  levels_.push_back({});
}

void JsonWriter::EndObject() {
  assert(!levels_.empty() && levels_.back().object && !after_key_);
  const bool empty = levels_.back().empty;
  levels_.pop_back();
  if (!empty) NewLine(levels_.size());
  out_ += '}';
  MaybeFlush();
}

void JsonWriter::EndArray() {
  assert(!levels_.empty() && !levels_.back().object);
  const bool empty = levels_.back().empty;
  levels_.pop_back();
  if (!empty) NewLine(levels_.size());
  out_ += ']';
  MaybeFlush();
}

void JsonWriter::String(std::string_view s) {
  BeforeValue();
  AppendJsonString(out_, s);
}

void JsonWriter::Int(int64_t v) {
  BeforeValue();
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out_.append(buf, static_cast<size_t>(end - buf));
}

void JsonWriter::Bool(bool b) {
  BeforeValue();
  out_ += b ? "true" : "false";
}

void JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
}

void JsonWriter::Number(std::string_view text) {
  BeforeValue();
  out_ += text;
}

void JsonWriter::NullIfEmpty(std::string_view key, std::string_view s) {
  Key(key);
  if (s.empty()) {
    Null();
  } else {
    String(s);
  }
}

void JsonWriter::Strings(std::string_view key, const std::vector<std::string>& items) {
  Key(key);
  BeginArray();
  for (const std::string& item : items) String(item);
  EndArray();
}

void JsonWriter::MaybeFlush() {
  if (sink_ && out_.size() >= kFlushBytes) {
    sink_(out_);
    out_.clear();
  }
}

void JsonWriter::Finish() {
  assert(levels_.empty() && !after_key_ && "Finish() needs a complete document");
  if (sink_ && !out_.empty()) {
    sink_(out_);
    out_.clear();
  }
}

}  // namespace certkeeper
