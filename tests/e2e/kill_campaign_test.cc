// The kill -9 campaign: certkeeper is killed with SIGKILL at seeded random
// points while it issues new certificates, renews six with `--jobs 4`, and
// deploys into a real nginx (files target, reload, TLS verify); after every
// kill the same command runs again and must converge: exit 0, the inventory's
// live version is the one in live/, nginx serves it, the run lock is free, no
// temporary file is left to pile up and every recorded version has complete
// files.
//
// The seed is printed; CERTKEEPER_KILL_SEED=N replays a campaign (the plan of
// phases and kill points is drawn before anything runs, as fractions of the
// measured length of a normal run). CERTKEEPER_KILL_ITERATIONS=N changes the
// number of kills (default 52: 12 renewing, 20 deploying, 20 issuing; a
// renewal run is the slow one); CERTKEEPER_KILL_KEEP_GOING=1 goes on after a
// failed iteration instead of stopping at the first (a temporary file left
// behind is then reported once and removed).
#include <sys/file.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/fs.h"
#include "base/process.h"
#include "store/sql_inventory.h"
#include "tests/e2e/deploy_support.h"
#include "tests/e2e/e2e_support.h"
#include "tests/e2e/kill_campaign_support.h"
#include "tests/support/testenv.h"

namespace certkeeper::kill_campaign {
namespace {

using deploy_support::Read;
using deploy_support::Toml;
using nlohmann::json;
using testing::CommandResult;

enum class Phase { kRenew, kDeploy, kIssue };
const char* PhaseName(Phase p) {
  return p == Phase::kRenew ? "renew" : p == Phase::kDeploy ? "deploy" : "issue";
}

// One planned kill: drawn from the seed before the campaign starts.
struct Planned {
  Phase phase;
  KillPoint::Mode mode;
  double fraction;
};

// How many of the kills each phase gets: renewal runs take five times as long
// as the others, so they get fewer.
int RenewKills(int iterations) { return iterations * 3 / 13; }
int DeployKills(int iterations) { return (iterations - RenewKills(iterations)) / 2; }
int IssueKills(int iterations) {
  return iterations - RenewKills(iterations) - DeployKills(iterations);
}

// The phases in order; in each, about half of the kills at a delay and half at
// a stderr line (lines land on steps, delays also between them).
std::vector<Planned> MakePlan(uint64_t seed, int iterations) {
  SeededRandom random(seed);
  std::vector<Planned> plan;
  for (int i = 0; i < iterations; ++i) {
    Phase phase = i < RenewKills(iterations)                          ? Phase::kRenew
                  : i < RenewKills(iterations) + DeployKills(iterations) ? Phase::kDeploy
                                                                        : Phase::kIssue;
    KillPoint::Mode mode =
        random.Next() % 2 ? KillPoint::Mode::kLine : KillPoint::Mode::kDelay;
    plan.push_back({phase, mode, random.Fraction()});
  }
  return plan;
}

int EnvInt(const char* name, int fallback) {
  const char* v = getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

int FailedParts() {
  const ::testing::TestResult* r =
      ::testing::UnitTest::GetInstance()->current_test_info()->result();
  int failed = 0;
  for (int i = 0; i < r->total_part_count(); ++i) failed += r->GetTestPartResult(i).failed();
  return failed;
}

constexpr int kRenewCertificates = 6;
constexpr const char* kDomainSuffix = ".kill.test";

class KillCampaignTest : public e2e_support::CertkeeperSuite {
 protected:
  static void SetUpTestSuite() { StartEnv(WithNginx()); }

  void AddNginxSites(const std::vector<std::string>& names) {
    CertkeeperSuite::AddNginxSites(names, kDomainSuffix);
  }

  // A files target per name into its nginx directory, with reload and verify;
  // the first kRenewCertificates names are configured certificates.
  void WriteConfig(const std::vector<std::string>& names) {
    std::ostringstream f;
    f << NginxWebrootConfigHead()
      << "[renewal.budgets]\nnew_orders_per_3h = 0\n"
      << "certificates_per_registered_domain_per_week = 0\n"
      << "duplicate_certificates_per_week = 0\n";
    for (size_t i = 0; i < names.size(); ++i) {
      f << "[[deploy]]\nname = " << Toml("nginx-" + names[i]) << "\ntype = \"files\"\n"
        << "directory = " << Toml(SiteDir(names[i])) << "\n"
        << "files = { fullchain = \"fullchain.pem\", key = \"privkey.pem\" }\nmode = \"0600\"\n"
        << "reload = " << Toml(deploy_support::SplitOnSpaces(env_->Get("NGINX_RELOAD"))) << "\n"
        << "verify = [\"127.0.0.1:" << nginx_port_ << "\"]\nverify_timeout = \"5s\"\n";
      if (i < kRenewCertificates) {
        f << "[[certificate]]\nname = " << Toml(names[i]) << "\n"
          << "domains = [" << Toml(names[i] + kDomainSuffix) << "]\n"
          << "challenges = [\"http-01\"]\ndeploy = [" << Toml("nginx-" + names[i]) << "]\n";
      }
    }
    deploy_support::Write(config_, f.str());
  }

  std::vector<std::string> Command(Phase phase, const std::string& name) {
    std::vector<std::string> argv = {CERTKEEPER_BINARY, "-c", config_};
    switch (phase) {
      case Phase::kRenew:
        argv.insert(argv.end(), {"renew", "--all", "--force", "--jobs", "4"});
        break;
      case Phase::kDeploy:
        argv.insert(argv.end(), {"deploy", name});
        break;
      case Phase::kIssue:
        argv.insert(argv.end(), {"issue", name, "-d", name + kDomainSuffix, "--challenge",
                                 "http-01", "--deploy", "nginx-" + name});
        break;
    }
    return argv;
  }

  CommandResult Run(const std::vector<std::string>& argv) {
    return testing::RunCertkeeper({argv.begin() + 1, argv.end()}, {}, std::chrono::seconds(60));
  }

  // nginx serves `serial` for NAME.kill.test on a fresh connection within 10 s
  // (after a reload, old workers may answer a few more with the old one).
  bool NginxServes(const std::string& name, const std::string& serial) {
    return PollUntil(
        [&] { return deploy_support::ServedSerial(nginx_port_, name + kDomainSuffix) == serial; },
        milliseconds(10000));
  }

  // Files whose names say they were being written when a process died
  // (fs::WriteFileAtomic and fs::ReplaceSymlink use NAME.tmp-RANDOM): nothing
  // ever removes them, so each kill would leave one more.
  void ExpectNoTempFiles(const std::string& root) {
    std::error_code ec;
    std::vector<std::filesystem::path> found;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename().string().find(".tmp-") != std::string::npos) {
        found.push_back(it->path());
      }
    }
    for (const auto& path : found) {
      ADD_FAILURE() << "left behind by the killed run: " << path;
      if (keep_going_) std::filesystem::remove(path, ec);
    }
  }

  // Everything the campaign promises after a run that was not killed.
  void ExpectConverged(const std::set<std::string>& names) {
    CommandResult list = Run({"", "-c", config_, "--json", "list"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    json listed = json::parse(list.out, nullptr, false);
    ASSERT_TRUE(listed.is_array()) << list.out;
    std::map<std::string, json> by_name;
    for (const json& c : listed) by_name[c["name"].get<std::string>()] = c;
    ASSERT_EQ(by_name.size(), names.size()) << list.out;

    auto inventory = store::SqlInventory::Open(store::InventoryPath(state_));
    ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
    for (const std::string& name : names) {
      SCOPED_TRACE("certificate " + name);
      ASSERT_TRUE(by_name.count(name)) << list.out;
      const json& c = by_name[name];
      ASSERT_TRUE(c["version"].is_number()) << c.dump();
      const int live_n = c["version"].get<int>();
      EXPECT_EQ(c["status"], "valid") << c.dump();

      // Every recorded version has its complete files.
      auto versions = (*inventory)->ListVersions(name);
      ASSERT_TRUE(versions.ok()) << versions.status().ToString();
      for (const store::Version& v : *versions) {
        SCOPED_TRACE("version " + std::to_string(v.n) + " (" +
                     std::string(store::VersionStateName(v.state)) + ")");
        std::string cert = Read(v.directory + "/cert.pem");
        auto info = ParseCertificatePem(cert);
        ASSERT_TRUE(info.ok()) << v.directory << ": " << info.status().ToString();
        EXPECT_EQ(info->serial_hex, v.serial);
        auto key = PrivateKey::FromPem(Read(v.directory + "/privkey.pem"));
        ASSERT_TRUE(key.ok()) << v.directory;
        EXPECT_TRUE(KeyMatchesCertificate(*key, cert).ok()) << v.directory;
        EXPECT_FALSE(Read(v.directory + "/chain.pem").empty());
        EXPECT_EQ(Read(v.directory + "/fullchain.pem"), cert + Read(v.directory + "/chain.pem"));
      }
      auto live = (*inventory)->LiveVersion(name);
      ASSERT_TRUE(live.ok()) << live.status().ToString();
      EXPECT_EQ(live->n, live_n);

      // live/<name> is that version, and its key belongs to its certificate.
      std::error_code ec;
      auto target = std::filesystem::read_symlink(state_ + "/live/" + name, ec);
      EXPECT_EQ(target.string(), "../archive/" + name + "/" + std::to_string(live_n))
          << "inventory says version " << live_n << ", live/ points elsewhere";
      std::string live_dir = state_ + "/live/" + name;
      std::string live_cert = Read(live_dir + "/cert.pem");
      auto live_info = ParseCertificatePem(live_cert);
      ASSERT_TRUE(live_info.ok()) << live_dir;
      EXPECT_EQ(live_info->serial_hex, c["serial"].get<std::string>())
          << "the certificate in live/ is not the one `list` shows";
      auto live_key = PrivateKey::FromPem(Read(live_dir + "/privkey.pem"));
      ASSERT_TRUE(live_key.ok()) << live_dir;
      EXPECT_TRUE(KeyMatchesCertificate(*live_key, live_cert).ok()) << live_dir;

      // nginx has the live files, nothing else piles up there, and serves them.
      std::string site = SiteDir(name);
      EXPECT_EQ(Read(site + "/fullchain.pem"), Read(live_dir + "/fullchain.pem")) << site;
      EXPECT_EQ(Read(site + "/privkey.pem"), Read(live_dir + "/privkey.pem")) << site;
      ExpectNoTempFiles(site);
      EXPECT_TRUE(NginxServes(name, c["serial"].get<std::string>()))
          << "nginx does not serve " << c["serial"] << " for " << name << kDomainSuffix
          << " (serves " << deploy_support::ServedSerial(nginx_port_, name + kDomainSuffix)
          << ")";
    }
    // No attempt is left running by the killed run.
    auto attempts = (*inventory)->LatestAttempts();
    ASSERT_TRUE(attempts.ok()) << attempts.status().ToString();
    for (const auto& [name, a] : *attempts) {
      EXPECT_NE(a.outcome, store::AttemptOutcome::kRunning)
          << name << ": attempt " << a.id << " still running";
    }
    inventory->reset();
    ExpectNoTempFiles(state_);
    // The run lock is free: nothing the killed run started still holds it.
    int fd = open((state_ + "/certkeeper.lock").c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0) << "the run lock is still held";
    close(fd);
  }

  bool keep_going_ = EnvInt("CERTKEEPER_KILL_KEEP_GOING", 0) != 0;
};

// With --jobs, certificates are issued concurrently but delivered one at a
// time: deploy targets of different certificates often share a server (one
// nginx, one reload), and a reload while another certificate's new pair is
// half written fails on that certificate's mismatched key. Each hook below
// holds a marker directory while it runs, for as long as a reload takes; a
// second hook that finds the marker records the overlap and fails.
TEST_F(KillCampaignTest, ConcurrentRenewalsDeliverOneCertificateAtATime) {
  const std::string hook = dir_.path() + "/deliver";
  deploy_support::Write(hook,
                        "#!/bin/sh\n"
                        "if ! mkdir \"$1/busy\" 2>/dev/null; then\n"
                        "  echo \"$CERTKEEPER_NAME\" >> \"$1/overlaps\"; exit 1\n"
                        "fi\n"
                        "echo \"$CERTKEEPER_NAME\" >> \"$1/delivered\"\n"
                        "sleep 0.3  # the work of a reload\n"
                        "rmdir \"$1/busy\"\n",
                        0700);
  std::ostringstream f;
  f << NginxWebrootConfigHead()
    << "[[deploy]]\nname = \"deliver\"\ntype = \"command\"\n"
    << "command = " << Toml(std::vector<std::string>{hook, dir_.path()}) << "\n";
  std::vector<std::string> names = {"p0", "p1", "p2", "p3"};
  for (const std::string& name : names) {
    f << "[[certificate]]\nname = " << Toml(name) << "\n"
      << "domains = [" << Toml(name + kDomainSuffix) << "]\n"
      << "challenges = [\"http-01\"]\ndeploy = [\"deliver\"]\n";
  }
  deploy_support::Write(config_, f.str());

  CommandResult r = Run({"", "-c", config_, "renew", "--all", "--jobs", "4"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(fs::Exists(dir_.path() + "/overlaps")) << Read(dir_.path() + "/overlaps");
  std::string delivered = Read(dir_.path() + "/delivered");
  EXPECT_EQ(std::count(delivered.begin(), delivered.end(), '\n'), 4) << delivered;
  for (const std::string& name : names) {
    EXPECT_NE(delivered.find(name), std::string::npos) << delivered;
    EXPECT_TRUE(fs::Exists(state_ + "/live/" + name + "/cert.pem")) << name;
  }
}

// The campaign itself: see the comment at the top of the file.
TEST_F(KillCampaignTest, EveryKillPointConvergesOnTheNextRun) {
  const auto campaign_start = Clock::now();
  uint64_t seed = std::random_device{}();
  if (const char* s = getenv("CERTKEEPER_KILL_SEED"); s && *s) seed = std::strtoull(s, nullptr, 10);
  const int iterations = std::max(3, EnvInt("CERTKEEPER_KILL_ITERATIONS", 52));
  RecordProperty("seed", std::to_string(seed));
  std::cout << "kill campaign: seed " << seed << " (replay with CERTKEEPER_KILL_SEED=" << seed
            << "), " << iterations << " kills" << std::endl;
  const std::vector<Planned> plan = MakePlan(seed, iterations);

  std::vector<std::string> names;
  for (int i = 0; i < kRenewCertificates; ++i) names.push_back("r" + std::to_string(i));
  const int issues = IssueKills(iterations) + 1;  // + the measured run
  for (int i = 0; i < issues; ++i) names.push_back((i < 10 ? "i0" : "i") + std::to_string(i));
  AddNginxSites(names);
  WriteConfig(names);
  std::set<std::string> managed(names.begin(), names.begin() + kRenewCertificates);
  {
    CommandResult first = Run(Command(Phase::kRenew, ""));
    ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
    ExpectConverged(managed);
    ASSERT_FALSE(HasFailure());
  }

  int next_issue = 0, next_deploy = 0, killed = 0, orphans = 0;
  std::map<Phase, milliseconds> phase_time;
  std::optional<Phase> measured;
  milliseconds normal{0};
  int normal_lines = 0;
  for (int i = 0; i < iterations; ++i) {
    const Planned& p = plan[i];
    auto phase_start = Clock::now();
    auto target = [&]() -> std::string {
      if (p.phase == Phase::kDeploy) return names[next_deploy++ % kRenewCertificates];
      if (p.phase == Phase::kIssue) return names[kRenewCertificates + next_issue++];
      return "";
    };
    if (measured != p.phase) {
      // A normal run of this phase's command: how long it works, how much it says.
      std::vector<std::string> argv = Command(p.phase, target());
      if (p.phase == Phase::kIssue) managed.insert(argv[4]);
      auto start = Clock::now();
      CommandResult r = Run(argv);
      normal = Since(start);
      normal_lines = static_cast<int>(std::count(r.err.begin(), r.err.end(), '\n'));
      ASSERT_EQ(r.exit_code, 0) << PhaseName(p.phase) << ": " << r.out << r.err;
      std::cout << "kill campaign: a normal " << PhaseName(p.phase) << " run takes "
                << normal.count() << " ms and writes " << normal_lines << " stderr lines"
                << std::endl;
      ExpectConverged(managed);
      if (!keep_going_) {
        ASSERT_FALSE(HasFailure());
      }
      measured = p.phase;
    }
    KillPoint point;
    point.mode = normal_lines > 0 ? p.mode : KillPoint::Mode::kDelay;
    point.fraction = p.fraction;
    point.delay = milliseconds(static_cast<int64_t>(p.fraction * normal.count()));
    point.line = 1 + static_cast<int>(p.fraction * normal_lines);
    const std::vector<std::string> argv = Command(p.phase, target());
    if (p.phase == Phase::kIssue) managed.insert(argv[4]);
    const std::string where = "seed " + std::to_string(seed) + ", iteration " +
                              std::to_string(i + 1) + "/" + std::to_string(iterations) +
                              ", phase " + PhaseName(p.phase) +
                              (argv.size() > 4 && p.phase != Phase::kRenew ? " " + argv[4] : "") +
                              ", kill at " + point.Describe();
    SCOPED_TRACE(where);
    const int failed_before = FailedParts();

    KilledRun k = RunAndKill(argv, point, milliseconds(60000));
    killed += k.killed;
    orphans += static_cast<int>(k.orphans.size());
    EXPECT_FALSE(k.overran) << "still running after 60 s:\n" << k.err;
    EXPECT_EQ(k.orphans_stopped, 0) << "children of the killed run still ran after 10 s";
    if (!k.killed) {
      EXPECT_EQ(k.exit_code, 0) << "exited before the kill point:\n" << k.err;
    }

    auto start = Clock::now();
    CommandResult again = Run(argv);
    milliseconds took = Since(start);
    EXPECT_NE(again.exit_code, 3) << "the killed run's lock is still held:\n" << again.err;
    EXPECT_EQ(again.exit_code, 0) << "the run after the kill does not converge:\n"
                                  << again.out << again.err << "\nkilled run's stderr:\n"
                                  << k.err;
    auto checks_start = Clock::now();
    if (again.exit_code == 0) ExpectConverged(managed);
    milliseconds checks = Since(checks_start);
    phase_time[p.phase] += Since(phase_start);
    std::cout << "kill campaign: " << where << ": "
              << (k.killed ? "killed after " : "exited by itself after ") << k.at.count()
              << " ms, " << k.lines << " lines, " << k.orphans.size()
              << " orphans; next run " << took.count() << " ms, checks " << checks.count()
              << " ms"
              << (FailedParts() > failed_before ? ": FAILED" : "") << std::endl;
    if (FailedParts() > failed_before && !keep_going_) break;
  }
  size_t tokens = ListDir(env_->Get("NGINX_WEBROOT") + "/.well-known/acme-challenge").size();
  std::cout << "kill campaign: seed " << seed << ", " << killed << " of " << iterations
            << " runs killed while working, " << orphans << " children orphaned, " << tokens
            << " http-01 token files left in the webroot; renew phase "
            << phase_time[Phase::kRenew].count() << " ms, deploy phase "
            << phase_time[Phase::kDeploy].count() << " ms, issue phase "
            << phase_time[Phase::kIssue].count() << " ms, total "
            << Since(campaign_start).count() << " ms" << std::endl;
}

}  // namespace
}  // namespace certkeeper::kill_campaign
