// The fixture the end-to-end tests of one real DNS server share (BIND in
// dns_bind_test, PowerDNS in dns_powerdns_test): one test environment per
// suite with that server, which must be among the environment's recorded
// processes and, with every other one, gone once the environment is stopped;
// the TXT values the server itself answers for a name; and the checks of a
// certificate issued through it with DNS-01.
#ifndef CERTKEEPER_TESTS_E2E_DNS_SERVER_SUITE_H_
#define CERTKEEPER_TESTS_E2E_DNS_SERVER_SUITE_H_

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "challenges/dns_client.h"
#include "challenges/dns_lookup.h"
#include "tests/e2e/failover_session.h"
#include "tests/support/testenv.h"

namespace certkeeper::failover {

// A derived fixture's SetUpTestSuite calls StartEnv with the options that add
// its server and the name the server's process is recorded under.
class DnsServerSuite : public ::testing::Test {
 protected:
  static void StartEnv(const testing::TestEnvOptions& options, const std::string& process) {
    server_process_ = process;
    env_ = TestEnv::Start(options).release();
  }
  static void TearDownTestSuite() {
    if (env_ == nullptr) return;
    std::vector<testing::RecordedProcess> processes = env_->RecordedProcesses();
    bool recorded = false;
    for (const auto& p : processes) recorded = recorded || p.name == server_process_;
    EXPECT_TRUE(recorded) << server_process_ << " was not recorded";
    delete env_;
    env_ = nullptr;
    for (const auto& p : processes) EXPECT_FALSE(testing::IsRunning(p)) << p.name << " " << p.pid;
  }
  void SetUp() override { ASSERT_NE(env_, nullptr); }

  // TXT values at name as the server at `server` (HOST:PORT) answers them
  // itself (no recursion asked). A failed lookup fails the test and returns a
  // placeholder value, so that no expectation of an empty set passes.
  static std::set<std::string> TxtAt(const std::string& server, const std::string& name) {
    challenges::dns::NetDnsClient client;
    challenges::dns::DnsLookup lookup(&client, std::chrono::milliseconds(3000));
    auto address = challenges::dns::ParseServerAddress(server);
    EXPECT_TRUE(address.ok());
    if (!address.ok()) return {"<bad server>"};
    auto values = lookup.TxtValues(*address, name, false);
    EXPECT_TRUE(values.ok()) << values.status().ToString();
    if (!values.ok()) return {"<lookup failed>"};
    return {values->begin(), values->end()};
  }

  // NAME's live version is valid for domains (Session::ExpectValidLive), its
  // newest attempt succeeded and validated each domain once with dns-01.
  // Returns that attempt.
  static json ExpectIssuedWithDns01(Session& session, const std::string& name,
                                    const std::vector<std::string>& domains) {
    session.ExpectValidLive(name, domains);
    json attempt = session.LastAttempt(name);
    EXPECT_EQ(attempt["outcome"], "success") << attempt.dump(2);
    for (const std::string& d : domains) {
      EXPECT_EQ(Steps(attempt, "validation", "dns-01", d, "ok").size(), 1u) << d << attempt.dump(2);
    }
    return attempt;
  }

  static inline TestEnv* env_ = nullptr;
  static inline std::string server_process_;
};

}  // namespace certkeeper::failover

#endif  // CERTKEEPER_TESTS_E2E_DNS_SERVER_SUITE_H_
