#include "challenges/dns01_solver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/fs.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges {
namespace {

using dns::Message;
using dns::ResourceRecord;
using std::chrono::milliseconds;

// A scripted DNS world: every server answers from the same records, except that
// a server can be told to miss the first N TXT queries (propagation delay).
class FakeDns : public dns::DnsClient {
 public:
  std::map<std::pair<std::string, uint16_t>, std::vector<std::string>> records;
  std::set<std::string> zones = {"example.com.", "delegated.net."};
  std::map<std::string, int> txt_delay;   // server -> TXT queries answered empty
  std::vector<std::string> txt_queries;   // "server name rd"

  void AddTxt(const std::string& name, const std::string& value) {
    records[{name, dns::kTypeTxt}].push_back(dns::EncodeTxtRdata(value));
  }
  void RemoveTxt(const std::string& name, const std::string& value) {
    auto& v = Txt(name);
    v.erase(std::remove(v.begin(), v.end(), dns::EncodeTxtRdata(value)), v.end());
  }
  std::vector<std::string>& Txt(const std::string& name) { return records[{name, dns::kTypeTxt}]; }
  void AddCname(const std::string& name, const std::string& target) {
    records[{name, dns::kTypeCname}] = {*dns::EncodeName(target)};
  }

  Result<std::string> Exchange(const dns::ServerAddress& server, std::string_view query,
                               milliseconds) override {
    Message q = *dns::DecodeMessage(query);
    Message r;
    r.header = q.header;
    r.header.qr = true;
    r.questions = q.questions;
    const dns::Question& question = q.questions.at(0);
    std::string zone;
    for (const std::string& z : zones) {
      if (dns::IsSubdomain(question.name, z)) zone = z;
    }
    auto soa = [&](const std::string& owner) {
      ResourceRecord rr{owner, dns::kTypeSoa, dns::kClassIn, 60, "", 0};
      rr.rdata = *dns::EncodeName("ns1." + owner) + *dns::EncodeName("admin." + owner) +
                 std::string(20, '\0');
      return rr;
    };
    if (question.type == dns::kTypeTxt) {
      txt_queries.push_back(server.ToString() + " " + question.name +
                            (q.header.rd ? " rd" : " nord"));
      int& delay = txt_delay[server.ToString()];
      if (delay > 0) {
        --delay;
        return *dns::EncodeMessage(r);
      }
    }
    if (question.type == dns::kTypeSoa && question.name == zone) {
      r.answers.push_back(soa(zone));
    } else if (question.type == dns::kTypeNs && question.name == zone) {
      for (const char* host : {"ns1.", "ns2."}) {
        ResourceRecord ns{zone, dns::kTypeNs, dns::kClassIn, 60, *dns::EncodeName(host + zone), 0};
        r.answers.push_back(ns);
      }
      r.additionals.push_back({"ns1." + zone, dns::kTypeA, dns::kClassIn, 60,
                               std::string("\xc0\x00\x02\x01", 4), 0});
    } else if (question.type == dns::kTypeA && question.name == "ns2." + zone) {
      r.answers.push_back({question.name, dns::kTypeA, dns::kClassIn, 60,
                           std::string("\xc0\x00\x02\x02", 4), 0});
    } else {
      auto it = records.find({question.name, question.type});
      if (it != records.end()) {
        for (const std::string& rdata : it->second) {
          r.answers.push_back({question.name, question.type, dns::kClassIn, 60, rdata, 0});
        }
      }
      if (r.answers.empty() && !zone.empty()) r.authorities.push_back(soa(zone));
    }
    return *dns::EncodeMessage(r);
  }
};

class FakeProvider : public DnsProvider {
 public:
  explicit FakeProvider(FakeDns* dns) : dns_(dns) {}
  std::string name() const override { return "fake"; }
  Status Present(std::string_view fqdn, std::string_view value) override {
    calls.push_back("present " + std::string(fqdn) + " " + std::string(value));
    if (fail_present_at == static_cast<int>(calls.size())) {
      return Status(ErrorCode::kUnavailable, "provider down");
    }
    dns_->AddTxt(std::string(fqdn), std::string(value));
    return Status::Ok();
  }
  Status CleanUp(std::string_view fqdn, std::string_view value) override {
    calls.push_back("cleanup " + std::string(fqdn) + " " + std::string(value));
    dns_->RemoveTxt(std::string(fqdn), std::string(value));
    return Status::Ok();
  }
  std::vector<std::string> calls;
  int fail_present_at = -1;

 private:
  FakeDns* dns_;
};

class RecordingClock : public FakeClock {
 public:
  RecordingClock() : FakeClock(TimePoint(std::chrono::seconds(1700000000))) {}
  void SleepFor(Duration d) override {
    sleeps.push_back(std::chrono::duration_cast<milliseconds>(d));
    FakeClock::SleepFor(d);
  }
  std::vector<milliseconds> sleeps;
};

class Dns01SolverTest : public ::testing::Test {
 protected:
  std::unique_ptr<Dns01Solver> MakeSolver(bool with_resolver) {
    auto provider = std::make_unique<FakeProvider>(dns_.get());
    provider_ = provider.get();
    Dns01Options options;
    if (with_resolver) options.resolver = dns::ServerAddress{"127.0.0.53", 5353};
    options.propagation_timeout = std::chrono::seconds(10);
    options.resolv_conf = resolv_conf_;
    return std::make_unique<Dns01Solver>(std::move(provider), options, dns_, &clock_);
  }
  std::shared_ptr<FakeDns> dns_ = std::make_shared<FakeDns>();
  FakeProvider* provider_ = nullptr;
  RecordingClock clock_;
  std::string resolv_conf_ = "/nonexistent/resolv.conf";
};

ChallengeTask Task(std::string id, bool wildcard, std::string ka) {
  return ChallengeTask{std::move(id), wildcard, "token", std::move(ka)};
}

TEST(Dns01ValueTest, TxtValueIsBase64UrlOfSha256OfKeyAuthorization) {
  // Reference computed with `openssl dgst -sha256 -binary | base64` (url alphabet).
  EXPECT_EQ(Dns01TxtValue("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
                          "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"),
            "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0");
  EXPECT_EQ(*Dns01RecordName("Example.COM"), "_acme-challenge.example.com.");
  EXPECT_EQ(*Dns01RecordName("*.example.com"), "_acme-challenge.example.com.");
}

TEST_F(Dns01SolverTest, WildcardAndBaseNamePutTwoValuesAtOneNameAtOnce) {
  auto solver = MakeSolver(true);
  std::vector<ChallengeTask> tasks = {Task("example.com", false, "a.b"),
                                      Task("example.com", true, "c.d")};
  Status s = solver->Present(tasks);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const std::string name = "_acme-challenge.example.com.";
  ASSERT_EQ(provider_->calls.size(), 2u);
  EXPECT_EQ(provider_->calls[0], "present " + name + " " + Dns01TxtValue("a.b"));
  EXPECT_EQ(provider_->calls[1], "present " + name + " " + Dns01TxtValue("c.d"));
  EXPECT_EQ(dns_->Txt(name).size(), 2u);
  // Only the configured resolver is asked, with recursion desired.
  for (const std::string& q : dns_->txt_queries) EXPECT_EQ(q, "127.0.0.53:5353 " + name + " rd");
  std::vector<SolverNote> notes = solver->TakeNotes();
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes.back().message.find("visible at 127.0.0.53:5353"), std::string::npos);

  ASSERT_TRUE(solver->CleanUp(tasks).ok());
  EXPECT_TRUE(dns_->Txt(name).empty());
  EXPECT_EQ(provider_->calls.size(), 4u);
  ASSERT_TRUE(solver->CleanUp(tasks).ok());
  EXPECT_EQ(provider_->calls.size(), 4u) << "a second CleanUp has nothing left to do";
}

TEST_F(Dns01SolverTest, FollowsCnameDelegation) {
  dns_->AddCname("_acme-challenge.example.com.", "hop.example.com.");
  dns_->AddCname("hop.example.com.", "_acme.delegated.net.");
  auto solver = MakeSolver(true);
  ASSERT_TRUE(solver->Present({Task("example.com", false, "a.b")}).ok());
  ASSERT_EQ(provider_->calls.size(), 1u);
  EXPECT_EQ(provider_->calls[0], "present _acme.delegated.net. " + Dns01TxtValue("a.b"));
}

TEST_F(Dns01SolverTest, CnameLoopIsAnError) {
  dns_->AddCname("_acme-challenge.example.com.", "a.example.com.");
  dns_->AddCname("a.example.com.", "_acme-challenge.example.com.");
  auto solver = MakeSolver(true);
  Status s = solver->SelfCheck({Task("example.com", false, "a.b")});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("CNAME loop"), std::string::npos) << s.message();
  EXPECT_TRUE(provider_->calls.empty());
}

TEST_F(Dns01SolverTest, CnameChainLongerThanTheBoundIsAnError) {
  for (int i = 0; i < 12; ++i) {
    std::string from = i == 0 ? "_acme-challenge.example.com." : "c" + std::to_string(i) + ".example.com.";
    dns_->AddCname(from, "c" + std::to_string(i + 1) + ".example.com.");
  }
  auto solver = MakeSolver(true);
  Status s = solver->Present({Task("example.com", false, "a.b")});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("longer than"), std::string::npos) << s.message();
}

TEST_F(Dns01SolverTest, WaitsUntilEveryAuthoritativeServerAnswersWithGrowingIntervals) {
  fs::TempDir dir;
  resolv_conf_ = dir.path() + "/resolv.conf";
  ASSERT_TRUE(fs::WriteFileAtomic(resolv_conf_, "# test\nnameserver 127.0.0.99\n").ok());
  dns_->txt_delay["192.0.2.2:53"] = 4;
  auto solver = MakeSolver(false);
  Status s = solver->Present({Task("www.example.com", false, "a.b")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::set<std::string> asked;
  for (const std::string& q : dns_->txt_queries) asked.insert(q);
  const std::string name = " _acme-challenge.www.example.com. nord";
  EXPECT_EQ(asked, (std::set<std::string>{"192.0.2.1:53" + name, "192.0.2.2:53" + name}));
  ASSERT_EQ(clock_.sleeps.size(), 4u);
  EXPECT_EQ(clock_.sleeps[0], milliseconds(50));
  for (size_t i = 1; i < clock_.sleeps.size(); ++i) EXPECT_GT(clock_.sleeps[i], clock_.sleeps[i - 1]);
}

TEST_F(Dns01SolverTest, PropagationTimeoutNamesTheServerThatLacksTheRecord) {
  dns_->txt_delay["127.0.0.53:5353"] = 1000000;
  auto solver = MakeSolver(true);
  TimePoint start = clock_.Now();
  Status s = solver->Present({Task("example.com", false, "a.b")});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("127.0.0.53:5353"), std::string::npos) << s.message();
  EXPECT_EQ(clock_.Now() - start, std::chrono::seconds(10));
  EXPECT_LT(clock_.sleeps.size(), 20u);
  ASSERT_TRUE(solver->CleanUp({Task("example.com", false, "a.b")}).ok());
  EXPECT_EQ(provider_->calls.back(), "cleanup _acme-challenge.example.com. " + Dns01TxtValue("a.b"));
}

TEST_F(Dns01SolverTest, CleanUpAlsoUndoesAPresentThatFailedHalfWay) {
  auto solver = MakeSolver(true);
  provider_->fail_present_at = 2;
  std::vector<ChallengeTask> tasks = {Task("a.example.com", false, "1.1"),
                                      Task("b.example.com", false, "2.2"),
                                      Task("c.example.com", false, "3.3")};
  Status s = solver->Present(tasks);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("provider down"), std::string::npos);
  ASSERT_TRUE(solver->CleanUp(tasks).ok());
  EXPECT_EQ(provider_->calls, (std::vector<std::string>{
                                  "present _acme-challenge.a.example.com. " + Dns01TxtValue("1.1"),
                                  "present _acme-challenge.b.example.com. " + Dns01TxtValue("2.2"),
                                  "cleanup _acme-challenge.a.example.com. " + Dns01TxtValue("1.1"),
                                  "cleanup _acme-challenge.b.example.com. " + Dns01TxtValue("2.2"),
                              }));
}

struct BadConfigCase {
  const char* name;
  Dns01Config config;
  const char* expected;  // must appear in the error message
};

TEST(MakeDns01SolverTest, RejectsBadConfigurationNamingTheKey) {
  const BadConfigCase cases[] = {
      {"unknown_provider", {"carrier-pigeon", "", std::chrono::seconds(5), {}, {}}, "carrier-pigeon"},
      {"unknown_key", {"challtestsrv", "", std::chrono::seconds(5), {{"uri", "x"}}, {}}, "uri"},
      {"bad_url", {"challtestsrv", "", std::chrono::seconds(5), {{"url", "https://x"}}, {}}, "url"},
      {"exec_without_command", {"exec", "", std::chrono::seconds(5), {}, {}}, "command"},
      {"command_for_rfc2136",
       {"rfc2136", "", std::chrono::seconds(5), {{"nameserver", "127.0.0.1"}}, {"/bin/true"}},
       "command"},
      {"rfc2136_without_nameserver", {"rfc2136", "", std::chrono::seconds(5), {}, {}}, "nameserver"},
      {"rfc2136_host_name",
       {"rfc2136", "", std::chrono::seconds(5), {{"nameserver", "ns.example.com"}}, {}}, "nameserver"},
      {"rfc2136_missing_secret_file",
       {"rfc2136", "", std::chrono::seconds(5),
        {{"nameserver", "127.0.0.1:53"}, {"tsig_key_name", "k"}, {"tsig_secret_file", "/nonexistent/key"}},
        {}},
       "does not exist"},
      {"rfc2136_key_without_file",
       {"rfc2136", "", std::chrono::seconds(5), {{"nameserver", "127.0.0.1:53"}, {"tsig_key_name", "k"}}, {}},
       "tsig_secret_file"},
      {"bad_timeout", {"exec", "", std::chrono::seconds(5), {{"timeout", "soon"}}, {"/bin/true"}}, "timeout"},
      {"bad_resolver", {"challtestsrv", "10.0.0.1:99999", std::chrono::seconds(5), {}, {}}, "resolver"},
      {"zero_propagation_timeout", {"challtestsrv", "", Duration::zero(), {}, {}}, "propagation_timeout"},
      {"plugin_without_library", {"plugin", "", std::chrono::seconds(5), {}, {}}, "library"},
      {"plugin_relative_path", {"plugin", "", std::chrono::seconds(5), {{"library", "x.so"}}, {}}, "absolute"},
  };
  for (const BadConfigCase& c : cases) {
    Result<std::unique_ptr<Solver>> solver = MakeDns01Solver(c.config);
    ASSERT_FALSE(solver.ok()) << c.name;
    std::string text = solver.status().ToString() + " " + solver.status().hint();
    EXPECT_NE(text.find(c.expected), std::string::npos) << c.name << ": " << text;
  }
}

TEST(MakeDns01SolverTest, AcceptsAValidConfiguration) {
  Dns01Config c{"challtestsrv", "127.0.0.1:8053", std::chrono::seconds(30),
                {{"url", "http://127.0.0.1:8055"}}, {}};
  Result<std::unique_ptr<Solver>> solver = MakeDns01Solver(c);
  ASSERT_TRUE(solver.ok()) << solver.status().ToString();
  EXPECT_EQ((*solver)->type(), kDns01);
}

TEST_F(Dns01SolverTest, IpIdentifierIsRefusedBeforeTheProviderIsCalled) {
  auto solver = MakeSolver(true);
  for (const char* ip : {"127.0.0.1", "2001:db8::1"}) {
    std::vector<ChallengeTask> tasks = {Task("example.com", false, "a.b"),
                                        Task(ip, false, "c.d")};
    for (Status s : {solver->SelfCheck(tasks), solver->Present(tasks)}) {
      ASSERT_FALSE(s.ok()) << ip;
      EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(s.message().find("dns-01 cannot validate an IP address (RFC 8738 §7); use "
                                 "http-01 or tls-alpn-01"),
                std::string::npos)
          << s.ToString();
      EXPECT_NE(s.ToString().find(ip), std::string::npos) << s.ToString();
    }
  }
  EXPECT_TRUE(provider_->calls.empty());
  EXPECT_TRUE(dns_->txt_queries.empty());
}

}  // namespace
}  // namespace certkeeper::challenges
