#include "base/names.h"

#include <gtest/gtest.h>

namespace certkeeper {
namespace {

struct NameCase {
  const char* meaning;
  const char* input;
  bool allow_wildcard;
  const char* canonical;  // nullptr: must be rejected
};

TEST(CanonicalDnsName, Table) {
  const NameCase cases[] = {
      {"plain name", "example.com", true, "example.com"},
      {"upper case is folded", "WWW.Example.COM", true, "www.example.com"},
      {"trailing dot dropped", "example.com.", true, "example.com"},
      {"wildcard allowed", "*.example.com", true, "*.example.com"},
      {"wildcard refused when not allowed", "*.example.com", false, nullptr},
      {"wildcard in the middle", "a.*.example.com", true, nullptr},
      {"partial wildcard label", "a*.example.com", true, nullptr},
      {"single label", "localhost", true, nullptr},
      {"empty", "", true, nullptr},
      {"empty label", "a..example.com", true, nullptr},
      {"leading hyphen", "-a.example.com", true, nullptr},
      {"trailing hyphen", "a-.example.com", true, nullptr},
      {"punycode allowed", "xn--bcher-kva.example", true, "xn--bcher-kva.example"},
      {"unicode refused", "b\xc3\xbc" "cher.example", true, nullptr},
      {"shell metacharacters", "a;rm -rf.example.com", true, nullptr},
      {"command substitution", "$(id).example.com", true, nullptr},
      {"newline", "a\nb.example.com", true, nullptr},
      {"path traversal", "../../etc/passwd", true, nullptr},
      {"slash", "a/b.example.com", true, nullptr},
      {"ip address", "127.0.0.1", true, nullptr},
      {"label of 63 is fine", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", true,
       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com"},
      {"label of 64 is too long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", true,
       nullptr},
      {"underscore", "a_b.example.com", true, nullptr},
  };
  for (const NameCase& c : cases) {
    auto result = CanonicalDnsName(c.input, c.allow_wildcard);
    if (c.canonical == nullptr) {
      EXPECT_FALSE(result.ok()) << c.meaning;
      if (!result.ok()) {
        EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument) << c.meaning;
        // The message must never carry a raw control character.
        EXPECT_EQ(result.status().message().find('\n'), std::string::npos) << c.meaning;
      }
    } else {
      ASSERT_TRUE(result.ok()) << c.meaning << ": " << result.status().ToString();
      EXPECT_EQ(*result, c.canonical) << c.meaning;
    }
  }
}

TEST(CanonicalDnsName, TooLongName) {
  std::string name;
  for (int i = 0; i < 30; ++i) name += "abcdefghi.";
  name += "com";
  EXPECT_FALSE(CanonicalDnsName(name).ok());
}

TEST(ValidateCertificateName, Table) {
  struct Case {
    const char* meaning;
    std::string name;
    bool ok;
  } cases[] = {
      {"simple", "web", true},
      {"dotted", "example.com", true},
      {"underscore and dash", "my_web-1", true},
      {"dot dot", "..", false},
      {"leading dot", ".hidden", false},
      {"leading dash looks like a flag", "-rf", false},
      {"slash", "a/b", false},
      {"traversal", "../etc", false},
      {"space", "a b", false},
      {"newline", "a\nb", false},
      {"shell", "$(id)", false},
      {"empty", "", false},
      {"65 characters", std::string(65, 'a'), false},
      {"64 characters", std::string(64, 'a'), true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ValidateCertificateName(c.name).ok(), c.ok) << c.meaning;
  }
}

}  // namespace
}  // namespace certkeeper
