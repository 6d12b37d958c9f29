// A JSON text written as it is produced, without building a document first:
// for the documents that grow with the inventory (`list --json`, `renew --all
// --json` over 100,000 certificates), where a nlohmann::json tree of every
// row costs more than reading the rows.
//
// The text is byte for byte what nlohmann::json::dump(indent, ' ', false,
// error_handler_t::replace) writes for the same document: the same layout,
// the same escapes (\" \\ \b \f \n \r \t, other control characters as
// \u00xx, everything else, non-ASCII included, as it is), U+FFFD for a
// string that is not valid UTF-8. nlohmann::json orders an object's members
// by key (std::map); a JsonWriter writes them in the order they are given,
// so a caller that must match a nlohmann document gives them in that order
// (byte-wise ascending), which debug builds check.
#ifndef CERTKEEPER_BASE_JSON_WRITER_H_
#define CERTKEEPER_BASE_JSON_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace certkeeper {

class JsonWriter {
 public:
  // Receives the text in pieces of about kFlushBytes as it is written, and the
  // rest on Finish(). Without a sink the whole text stays in the buffer
  // (Take()).
  using Sink = std::function<void(std::string_view)>;
  static constexpr size_t kFlushBytes = 64 * 1024;

  // indent < 0: the compact form (dump() without arguments).
  explicit JsonWriter(int indent = 2, Sink sink = nullptr);
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // Inside an object, before each value: the member's name.
  void Key(std::string_view key);

  void String(std::string_view s);
  void Int(int64_t v);
  void Bool(bool b);
  void Null();
  // A number already in JSON's form (e.g. nlohmann's text of a double).
  void Number(std::string_view text);
  // Key and value in one call; an empty optional or (NullIfEmpty) an empty
  // string is null.
  void Field(std::string_view key, std::string_view s) { Key(key), String(s); }
  void Field(std::string_view key, const char* s) { Key(key), String(s); }
  void Field(std::string_view key, const std::string& s) { Key(key), String(s); }
  void Field(std::string_view key, int64_t v) { Key(key), Int(v); }
  void Field(std::string_view key, int v) { Key(key), Int(v); }
  void Field(std::string_view key, bool b) { Key(key), Bool(b); }
  void NullField(std::string_view key) { Key(key), Null(); }
  void NullIfEmpty(std::string_view key, std::string_view s);
  void Strings(std::string_view key, const std::vector<std::string>& items);

  // Passes what is left to the sink. The document must be complete.
  void Finish();
  // The text, without a sink (after Finish(), or instead of it).
  std::string Take() { return std::move(out_); }

 private:
  struct Level {
    bool object = false;
    bool empty = true;
#ifndef NDEBUG
    std::string last_key;
#endif
  };
  void BeforeValue();
  void NewLine(size_t depth);
  void MaybeFlush();

  int indent_;
  Sink sink_;
  std::string out_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

// `s` as a JSON string literal, quotes included (appended to out).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_JSON_WRITER_H_
