// A read the disk refuses is an error, never "not there": with every kind of
// record present, a read that hits an I/O error (injected through the
// inventory's SQLite VFS, store/internal/fault_vfs.h) fails with kIo naming
// the database, not kNotFound, an empty list, nullopt or a count of 0.
#include <errno.h>
#include <string.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/fault_injection.h"
#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::hours;

constexpr const char* kReadFaultsServer = "https://ca/dir";
constexpr const char* kAccount = "https://ca/acct/1";

// A read's status and, when it succeeded, what it returned.
struct Seen {
  Status status;
  std::string what;
};

struct ReadFaultRow {
  const char* name;
  std::function<Seen(Inventory&)> read;
};

void PrintTo(const ReadFaultRow& row, std::ostream* os) { *os << row.name; }

// What a read returned, for the failure message of a read that should have
// failed.
template <typename T>
std::string Describe(const T&) {
  return "a record";
}
template <typename T>
std::string Describe(const std::vector<T>& list) {
  return std::to_string(list.size()) + " records";
}
template <typename K, typename V>
std::string Describe(const std::map<K, V>& map) {
  return std::to_string(map.size()) + " records";
}
template <typename T>
std::string Describe(const std::optional<T>& found) {
  return found ? "a record" : "nothing";
}
std::string Describe(int64_t count) { return "the number " + std::to_string(count); }
std::string Describe(int count) { return "the number " + std::to_string(count); }
std::string Describe(const RequestWindow& window) {
  return std::to_string(window.count) + " requests";
}

template <typename T>
Seen Outcome(const Result<T>& result) {
  return Seen{result.status(), result.ok() ? Describe(*result) : ""};
}

class ReadFaultTest : public ::testing::TestWithParam<ReadFaultRow> {
 protected:
  void SetUp() override {
    // Armed (with a plan that never fires) before the inventory opens, so the
    // connection uses the fault VFS, as certkeeper does with CERTKEEPER_FAULT.
    fs::ArmFault({fs::FaultOp::kWrite, 1, ENOSPC, "no such path"});
    ASSERT_NO_FATAL_FAILURE(Fill());
    // A fresh connection: its page cache holds none of the rows read below,
    // so each read reaches the file.
    inv_.reset();
    auto reopened = SqlInventory::Open(path_, Options());
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    inv_ = std::move(reopened).value();
  }
  void TearDown() override { fs::DisarmFault(); }

  SqliteOptions Options() {
    SqliteOptions options;
    options.clock = &clock_;
    return options;
  }

  // One of every record the reads below look for.
  void Fill() {
    auto opened = SqlInventory::Open(path_, Options());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    inv_ = std::move(opened).value();
    Inventory& inv = *inv_;
    ASSERT_TRUE(inv.PutCertificate(SampleSpec("web")).ok());
    Version deployed = SampleVersion("web", 1);
    deployed.state = VersionState::kDeployed;
    ASSERT_TRUE(inv.AddVersion(deployed).ok());
    ASSERT_TRUE(inv.AddVersion(SampleVersion("web", 2)).ok());
    ASSERT_TRUE(inv.PutAccount({kReadFaultsServer, kAccount, "/state/accounts/1.key", "", "valid",
                                T0()})
                    .ok());
    ASSERT_TRUE(inv.RecordRequest({kReadFaultsServer, kAccount, RequestKind::kNewOrder, "", T0()}).ok());
    ASSERT_TRUE(inv.SetCaLimit({kReadFaultsServer, AccountScope(kAccount), T0() + hours(5), "slow"})
                    .ok());
    ASSERT_TRUE(inv.PutCaDirectory({kReadFaultsServer, "https://ca/renewal-info", T0(), ""}).ok());
    Attempt attempt;
    attempt.certificate = "web";
    attempt.started_at = T0();
    attempt.server = kReadFaultsServer;
    ASSERT_TRUE(inv.StartAttempt(attempt).ok());
  }

  fs::TempDir dir_;
  std::string path_ = InventoryPath(dir_.path());
  FakeClock clock_{T0()};
  std::unique_ptr<SqlInventory> inv_;
};

TEST_P(ReadFaultTest, FailedReadIsIoNotAbsence) {
  const ReadFaultRow& row = GetParam();
  fs::ArmFault({fs::FaultOp::kRead, 1, EIO, "certkeeper.db"});
  Seen seen = row.read(*inv_);
  const Status& s = seen.status;
  ASSERT_EQ(fs::InjectedFaultCount(), 1) << "the read never reached the file";
  ASSERT_FALSE(s.ok()) << "a failed read returned " << seen.what;
  EXPECT_EQ(s.code(), ErrorCode::kIo) << s.ToString();
  EXPECT_NE(s.ToString().find(strerror(EIO)), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find(path_), std::string::npos) << s.ToString();

  // The fault was one read: the same read now sees the record.
  fs::DisarmFault();
  EXPECT_TRUE(row.read(*inv_).status.ok());
}

const TimePoint kNow = T0() + hours(1);
constexpr RequestKind kNewOrder = RequestKind::kNewOrder;

INSTANTIATE_TEST_SUITE_P(
    Reads, ReadFaultTest,
    ::testing::Values(
        ReadFaultRow{"GetCertificate",
                     [](Inventory& inv) { return Outcome(inv.GetCertificate("web")); }},
        ReadFaultRow{"ListCertificates",
                     [](Inventory& inv) { return Outcome(inv.ListCertificates(true)); }},
        ReadFaultRow{"GetVersion",
                     [](Inventory& inv) { return Outcome(inv.GetVersion("web", 1)); }},
        ReadFaultRow{"NextVersionNumber",
                     [](Inventory& inv) { return Outcome(inv.NextVersionNumber("web")); }},
        ReadFaultRow{"LiveVersion",
                     [](Inventory& inv) { return Outcome(inv.LiveVersion("web")); }},
        ReadFaultRow{"LatestVersion",
                     [](Inventory& inv) { return Outcome(inv.LatestVersion("web")); }},
        ReadFaultRow{"AllCurrentVersions",
                     [](Inventory& inv) { return Outcome(inv.AllCurrentVersions()); }},
        ReadFaultRow{"LatestAttempts",
                     [](Inventory& inv) { return Outcome(inv.LatestAttempts()); }},
        ReadFaultRow{"FindAccount",
                     [](Inventory& inv) { return Outcome(inv.FindAccount(kReadFaultsServer)); }},
        ReadFaultRow{"ListCaLimits",
                     [](Inventory& inv) { return Outcome(inv.ListCaLimits(kNow)); }},
        ReadFaultRow{"ActiveCaLimit",
                     [](Inventory& inv) {
                       return Outcome(inv.ActiveCaLimit(kReadFaultsServer, AccountScope(kAccount), kNow));
                     }},
        ReadFaultRow{"WindowSince",
                     [](Inventory& inv) {
                       return Outcome(inv.WindowSince(kReadFaultsServer, kAccount, kNewOrder, "", T0()));
                     }},
        ReadFaultRow{"CountSince",
                     [](Inventory& inv) {
                       return Outcome(inv.CountSince(kReadFaultsServer, kAccount, kNewOrder, "", T0()));
                     }},
        ReadFaultRow{"FindCaDirectory",
                     [](Inventory& inv) { return Outcome(inv.FindCaDirectory(kReadFaultsServer)); }}),
    [](const ::testing::TestParamInfo<ReadFaultRow>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace certkeeper::store::testing
