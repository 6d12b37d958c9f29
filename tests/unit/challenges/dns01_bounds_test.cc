// A zone with many NS hosts must not make the DNS-01 propagation check query
// without bound or past its deadline: the NS set comes from DNS, which anyone
// who controls the zone (or spoofs an answer) chooses.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "base/clock.h"
#include "challenges/dns01_solver.h"
#include "challenges/dns_lookup.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges {
namespace {

using dns::Message;
using dns::ResourceRecord;
using std::chrono::milliseconds;

constexpr int kNsHosts = 50;

// example.com with 50 NS hosts and no glue. Each host has an A record, unless
// `silent` is set: then A, AAAA and TXT queries go unanswered, each taking the
// full query timeout on the clock.
class ManyNsDns : public dns::DnsClient {
 public:
  explicit ManyNsDns(FakeClock* clock) : clock_(clock) {}
  bool silent = false;
  int address_queries = 0;
  int txt_queries = 0;
  std::set<std::string> servers_asked;

  Result<std::string> Exchange(const dns::ServerAddress& server, std::string_view query,
                               milliseconds timeout) override {
    Message q = *dns::DecodeMessage(query);
    Message r;
    r.header = q.header;
    r.header.qr = true;
    r.questions = q.questions;
    const dns::Question& question = q.questions.at(0);
    const std::string zone = "example.com.";
    if (question.type == dns::kTypeSoa && question.name == zone) {
      ResourceRecord soa{zone, dns::kTypeSoa, dns::kClassIn, 60, "", 0};
      soa.rdata = *dns::EncodeName("ns0." + zone) + *dns::EncodeName("admin." + zone) +
                  std::string(20, '\0');
      r.answers.push_back(soa);
      return *dns::EncodeMessage(r);
    }
    if (question.type == dns::kTypeNs && question.name == zone) {
      for (int i = 0; i < kNsHosts; ++i) {
        r.answers.push_back({zone, dns::kTypeNs, dns::kClassIn, 60,
                             *dns::EncodeName("ns" + std::to_string(i) + "." + zone), 0});
      }
      return *dns::EncodeMessage(r);
    }
    if (question.type == dns::kTypeA || question.type == dns::kTypeAaaa) ++address_queries;
    if (question.type == dns::kTypeTxt) {
      ++txt_queries;
      servers_asked.insert(server.ToString());
    }
    const bool address_or_txt = question.type == dns::kTypeA ||
                                question.type == dns::kTypeAaaa ||
                                question.type == dns::kTypeTxt;
    if (silent && address_or_txt) {
      clock_->Advance(timeout);
      return Status(ErrorCode::kDeadlineExceeded, "no answer").Where(server.ToString());
    }
    if (question.type == dns::kTypeA) {
      // nsN.example.com. -> 192.0.2.N
      int n = std::stoi(question.name.substr(2, question.name.find('.') - 2));
      r.answers.push_back({question.name, dns::kTypeA, dns::kClassIn, 60,
                           std::string("\xc0\x00\x02", 3) + static_cast<char>(n), 0});
    }
    return *dns::EncodeMessage(r);
  }

 private:
  FakeClock* clock_;
};

TEST(Dns01BoundsTest, AuthoritativeServersOfAZoneWithManyNsHostsAreBounded) {
  FakeClock clock(TimePoint(std::chrono::seconds(1700000000)));
  ManyNsDns client(&clock);
  dns::DnsLookup lookup(&client, milliseconds(3000));
  Result<std::vector<dns::ServerAddress>> servers =
      lookup.AuthoritativeServers({"127.0.0.53", 53}, "example.com.");
  ASSERT_TRUE(servers.ok()) << servers.status().ToString();
  EXPECT_LE(servers->size(), dns::kMaxNsAddresses);
  EXPECT_GE(servers->size(), 1u);
  // Two address queries (A, AAAA) per NS host at most.
  EXPECT_LE(client.address_queries, 2 * static_cast<int>(dns::kMaxNsHosts));
}

class NullProvider : public DnsProvider {
 public:
  std::string name() const override { return "null"; }
  Status Present(std::string_view, std::string_view) override { return Status::Ok(); }
  Status CleanUp(std::string_view, std::string_view) override { return Status::Ok(); }
};

ChallengeTask Task() {
  ChallengeTask task;
  task.identifier = "www.example.com";
  task.token = "token";
  task.key_authorization = "token.thumbprint";
  return task;
}

// None of the 50 name servers answers: Present gives up by the propagation
// deadline, having asked a bounded number of them.
TEST(Dns01BoundsTest, SilentNameServersDoNotOutlastThePropagationDeadline) {
  FakeClock clock(TimePoint(std::chrono::seconds(1700000000)));
  auto client = std::make_shared<ManyNsDns>(&clock);
  Dns01Options options;
  options.resolver = std::nullopt;
  options.propagation_timeout = std::chrono::seconds(10);
  options.query_timeout = milliseconds(3000);
  // No resolv.conf: give the system resolver through a file of our own.
  options.resolv_conf = ::testing::TempDir() + "/dns01_bounds_resolv.conf";
  {
    FILE* f = fopen(options.resolv_conf.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs("nameserver 127.0.0.53\n", f);
    fclose(f);
  }
  Dns01Solver solver(std::make_unique<NullProvider>(), options, client, &clock);
  // The CNAME lookup happens before the deadline starts; answer it.
  ASSERT_TRUE(solver.SelfCheck({Task()}).ok());
  client->silent = true;
  TimePoint start = clock.Now();
  Status s = solver.Present({Task()});
  EXPECT_FALSE(s.ok());
  EXPECT_LE(clock.Now() - start, options.propagation_timeout)
      << "returned " << std::chrono::duration_cast<milliseconds>(clock.Now() - start).count()
      << " ms after the start; " << s.ToString();
  EXPECT_LE(client->address_queries, 2 * static_cast<int>(dns::kMaxNsHosts) + 2);
  EXPECT_LE(client->servers_asked.size(), dns::kMaxNsAddresses);
}

// Every server answers, without the record: each of at most 16 servers is
// polled, and the check ends at the deadline.
TEST(Dns01BoundsTest, PollingManyServersEndsAtTheDeadline) {
  FakeClock clock(TimePoint(std::chrono::seconds(1700000000)));
  auto client = std::make_shared<ManyNsDns>(&clock);
  Dns01Options options;
  options.propagation_timeout = std::chrono::seconds(10);
  options.resolv_conf = ::testing::TempDir() + "/dns01_bounds_resolv2.conf";
  {
    FILE* f = fopen(options.resolv_conf.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs("nameserver 127.0.0.53\n", f);
    fclose(f);
  }
  Dns01Solver solver(std::make_unique<NullProvider>(), options, client, &clock);
  TimePoint start = clock.Now();
  Status s = solver.Present({Task()});
  EXPECT_EQ(s.code(), ErrorCode::kDeadlineExceeded) << s.ToString();
  EXPECT_LE(clock.Now() - start, options.propagation_timeout);
  EXPECT_LE(client->servers_asked.size(), dns::kMaxNsAddresses);
  EXPECT_LE(client->address_queries, 2 * static_cast<int>(dns::kMaxNsHosts));
}

}  // namespace
}  // namespace certkeeper::challenges
