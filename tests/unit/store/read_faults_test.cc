// A read the disk refuses is an error, never "not there": with every kind of
// record present, a read that hits an I/O error (injected through the
// inventory's SQLite VFS, store/internal/fault_vfs.h) fails with kIo naming
// the database, not kNotFound, an empty list, nullopt or a count of 0.
#include <errno.h>
#include <string.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/fault_injection.h"
#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::hours;

constexpr const char* kServer = "https://ca/dir";
constexpr const char* kAccount = "https://ca/acct/1";

struct ReadFaultRow {
  const char* name;
  // Runs one read; returns its status and, when it succeeded, what it saw.
  std::function<Status(Inventory&, std::string& saw)> read;
};

void PrintTo(const ReadFaultRow& row, std::ostream* os) { *os << row.name; }

// Status of a Result; when it is OK, `saw` says what the read returned.
template <typename T>
Status Outcome(const Result<T>& result, std::string& saw, std::string what) {
  if (result.ok()) saw = std::move(what);
  return result.status();
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
    auto reopened = SqliteInventory::Open(path_, Options());
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
    auto opened = SqliteInventory::Open(path_, Options());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    inv_ = std::move(opened).value();
    Inventory& inv = *inv_;
    ASSERT_TRUE(inv.PutCertificate(SampleSpec("web")).ok());
    Version deployed = SampleVersion("web", 1);
    deployed.state = VersionState::kDeployed;
    ASSERT_TRUE(inv.AddVersion(deployed).ok());
    ASSERT_TRUE(inv.AddVersion(SampleVersion("web", 2)).ok());
    ASSERT_TRUE(inv.PutAccount({kServer, kAccount, "/state/accounts/1.key", "", "valid",
                                T0()})
                    .ok());
    ASSERT_TRUE(inv.RecordRequest({kServer, kAccount, RequestKind::kNewOrder, "", T0()}).ok());
    ASSERT_TRUE(inv.SetCaLimit({kServer, AccountScope(kAccount), T0() + hours(5), "slow"})
                    .ok());
    ASSERT_TRUE(inv.PutCaDirectory({kServer, "https://ca/renewal-info", T0()}).ok());
  }

  fs::TempDir dir_;
  std::string path_ = InventoryPath(dir_.path());
  FakeClock clock_{T0()};
  std::unique_ptr<SqliteInventory> inv_;
};

TEST_P(ReadFaultTest, FailedReadIsIoNotAbsence) {
  const ReadFaultRow& row = GetParam();
  fs::ArmFault({fs::FaultOp::kRead, 1, EIO, "certkeeper.db"});
  std::string saw = "nothing";
  Status s = row.read(*inv_, saw);
  ASSERT_EQ(fs::InjectedFaultCount(), 1) << "the read never reached the file";
  ASSERT_FALSE(s.ok()) << "a failed read returned " << saw;
  EXPECT_EQ(s.code(), ErrorCode::kIo) << s.ToString();
  EXPECT_NE(s.ToString().find(strerror(EIO)), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find(path_), std::string::npos) << s.ToString();

  // The fault was one read: the same read now sees the record.
  fs::DisarmFault();
  EXPECT_TRUE(row.read(*inv_, saw).ok());
}

const TimePoint kNow = T0() + hours(1);

INSTANTIATE_TEST_SUITE_P(
    Reads, ReadFaultTest,
    ::testing::Values(
        ReadFaultRow{"GetCertificate",
                     [](Inventory& inv, std::string& saw) {
                       return Outcome(inv.GetCertificate("web"), saw, "the certificate");
                     }},
        ReadFaultRow{"LiveVersion",
                     [](Inventory& inv, std::string& saw) {
                       return Outcome(inv.LiveVersion("web"), saw, "a live version");
                     }},
        ReadFaultRow{"LatestVersion",
                     [](Inventory& inv, std::string& saw) {
                       return Outcome(inv.LatestVersion("web"), saw, "a latest version");
                     }},
        ReadFaultRow{"AllCurrentVersions",
                     [](Inventory& inv, std::string& saw) {
                       auto all = inv.AllCurrentVersions();
                       return Outcome(all, saw,
                                      all.ok() ? std::to_string(all->size()) + " certificates"
                                               : "");
                     }},
        ReadFaultRow{"FindAccount",
                     [](Inventory& inv, std::string& saw) {
                       return Outcome(inv.FindAccount(kServer), saw, "an account");
                     }},
        ReadFaultRow{"ListCaLimits",
                     [](Inventory& inv, std::string& saw) {
                       auto limits = inv.ListCaLimits(kNow);
                       return Outcome(limits, saw,
                                      limits.ok() ? std::to_string(limits->size()) + " limits"
                                                  : "");
                     }},
        ReadFaultRow{"ActiveCaLimit",
                     [](Inventory& inv, std::string& saw) {
                       auto limit = inv.ActiveCaLimit(kServer, AccountScope(kAccount), kNow);
                       return Outcome(limit, saw,
                                      limit.ok() && *limit ? "a limit" : "no limit");
                     }},
        ReadFaultRow{"WindowSince",
                     [](Inventory& inv, std::string& saw) {
                       auto window = inv.WindowSince(kServer, kAccount,
                                                     RequestKind::kNewOrder, "", T0());
                       return Outcome(window, saw,
                                      window.ok() ? std::to_string(window->count) + " requests"
                                                  : "");
                     }},
        ReadFaultRow{"CountSince",
                     [](Inventory& inv, std::string& saw) {
                       auto count = inv.CountSince(kServer, kAccount, RequestKind::kNewOrder,
                                                   "", T0());
                       return Outcome(count, saw,
                                      count.ok() ? std::to_string(*count) + " requests" : "");
                     }},
        ReadFaultRow{"FindCaDirectory",
                     [](Inventory& inv, std::string& saw) {
                       auto directory = inv.FindCaDirectory(kServer);
                       return Outcome(directory, saw,
                                      directory.ok() && *directory ? "a directory"
                                                                   : "no directory");
                     }}),
    [](const ::testing::TestParamInfo<ReadFaultRow>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace certkeeper::store::testing
