#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "challenges/caa.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A recursive resolver over a table: CAA RRsets per name, CNAMEs it follows
// itself (putting the chain and the target's records in the answer), names that
// answer SERVFAIL or NXDOMAIN, and the questions it was asked.
class FakeResolver : public dns::DnsClient {
 public:
  std::map<std::string, std::vector<std::string>> caa;  // name -> RDATA
  std::map<std::string, std::string> cnames;
  std::set<std::string> servfail, nxdomain;
  std::vector<std::string> asked;
  std::vector<milliseconds> timeouts;

  void Add(const std::string& name, uint8_t flags, const std::string& tag,
           const std::string& value) {
    caa[name].push_back(dns::EncodeCaaRdata(flags, tag, value));
  }

  Result<std::string> Exchange(const dns::ServerAddress&, std::string_view query,
                               milliseconds timeout) override {
    dns::Message q = *dns::DecodeMessage(query);
    const dns::Question& question = q.questions.at(0);
    asked.push_back(question.name + " " + dns::TypeName(question.type) +
                    (q.header.rd ? " rd" : ""));
    timeouts.push_back(timeout);
    dns::Message r;
    r.header = q.header;
    r.header.qr = true;
    r.questions = q.questions;
    if (servfail.count(question.name)) {
      r.header.rcode = dns::kRcodeServFail;
      return *dns::EncodeMessage(r);
    }
    if (nxdomain.count(question.name)) r.header.rcode = dns::kRcodeNxDomain;
    std::string name = question.name;
    while (cnames.count(name)) {
      r.answers.push_back({name, dns::kTypeCname, dns::kClassIn, 60,
                           *dns::EncodeName(cnames[name]), 0});
      name = cnames[name];
    }
    for (const std::string& rdata : caa[name]) {
      r.answers.push_back({name, dns::kTypeCaa, dns::kClassIn, 60, rdata, 0});
    }
    return *dns::EncodeMessage(r);
  }
};

class CaaLookupTest : public ::testing::Test {
 protected:
  Result<CaaSet> Lookup(std::string_view name, Duration timeout = seconds(5)) {
    return LookupCaa(dns_, server_, name, timeout);
  }
  FakeResolver dns_;
  dns::ServerAddress server_{"192.0.2.53", 5353};
};

TEST_F(CaaLookupTest, RecordsAtTheNameItself) {
  dns_.Add("www.example.com.", 0, "issue", "ca.example");
  dns_.Add("www.example.com.", kCaaCritical, "iodef", "mailto:x@example.com");
  Result<CaaSet> set = Lookup("WWW.Example.com");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->owner, "www.example.com");
  ASSERT_EQ(set->records.size(), 2u);
  EXPECT_EQ(set->records[0].tag, "issue");
  EXPECT_EQ(set->records[0].value, "ca.example");
  EXPECT_EQ(set->records[1].flags, kCaaCritical);
  EXPECT_EQ(dns_.asked, std::vector<std::string>{"www.example.com. CAA rd"});
}

TEST_F(CaaLookupTest, ParentRecordAppliesToChild) {
  dns_.Add("example.com.", 0, "issue", "ca.example");
  Result<CaaSet> set = Lookup("a.b.example.com");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->owner, "example.com");
  EXPECT_EQ(dns_.asked, (std::vector<std::string>{"a.b.example.com. CAA rd",
                                                  "b.example.com. CAA rd",
                                                  "example.com. CAA rd"}));
}

TEST_F(CaaLookupTest, ClimbStopsAtTheFirstNonEmptySet) {
  dns_.Add("b.example.com.", 0, "issue", "near.example");
  dns_.Add("example.com.", 0, "issue", "far.example");
  Result<CaaSet> set = Lookup("a.b.example.com");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->owner, "b.example.com");
  ASSERT_EQ(set->records.size(), 1u);
  EXPECT_EQ(set->records[0].value, "near.example");
  EXPECT_EQ(dns_.asked.size(), 2u);
}

TEST_F(CaaLookupTest, NoRecordsAnywhereIsAnEmptySetAndTheRootIsNotAsked) {
  dns_.nxdomain.insert("missing.example.com.");
  Result<CaaSet> set = Lookup("missing.example.com");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE(set->records.empty());
  EXPECT_EQ(set->owner, "");
  EXPECT_EQ(dns_.asked, (std::vector<std::string>{"missing.example.com. CAA rd",
                                                  "example.com. CAA rd", "com. CAA rd"}));
}

TEST_F(CaaLookupTest, WildcardIsLookedUpAtItsBaseName) {
  dns_.Add("example.com.", 0, "issuewild", ";");
  Result<CaaSet> set = Lookup("*.example.com");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->owner, "example.com");
  EXPECT_EQ(dns_.asked.front(), "example.com. CAA rd");
}

TEST_F(CaaLookupTest, CnameTargetRecordsCountForTheName) {
  dns_.cnames["www.example.com."] = "cdn.provider.net.";
  dns_.Add("cdn.provider.net.", 0, "issue", "cdn-ca.example");
  dns_.Add("example.com.", 0, "issue", "ca.example");
  Result<CaaSet> set = Lookup("www.example.com");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->records.size(), 1u);
  EXPECT_EQ(set->records[0].value, "cdn-ca.example");
}

TEST_F(CaaLookupTest, RecordsOfOtherOwnersInTheAnswerAreIgnored) {
  // A resolver must not make us take records it was not asked about.
  dns_.cnames["www.example.com."] = "cdn.provider.net.";
  dns_.Add("cdn.provider.net.", 0, "issue", "cdn-ca.example");
  dns_.cnames.clear();
  dns_.Add("www.example.com.", 0, "issue", "ca.example");
  Result<CaaSet> set = Lookup("www.example.com");
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->records.size(), 1u);
  EXPECT_EQ(set->records[0].value, "ca.example");
}

TEST_F(CaaLookupTest, ServfailIsAnErrorNamingTheNameAndTheResolver) {
  dns_.servfail.insert("example.com.");
  Result<CaaSet> set = Lookup("www.example.com");
  ASSERT_FALSE(set.ok());
  std::string text = set.status().ToString();
  EXPECT_NE(text.find("SERVFAIL"), std::string::npos) << text;
  EXPECT_NE(text.find("www.example.com"), std::string::npos) << text;
  EXPECT_NE(text.find("192.0.2.53:5353"), std::string::npos) << text;
}

TEST_F(CaaLookupTest, MalformedCaaRdataIsAnError) {
  dns_.caa["example.com."].push_back(std::string("\x00\x00", 2));  // tag length 0
  Result<CaaSet> set = Lookup("example.com");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(set.status().ToString().find("CAA"), std::string::npos);
}

TEST_F(CaaLookupTest, TooManyRecordsIsAnError) {
  for (size_t i = 0; i <= kMaxCaaRecords; ++i) {
    dns_.Add("example.com.", 0, "issue", "ca" + std::to_string(i) + ".example");
  }
  EXPECT_FALSE(Lookup("example.com").ok());
}

TEST_F(CaaLookupTest, EachQueryGetsAtMostTheTimeLeft) {
  ASSERT_TRUE(Lookup("a.b.example.com", milliseconds(800)).ok());
  for (milliseconds t : dns_.timeouts) EXPECT_LE(t.count(), 800);
}

TEST_F(CaaLookupTest, NoTimeLeftSendsNothing) {
  Result<CaaSet> set = Lookup("example.com", Duration::zero());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(dns_.asked.empty());
}

TEST_F(CaaLookupTest, HugeTimeoutDoesNotOverflowTheDeadline) {
  dns_.Add("example.com.", 0, "issue", "ca.example");
  Result<CaaSet> set = Lookup("www.example.com", Duration::max());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->owner, "example.com");
}

TEST_F(CaaLookupTest, IpAddressHasNoCaaAndAsksNothing) {
  for (const char* ip : {"192.0.2.1", "2001:db8::1"}) {
    Result<CaaSet> set = Lookup(ip);
    ASSERT_TRUE(set.ok()) << ip;
    EXPECT_TRUE(set->records.empty());
  }
  EXPECT_TRUE(dns_.asked.empty());
}

TEST_F(CaaLookupTest, InvalidNameIsAnError) {
  EXPECT_FALSE(Lookup("bad..name").ok());
  EXPECT_FALSE(Lookup("").ok());
}

TEST(CaaLookupResolverTest, BadResolverAddressIsAnError) {
  Result<CaaSet> set = LookupCaa("example.com", "resolver.example:53", seconds(1));
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace certkeeper::challenges
