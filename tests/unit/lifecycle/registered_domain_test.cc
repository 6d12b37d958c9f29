#include "lifecycle/registered_domain.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <ostream>
#include <string>

namespace certkeeper::lifecycle {
namespace {

struct DomainCase {
  const char* name;
  const char* input;
  const char* expected;
};

void PrintTo(const DomainCase& c, std::ostream* os) { *os << c.name; }

class RegisteredDomainTest : public ::testing::TestWithParam<DomainCase> {};

TEST_P(RegisteredDomainTest, Computes) {
  const DomainCase& c = GetParam();
  Result<std::string> got = RegisteredDomain(c.input);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Names, RegisteredDomainTest,
    ::testing::Values(
        DomainCase{"ApexIsItsOwn", "example.com", "example.com"},
        DomainCase{"SubdomainOfTwoLabelSuffix", "www.example.co.uk", "example.co.uk"},
        DomainCase{"DeepSubdomain", "a.b.example.com", "example.com"},
        DomainCase{"PrivateSuffixCounts", "foo.github.io", "foo.github.io"},
        DomainCase{"BelowPrivateSuffix", "x.foo.github.io", "foo.github.io"},
        DomainCase{"WildcardStripped", "*.example.com", "example.com"},
        DomainCase{"LowerCasedAndTrailingDotIgnored", "WWW.Example.COM.", "example.com"},
        DomainCase{"UnknownTldFallsBackToTwoLabels", "a.b.example.test", "example.test"},
        DomainCase{"PublicSuffixItselfFallsBackToTwoLabels", "co.uk", "co.uk"},
        DomainCase{"PrivateSuffixItselfFallsBackToTwoLabels", "github.io", "github.io"}),
    [](const ::testing::TestParamInfo<DomainCase>& info) { return info.param.name; });

TEST(RegisteredDomainErrorsTest, RejectsNonDnsNames) {
  for (const char* bad : {"", "exa mple.com", "a..example.com", "*.*.example.com"}) {
    Result<std::string> got = RegisteredDomain(bad);
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_EQ(got.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(PublicSuffixListTest, DefaultPrefersTheSystemList) {
  struct stat st;
  if (stat(kSystemPublicSuffixList, &st) != 0) {
    GTEST_SKIP() << kSystemPublicSuffixList << " is not installed";
  }
  EXPECT_EQ(PublicSuffixList::Default().source(), kSystemPublicSuffixList);
}

TEST(PublicSuffixListTest, MissingFileIsNotFound) {
  Result<PublicSuffixList> list = PublicSuffixList::Load("/nonexistent/public_suffix_list.dat");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(list.status().where(), "/nonexistent/public_suffix_list.dat");
}

TEST(PublicSuffixListTest, LoadsAGivenList) {
  // A list that knows co.uk but not github.io: the answers must follow it.
  const std::string path = ::testing::TempDir() + "psl_" + std::to_string(getpid()) + ".dat";
  {
    std::ofstream out(path);
    out << "// ===BEGIN ICANN DOMAINS===\ncom\nio\nuk\nco.uk\n// ===END ICANN DOMAINS===\n";
  }
  Result<PublicSuffixList> list = PublicSuffixList::Load(path);
  std::remove(path.c_str());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->source(), path);
  EXPECT_EQ(*list->RegisteredDomain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(*list->RegisteredDomain("x.foo.github.io"), "github.io");
}

}  // namespace
}  // namespace certkeeper::lifecycle
