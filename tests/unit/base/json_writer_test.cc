// JsonWriter writes what nlohmann::json::dump(indent, ' ', false, replace)
// writes for the same document: the layout, the escapes, the replacement of
// text that is not UTF-8.
#include "base/json_writer.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace certkeeper {
namespace {

using nlohmann::json;

std::string Nlohmann(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

// The same document through the writer: a nlohmann value walked in its own
// (key) order.
void Write(JsonWriter& w, const json& j) {
  if (j.is_object()) {
    w.BeginObject();
    for (auto it = j.begin(); it != j.end(); ++it) {
      w.Key(it.key());
      Write(w, it.value());
    }
    w.EndObject();
  } else if (j.is_array()) {
    w.BeginArray();
    for (const json& v : j) Write(w, v);
    w.EndArray();
  } else if (j.is_string()) {
    w.String(j.get_ref<const std::string&>());
  } else if (j.is_boolean()) {
    w.Bool(j.get<bool>());
  } else if (j.is_number_integer()) {
    w.Int(j.get<int64_t>());
  } else {
    w.Null();
  }
}

std::string Written(const json& j, int indent) {
  JsonWriter w(indent);
  Write(w, j);
  w.Finish();
  return w.Take();
}

struct StringCase {
  const char* name;
  std::string text;
};

TEST(JsonWriterTest, StringsAreEscapedAsNlohmannEscapesThem) {
  const std::vector<StringCase> cases = {
      {"empty", ""},
      {"plain ascii", "web.example.com"},
      {"quote and backslash", "say \"hi\" \\ bye"},
      {"short escapes", "\b\f\n\r\t"},
      {"other controls as \\u00xx", std::string("\x00\x01\x1b\x1f", 4)},
      {"DEL kept as it is", "a\x7f" "b"},
      {"two-byte UTF-8", "caf\xC3\xA9"},
      {"three-byte UTF-8, bidi override", "\xE2\x80\xAEtxt.exe"},
      {"four-byte UTF-8", "\xF0\x9F\x94\x92 locked"},
      {"stray continuation byte", "a\x80z"},
      {"invalid lead bytes", "hook said \xFF\xFE ok"},
      {"sequence cut short at the end", "euro \xE2\x82"},
      {"sequence cut short inside", "euro \xE2\x82x"},
      {"overlong slash", "\xC0\xAF"},
      {"surrogate", "\xED\xA0\x80"},
      {"above U+10FFFF", "\xF4\x90\x80\x80"},
      {"escape next to invalid", "\"\xFF\n"},
  };
  for (const StringCase& c : cases) {
    std::string out;
    AppendJsonString(out, c.text);
    EXPECT_EQ(out, Nlohmann(json(c.text), -1)) << c.name;
    EXPECT_EQ(Written(json(c.text), 2), Nlohmann(json(c.text), 2)) << c.name;
  }
}

TEST(JsonWriterTest, DocumentsAreLaidOutAsNlohmannLaysThemOut) {
  const std::vector<json> docs = {
      json::array(),
      json::object(),
      json::array({json::object(), json::array()}),
      json{{"a", 1}, {"b", json::array({"x", nullptr, true, false, -7})}},
      json{{"nested", {{"deeper", {{"deepest", json::array({json::array({1, 2})})}}}}},
           {"empty", json::object()},
           {"list", json::array()}},
      json::array({json{{"name", "c00001"}, {"domains", {"c00001.test", "www.c00001.test"}},
                        {"days_left", INT64_MIN}, {"version", INT64_MAX}},
                   json{{"name", "k\xC3\xA9y \"q\""}, {"error", nullptr}}}),
      json{{"key\nwith\x01" "controls", "value"}},
  };
  for (const json& doc : docs) {
    for (int indent : {-1, 0, 2, 4}) {
      EXPECT_EQ(Written(doc, indent), Nlohmann(doc, indent)) << doc.dump() << " indent " << indent;
    }
  }
}

TEST(JsonWriterTest, SinkReceivesTheWholeTextInPieces) {
  json doc = json::array();
  for (int i = 0; i < 5000; ++i) {
    doc.push_back({{"i", i}, {"text", std::string(40, static_cast<char>('a' + i % 26))}});
  }
  std::string received;
  int pieces = 0;
  JsonWriter w(2, [&](std::string_view piece) {
    received += piece;
    ++pieces;
  });
  Write(w, doc);
  w.Finish();
  EXPECT_EQ(received, Nlohmann(doc, 2));
  EXPECT_GT(pieces, 1);
  EXPECT_TRUE(w.Take().empty());  // everything went to the sink
}

TEST(JsonWriterTest, FieldHelpersWriteNullsWhereNlohmannWould) {
  JsonWriter w(2);
  w.BeginObject();
  w.NullIfEmpty("a", "");
  w.NullIfEmpty("b", "set");
  w.Field("c", 3);
  w.Field("d", true);
  w.NullField("e");
  w.Strings("f", {"x", "y"});
  w.Strings("g", {});
  w.EndObject();
  w.Finish();
  json expected = {{"a", nullptr}, {"b", "set"},          {"c", 3},
                   {"d", true},    {"e", nullptr},        {"f", {"x", "y"}},
                   {"g", json::array()}};
  EXPECT_EQ(w.Take(), Nlohmann(expected, 2));
}

}  // namespace
}  // namespace certkeeper
