// IP address identifiers (RFC 8738): the one accepted spelling per address,
// refusal of the spellings resolvers and inet_aton take besides, and the
// reverse-mapping names TLS-ALPN-01 sends.
#include <gtest/gtest.h>

#include <string>

#include "base/names.h"

namespace certkeeper {
namespace {

struct IpCase {
  const char* meaning;
  std::string input;
  const char* canonical;  // nullptr: must be refused
};

TEST(CanonicalIpAddress, Table) {
  const IpCase cases[] = {
      {"plain IPv4", "192.0.2.1", "192.0.2.1"},
      {"zeros", "0.0.0.0", "0.0.0.0"},
      {"top of the range", "255.255.255.255", "255.255.255.255"},
      {"loopback", "127.0.0.1", "127.0.0.1"},
      {"short form inet_aton takes", "127.1", nullptr},
      {"three parts", "10.0.1", nullptr},
      {"hex part", "0x7f.0.0.1", nullptr},
      {"whole address as a number", "2130706433", nullptr},
      {"octal part (leading zero)", "010.0.0.1", nullptr},
      {"leading zero in the last part", "1.2.3.04", nullptr},
      {"part above 255", "1.2.3.256", nullptr},
      {"four-digit part", "1.2.3.0001", nullptr},
      {"trailing dot", "1.2.3.4.", nullptr},
      {"leading dot", ".1.2.3.4", nullptr},
      {"five parts", "1.2.3.4.5", nullptr},
      {"empty part", "1..3.4", nullptr},
      {"sign", "+1.2.3.4", nullptr},
      {"space", " 1.2.3.4", nullptr},
      {"trailing newline", "1.2.3.4\n", nullptr},
      {"NUL inside", std::string("1.2.3.4\0.5", 10), nullptr},
      {"IPv6 loopback", "::1", "::1"},
      {"unspecified", "::", "::"},
      {"upper case is folded", "2001:DB8::A", "2001:db8::a"},
      {"leading zeros dropped", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"one zero group is not shortened", "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
      {"longest run wins", "2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
      {"first of equal runs wins", "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
      {"trailing run", "1::", "1::"},
      {"IPv4-compatible form is printed in hex", "::1.2.3.4", "::102:304"},
      {"hex form stays hex (glibc would print ::1.2.3.4)", "::102:304", "::102:304"},
      {"embedded IPv4 in a non-mapped address", "64:ff9b::192.0.2.1", "64:ff9b::c000:201"},
      {"IPv4-mapped is the IPv4 address under another name", "::ffff:1.2.3.4", nullptr},
      {"IPv4-mapped in hex", "::ffff:102:304", nullptr},
      {"IPv4-mapped with a leading zero", "::ffff:1.2.3.04", nullptr},
      {"zone id", "fe80::1%eth0", nullptr},
      {"numeric zone id", "fe80::1%1", nullptr},
      {"brackets", "[::1]", nullptr},
      {"port", "[::1]:443", nullptr},
      {"two double colons", "1::2::3", nullptr},
      {"nine groups", "1:2:3:4:5:6:7:8:9", nullptr},
      {"five-digit group", "00000::1", nullptr},
      {"not hex", "2001:db8::g", nullptr},
      {"single colon", ":", nullptr},
      {"empty", "", nullptr},
      {"DNS name", "example.com", nullptr},
      {"wildcard", "*.1.2.3.4", nullptr},
      {"very long", std::string(100000, '1'), nullptr},
      {"very long IPv6-looking", std::string(100000, ':'), nullptr},
  };
  for (const IpCase& c : cases) {
    auto result = CanonicalIpAddress(c.input);
    if (c.canonical == nullptr) {
      EXPECT_FALSE(result.ok()) << c.meaning << " -> " << (result.ok() ? *result : "");
      if (!result.ok()) {
        EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument) << c.meaning;
        EXPECT_EQ(result.status().message().find('\n'), std::string::npos) << c.meaning;
        EXPECT_LT(result.status().message().size(), 300u) << c.meaning;
        EXPECT_FALSE(result.status().hint().empty()) << c.meaning;
      }
      EXPECT_FALSE(IsIpAddress(c.input)) << c.meaning;
    } else {
      ASSERT_TRUE(result.ok()) << c.meaning << ": " << result.status().ToString();
      EXPECT_EQ(*result, c.canonical) << c.meaning;
      EXPECT_TRUE(IsIpAddress(c.input)) << c.meaning;
      // The canonical form is a fixed point.
      auto again = CanonicalIpAddress(*result);
      ASSERT_TRUE(again.ok()) << c.meaning;
      EXPECT_EQ(*again, *result) << c.meaning;
    }
  }
}

TEST(CanonicalIpAddress, ZoneIdIsNamedInTheError) {
  auto result = CanonicalIpAddress("fe80::1%eth0");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("zone"), std::string::npos)
      << result.status().message();
}

TEST(LooksLikeIpAddress, DigitsAndDotsOrAColon) {
  EXPECT_TRUE(LooksLikeIpAddress("192.0.2.1"));
  EXPECT_TRUE(LooksLikeIpAddress("127.1"));
  EXPECT_TRUE(LooksLikeIpAddress("1.2.3.4."));
  EXPECT_TRUE(LooksLikeIpAddress("::1"));
  EXPECT_TRUE(LooksLikeIpAddress("[::1]"));
  EXPECT_TRUE(LooksLikeIpAddress("fe80::1%eth0"));
  EXPECT_FALSE(LooksLikeIpAddress(""));
  EXPECT_FALSE(LooksLikeIpAddress("example.com"));
  EXPECT_FALSE(LooksLikeIpAddress("0x7f.0.0.1"));
  EXPECT_FALSE(LooksLikeIpAddress("1.2.3.example"));
}

TEST(CanonicalIdentifier, RoutesIpsAndNames) {
  EXPECT_EQ(*CanonicalIdentifier("Example.COM."), "example.com");
  EXPECT_EQ(*CanonicalIdentifier("*.example.com"), "*.example.com");
  EXPECT_FALSE(CanonicalIdentifier("*.example.com", /*allow_wildcard=*/false).ok());
  EXPECT_EQ(*CanonicalIdentifier("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(*CanonicalIdentifier("2001:DB8::1"), "2001:db8::1");
  for (const char* hostile : {"127.1", "0x7f.0.0.1", "010.0.0.1", "1.2.3.4.", "fe80::1%eth0",
                              "[::1]", "::ffff:1.2.3.04", "*.192.0.2.1", "0177.0.0.1"}) {
    auto result = CanonicalIdentifier(hostile);
    EXPECT_FALSE(result.ok()) << hostile << " -> " << (result.ok() ? *result : "");
  }
}

// "0x7f.0.0.1" reaches the DNS-name check; its error must not claim that IP
// addresses are unsupported, since they are.
TEST(CanonicalIdentifier, AllDigitLastLabelExplainsTheAcceptedIpForm) {
  auto result = CanonicalIdentifier("0x7f.0.0.1");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().find("not supported"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("192.0.2.1"), std::string::npos)
      << result.status().message();
}

TEST(ReverseDnsName, Ipv4AndIpv6) {
  EXPECT_EQ(ReverseDnsName("192.0.2.1"), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(ReverseDnsName("127.0.0.1"), "1.0.0.127.in-addr.arpa");
  // RFC 3596 §2.5's example.
  EXPECT_EQ(ReverseDnsName("4321:0:1:2:3:4:567:89ab"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
  EXPECT_EQ(ReverseDnsName("::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
  for (const char* bad : {"", "example.com", "127.1", "010.0.0.1", "fe80::1%eth0", "[::1]",
                          "::ffff:1.2.3.4", "1.2.3.4."}) {
    EXPECT_EQ(ReverseDnsName(bad), "") << bad;
  }
}

}  // namespace
}  // namespace certkeeper
