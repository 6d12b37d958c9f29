// A fact renew cannot read keeps the CA unasked: a due certificate whose CA
// limits, request log (budgets) or versions cannot be read is not ordered but
// reported failed with the read's error, and the attempt is recorded. (Such
// reads used to count as "nothing there": no limit, no request in the
// window, never issued, and the order went out.) The reads are broken by
// renaming the table behind them, against a scripted CA.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>
#include <ostream>
#include <string>

#include "lifecycle/engine.h"
#include "tests/unit/acme/fake_ca.h"
#include "tests/unit/hooks/test_pki.h"
#include "tests/unit/lifecycle/engine_parts_fixture.h"
#include "tests/unit/lifecycle/engine_test_fixture.h"

namespace certkeeper::lifecycle {
namespace {

using std::chrono::hours;

using testing::kDay;

struct FailClosedRow {
  const char* name;
  const char* table;  // renamed away before the run
  bool named;         // `renew web` instead of `renew --all`
  const char* cannot_read;
};

void PrintTo(const FailClosedRow& row, std::ostream* os) { *os << row.name; }

class EngineRenewFailClosedTest : public testing::EngineTest<::testing::TestWithParam<FailClosedRow>> {
 protected:
  void SetUp() override {
    SetUpEngineTest(200 * kDay);
    ca_->offer_renewal_info = false;
    // Budgets on, so that the request log is read: a CA other than Let's
    // Encrypt has none unless configured.
    config_.renewal.budgets = BudgetSettings{};
    // An order that got past newOrder would fail at the solver.
    UseFailingSolver();
  }

  // A live 90-day certificate "web" with 25 days left: due.
  void ImportDueCertificate(Engine& engine) {
    TimePoint not_after = now_ + 25 * kDay;
    hooks::Material m = pki_.MakeMaterialWithValidity("web", {"web.example.com"},
                                                      not_after - 90 * kDay, not_after);
    ImportMaterial(engine, "web", m);
  }

  void RenameTable(const std::string& table) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((config_.state_dir + "/certkeeper.db").c_str(), &db), SQLITE_OK);
    std::string sql = "ALTER TABLE " + table + " RENAME TO unreadable_" + table;
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }
};

TEST_P(EngineRenewFailClosedTest, DueCertificateIsNotOrderedAndFails) {
  const FailClosedRow& row = GetParam();
  {
    auto engine = Engine::Open(config_, clock_.get(), ca_);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    ImportDueCertificate(**engine);
  }
  RenameTable(row.table);
  auto engine = Engine::Open(config_, clock_.get(), ca_);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  RenewOptions options;
  options.all = !row.named;
  if (row.named) options.names = {"web"};
  auto report = (*engine)->Renew(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->certificates.size(), 1u);
  const CertificateOutcome& out = report->certificates.front();
  EXPECT_EQ(out.outcome, "failed") << out.reason;
  EXPECT_EQ(out.decision, "blocked") << out.reason;
  EXPECT_FALSE(out.error.ok());
  const std::string message = out.error.ToString();
  EXPECT_NE(message.find(std::string("cannot read ") + row.cannot_read), std::string::npos)
      << message;
  EXPECT_NE(message.find(row.table), std::string::npos) << "the read's own error: " << message;
  EXPECT_TRUE(report->any_failed());
  EXPECT_EQ(ca_->CountPath("/new-order"), 0);
  auto history = (*engine)->History("web");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_FALSE(history->empty());
  EXPECT_EQ(history->front().outcome, "failed");
  EXPECT_EQ(history->front().error_type, "unreadable");
}

INSTANTIATE_TEST_SUITE_P(
    Reads, EngineRenewFailClosedTest,
    ::testing::Values(FailClosedRow{"CaLimits", "ca_limits", false, "the CA limits"},
                      FailClosedRow{"RequestLog", "request_log", false, "the request log"},
                      FailClosedRow{"VersionsOfANamedCertificate", "versions", true,
                          "the inventory record"}),
    [](const ::testing::TestParamInfo<FailClosedRow>& info) { return info.param.name; });

}  // namespace
}  // namespace certkeeper::lifecycle
