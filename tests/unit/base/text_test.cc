#include "base/text.h"

#include <gtest/gtest.h>

#include <string>

namespace certkeeper {
namespace {

struct SanitizeCase {
  const char* name;
  std::string in;
  std::string out;
};

const std::string kFffd = "\xEF\xBF\xBD";

TEST(SanitizeUtf8Test, Table) {
  const SanitizeCase cases[] = {
      {"empty", "", ""},
      {"ascii", "hook ok\n", "hook ok\n"},
      {"two_three_four_byte_kept", "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x92",
       "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x92"},
      {"nul_is_valid", std::string("a\0b", 3), std::string("a\0b", 3)},
      {"ff_byte", "a\xFF" "b", "a" + kFffd + "b"},
      {"stray_continuation", "\x80", kFffd},
      {"two_stray_continuations", "\x80\x80", kFffd + kFffd},
      {"overlong_slash_c0", "\xC0\xAF", kFffd + kFffd},
      {"overlong_e0", "\xE0\x80\xAF", kFffd + kFffd + kFffd},
      {"surrogate_ed_a0", "\xED\xA0\x80", kFffd + kFffd + kFffd},
      {"above_10ffff", "\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},
      {"f5_lead", "\xF5\x80", kFffd + kFffd},
      {"cut_three_byte_at_end", "x\xE2\x82", "x" + kFffd},
      {"cut_four_byte_then_ascii", "\xF0\x9F\x94z", kFffd + "z"},
      {"lead_then_lead", "\xC3\xC3\xA9", kFffd + "\xC3\xA9"},
      {"max_code_point_kept", "\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(SanitizeUtf8(c.in), c.out) << c.name;
    EXPECT_TRUE(IsValidUtf8(SanitizeUtf8(c.in))) << c.name;
    EXPECT_EQ(IsValidUtf8(c.in), c.in == c.out) << c.name;
  }
}

struct CutCase {
  const char* name;
  std::string in;
  size_t max;
  std::string prefix;
  std::string suffix;
};

TEST(Utf8CutTest, Table) {
  const std::string euro = "\xE2\x82\xAC";  // 3 bytes
  const CutCase cases[] = {
      {"fits", "abc", 5, "abc", "abc"},
      {"ascii_cut", "abcdef", 4, "abcd", "cdef"},
      {"cut_inside_euro_backs_off", "ab" + euro + "cd", 3, "ab", "cd"},
      {"cut_after_euro", "ab" + euro + "cd", 5, "ab" + euro, euro + "cd"},
      {"cut_inside_first_char", euro + euro, 2, "", ""},
      {"zero", "abc", 0, "", ""},
      {"invalid_bytes_cut_plainly", "\x80\x80\x80\x80\x80", 2, "\x80\x80", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(std::string(Utf8Prefix(c.in, c.max)), c.prefix) << c.name;
    EXPECT_EQ(std::string(Utf8Suffix(c.in, c.max)), c.suffix) << c.name;
  }
}

TEST(Utf8CutTest, CuttingValidTextAtEveryLengthStaysValid) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x94\x92";
  for (size_t n = 0; n <= text.size(); ++n) {
    std::string_view p = Utf8Prefix(text, n);
    std::string_view s = Utf8Suffix(text, n);
    EXPECT_TRUE(IsValidUtf8(p)) << n;
    EXPECT_TRUE(IsValidUtf8(s)) << n;
    EXPECT_LE(p.size(), n);
    EXPECT_GE(p.size() + 3, n);
    EXPECT_LE(s.size(), n);
  }
}

struct EscapeCase {
  const char* name;
  std::string in;
  std::string line;  // EscapeForTerminal
};

TEST(EscapeForTerminalTest, Table) {
  const EscapeCase cases[] = {
      {"plain", "order created", "order created"},
      {"printable_non_ascii_kept", "caf\xC3\xA9 \xE2\x82\xAC", "caf\xC3\xA9 \xE2\x82\xAC"},
      {"clear_screen", "\x1b[2J", "\\x1b[2J"},
      {"osc_title", "\x1b]0;owned\x07", "\\x1b]0;owned\\x07"},
      {"newline_cr_tab", "a\nb\rc\td", "a\\nb\\rc\\td"},
      {"nul_and_del", std::string("a\0b\x7f", 4), "a\\x00b\\x7f"},
      {"c1_csi", "\xC2\x9B" "2J", "\\u009b2J"},
      {"c1_nel", "\xC2\x85", "\\u0085"},
      {"rlo", "web\xE2\x80\xAEgpj.exe", "web\\u202egpj.exe"},
      {"lre_pdf", "\xE2\x80\xAA\xE2\x80\xAC", "\\u202a\\u202c"},
      {"isolates", "\xE2\x81\xA6\xE2\x81\xA9", "\\u2066\\u2069"},
      {"lrm_rlm_alm", "\xE2\x80\x8E\xE2\x80\x8F\xD8\x9C", "\\u200e\\u200f\\u061c"},
      {"invalid_byte", "a\xFF", "a\\xff"},
      {"backslash", "C:\\x1b", "C:\\\\x1b"},
  };
  for (const auto& c : cases) {
    std::string out = EscapeForTerminal(c.in);
    EXPECT_EQ(out, c.line) << c.name;
    for (char ch : out) {
      unsigned char u = static_cast<unsigned char>(ch);
      EXPECT_TRUE(u >= 0x20 && u != 0x7f) << c.name;
    }
  }
}

// Plain runs are copied whole: each byte escapes the same alone and between
// plain text, and only printable ASCII other than the backslash is kept as is.
TEST(EscapeForTerminalTest, EveryByteAloneAndBetweenPlainText) {
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    const std::string alone = EscapeForTerminal(byte);
    EXPECT_EQ(EscapeForTerminal("ab" + byte + "cd"), "ab" + alone + "cd") << b;
    EXPECT_EQ(alone == byte, b >= 0x20 && b < 0x7f && b != '\\') << b;
  }
}

TEST(EscapeForTerminalTest, LinesKeepNewlinesOnly) {
  EXPECT_EQ(EscapeLinesForTerminal("error: \x1b[31mred\n  hint: \rfix"),
            "error: \\x1b[31mred\n  hint: \\rfix");
}

}  // namespace
}  // namespace certkeeper
