// `renew --all` over an inventory of 20 managed certificates, as a timer runs
// it: the first run issues all of them concurrently, later runs renew exactly
// the certificates whose config changed, --dry-run reports without a single
// request, two runs at once are refused by the lock, and `import` + `check`
// audit what is on disk. Every request goes through the fault proxy so that the
// tests can count what reached the CA.
#include <filesystem>
#include <set>

#include "base/crypto.h"
#include "tests/e2e/renew_support.h"

namespace certkeeper::renew_test {
namespace {

class RenewInventoryTest : public RenewSession {
 protected:
  std::string Live(const std::string& name, const std::string& file) {
    return state_ + "/live/" + name + "/" + file;
  }
};


// Four jobs at once take no more certificates from a budget than it allows:
// the count and the reservation of each order happen under one lock.
TEST_F(RenewInventoryTest, JobsNeverOvershootABudget) {
  std::vector<Managed> certs = ManyCertificates(8);
  std::string text = MakeConfig(*env_, state_, proxy_->url(), certs);
  const std::string unlimited = "certificates_per_registered_domain_per_week = 0";
  ASSERT_NE(text.find(unlimited), std::string::npos);
  text.replace(text.find(unlimited), unlimited.size(),
               "certificates_per_registered_domain_per_week = 3");
  WriteText(config_, text);

  CommandResult r = Run({"--json", "renew", "--all", "--jobs", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::map<std::string, int> by_outcome;
  for (const auto& [name, outcome] : Outcomes(r.out)) by_outcome[outcome]++;
  EXPECT_EQ(by_outcome["issued"], 3) << r.out;
  EXPECT_EQ(by_outcome["deferred"], 5) << r.out;
  EXPECT_EQ(proxy_->Count("POST", "newOrder"), 3);
}

TEST_F(RenewInventoryTest, RenewsExactlyTheCertificatesThatBecameDue) {
  std::vector<Managed> certs = ManyCertificates(20);
  Configure(certs);

  // First timer run: nothing issued yet, so all 20 are due; 4 at a time.
  CommandResult first = Run({"--json", "renew", "--all", "--jobs", "4"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  auto outcomes = Outcomes(first.out);
  ASSERT_EQ(outcomes.size(), 20u) << first.out;
  for (const auto& [name, outcome] : outcomes) EXPECT_EQ(outcome, "issued") << name;
  EXPECT_EQ(proxy_->Count("POST", "newOrder"), 20);
  for (const Managed& c : certs) {
    auto cert = fs::ReadFile(Live(c.name, "cert.pem"));
    ASSERT_TRUE(cert.ok()) << c.name;
    auto info = ParseCertificatePem(*cert);
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(CertificateCovers(*info, c.domains[0]));
  }

  // Nothing is due: the run sends no request at all.
  proxy_->ResetLog();
  CommandResult idle = Run({"--json", "renew", "--all"});
  ASSERT_EQ(idle.exit_code, 0) << idle.out << idle.err;
  for (const auto& [name, outcome] : Outcomes(idle.out)) EXPECT_EQ(outcome, "not-due") << name;
  EXPECT_TRUE(proxy_->Requests().empty()) << proxy_->Requests().size() << " requests";

  // Five certificates get another name, one another key type: those six are due.
  std::set<std::string> changed;
  for (int i = 0; i < 5; ++i) {
    certs[i].domains.push_back("www." + certs[i].domains[0]);
    changed.insert(certs[i].name);
  }
  certs[5].key_type = "rsa2048";
  changed.insert(certs[5].name);
  Configure(certs);

  // --dry-run names them with a reason and touches nothing, not even the CA.
  proxy_->ResetLog();
  CommandResult dry = Run({"--json", "renew", "--all", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  json dry_report = json::parse(dry.out, nullptr, false);
  ASSERT_TRUE(dry_report.is_array()) << dry.out;
  ASSERT_EQ(dry_report.size(), 20u);
  for (const json& o : dry_report) {
    std::string name = o["name"];
    if (changed.count(name)) {
      EXPECT_EQ(o["outcome"], "would-renew") << name;
      EXPECT_FALSE(o["reason"].get<std::string>().empty()) << name;
    } else {
      EXPECT_EQ(o["outcome"], "not-due") << name;
    }
  }
  EXPECT_TRUE(proxy_->Requests().empty()) << proxy_->Requests().size() << " requests";
  EXPECT_FALSE(fs::Exists(state_ + "/archive/c00/2"));

  // The real run renews exactly those six, concurrently, and nothing else.
  proxy_->ResetLog();
  CommandResult renew = Run({"--json", "renew", "--all", "--jobs", "4"});
  ASSERT_EQ(renew.exit_code, 0) << renew.out << renew.err;
  for (const auto& [name, outcome] : Outcomes(renew.out)) {
    EXPECT_EQ(outcome, changed.count(name) ? "renewed" : "not-due") << name;
  }
  EXPECT_EQ(proxy_->Count("POST", "newOrder"), 6);
  for (int i = 0; i < 5; ++i) {
    auto info = ParseCertificatePem(*fs::ReadFile(Live(certs[i].name, "cert.pem")));
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(CertificateCovers(*info, "www." + certs[i].domains[0])) << certs[i].name;
  }
  auto rsa = PrivateKey::FromPem(*fs::ReadFile(Live("c05", "privkey.pem")));
  ASSERT_TRUE(rsa.ok());
  EXPECT_EQ(rsa->type(), KeyType::kRsa2048);
  EXPECT_FALSE(fs::Exists(state_ + "/archive/c06/2"));

  // The audit passes on the result.
  CommandResult check = Run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(RenewInventoryTest, SecondConcurrentRunIsRefusedWithExitCode3) {
  std::vector<Managed> certs = ManyCertificates(1);
  Configure(certs);
  // The first run stalls at finalize while holding the run lock.
  proxy_->SetFaults("finalize stall\n");
  Child first({CERTKEEPER_BINARY, "-c", config_, "renew", "--all"}, dir_.path() + "/first.out");
  ASSERT_TRUE(WaitFor([&] { return proxy_->Count("POST", "finalize") > 0; }))
      << ReadText(dir_.path() + "/first.out");

  CommandResult second = Run({"renew", "--all"});
  EXPECT_EQ(second.exit_code, 3) << second.out << second.err;
  EXPECT_NE(second.err.find("lock"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("another"), std::string::npos) << second.err;

  // Released, the first run completes normally.
  proxy_->SetFaults("");
  int status = first.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadText(dir_.path() + "/first.out");
  EXPECT_TRUE(fs::Exists(Live("c00", "fullchain.pem")));
}

TEST_F(RenewInventoryTest, ImportThenCheckFindsEveryTamperedCertificate) {
  // Issue three certificates in one state directory...
  std::vector<Managed> certs = ManyCertificates(3);
  Configure(certs);
  CommandResult issued = Run({"renew", "--all"});
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  std::string source = state_ + "/live";

  // ...and import them into another that manages nothing yet.
  state_ = dir_.path() + "/imported";
  Configure({});
  CommandResult imported = Run({"--json", "import", source + "/c00", source + "/c01", source + "/c02"});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  json names = json::parse(imported.out, nullptr, false);
  EXPECT_EQ(names["imported"], json::array({"c00", "c01", "c02"})) << imported.out;
  CommandResult clean = Run({"--json", "check"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_EQ(json::parse(clean.out, nullptr, false), json::array()) << clean.out;
  json list = json::parse(Run({"--json", "list"}).out, nullptr, false);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["status"], "valid");

  // A key that does not belong to the certificate is refused at import.
  std::string mixed = dir_.path() + "/mixed";
  std::filesystem::create_directories(mixed);
  std::filesystem::copy_file(source + "/c00/fullchain.pem", mixed + "/fullchain.pem");
  std::filesystem::copy_file(source + "/c01/privkey.pem", mixed + "/privkey.pem");
  CommandResult refused = Run({"import", mixed});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.err.find("match"), std::string::npos) << refused.err;

  // Tamper: c00's key replaced, c01's chain replaced by a foreign certificate.
  std::string c00 = state_ + "/archive/c00/1";
  std::string c01 = state_ + "/archive/c01/1";
  ASSERT_TRUE(fs::Exists(c00 + "/privkey.pem"));
  ASSERT_TRUE(fs::WritePrivateFile(c00 + "/privkey.pem", *fs::ReadFile(source + "/c02/privkey.pem")).ok());
  ASSERT_TRUE(fs::WritePrivateFile(c01 + "/chain.pem", *fs::ReadFile(source + "/c02/cert.pem")).ok());
  CommandResult audit = Run({"--json", "check"});
  EXPECT_EQ(audit.exit_code, 2) << audit.out << audit.err;
  json findings = json::parse(audit.out, nullptr, false);
  ASSERT_TRUE(findings.is_array()) << audit.out;
  std::map<std::string, std::string> by_name;
  for (const json& f : findings) by_name[f["name"]] += f["message"].get<std::string>() + "; ";
  EXPECT_NE(by_name["c00"].find("key does not match"), std::string::npos) << audit.out;
  EXPECT_FALSE(by_name["c01"].empty()) << audit.out;
  EXPECT_EQ(by_name.count("c02"), 0u) << audit.out;
}

}  // namespace
}  // namespace certkeeper::renew_test
