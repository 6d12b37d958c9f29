// Request counts over windows (rate-limit budgets) and CA-imposed limits.
#include <string>
#include <vector>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr const char* kServer = "https://ca/dir";
constexpr const char* kAcct1 = "https://ca/acct/1";
constexpr const char* kAcct2 = "https://ca/acct/2";

class RequestLogTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    // A fixed history: offsets in hours from T0.
    Record(kAcct1, RequestKind::kNewOrder, "", 0);
    Record(kAcct1, RequestKind::kNewOrder, "", 1);
    Record(kAcct1, RequestKind::kNewOrder, "", 2);
    Record(kAcct2, RequestKind::kNewOrder, "", 2);
    Record(kAcct1, RequestKind::kCertificate, "example.com", 1);
    Record(kAcct2, RequestKind::kCertificate, "example.com", 3);
    Record(kAcct1, RequestKind::kCertificate, "example.org", 3);
    Record(kAcct1, RequestKind::kFailedValidation, "www.example.com", 2);
    ASSERT_TRUE(inv_->RecordRequest({"https://other/dir", kAcct1, RequestKind::kNewOrder,
                                     "", T0() + hours(2)})
                    .ok());
  }
  void Record(const char* account, RequestKind kind, const char* key, int hour) {
    Status s = inv_->RecordRequest({kServer, account, kind, key, T0() + hours(hour)});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
};

struct CountCase {
  const char* name;
  const char* account;
  RequestKind kind;
  const char* key;
  int since_hours;  // window start, from T0
  int64_t expected;
};

// Names the row in test output instead of dumping its bytes.
void PrintTo(const CountCase& c, std::ostream* os) { *os << c.name; }

class CountSinceTest : public RequestLogTest,
                       public ::testing::WithParamInterface<CountCase> {};

TEST_P(CountSinceTest, CountsRequestsInWindow) {
  const CountCase& c = GetParam();
  auto count = inv_->CountSince(kServer, c.account, c.kind, c.key, T0() + hours(c.since_hours));
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Windows, CountSinceTest,
    ::testing::Values(
        CountCase{"OrdersOfOneAccountWholeHistory", kAcct1, RequestKind::kNewOrder, "", 0, 3},
        CountCase{"WindowStartIsInclusive", kAcct1, RequestKind::kNewOrder, "", 1, 2},
        CountCase{"WindowAfterLastRequest", kAcct1, RequestKind::kNewOrder, "", 3, 0},
        CountCase{"OrdersOfAllAccounts", "", RequestKind::kNewOrder, "", 2, 2},
        CountCase{"SecondAccountAlone", kAcct2, RequestKind::kNewOrder, "", 0, 1},
        CountCase{"CertificatesPerDomainAcrossAccounts", "", RequestKind::kCertificate,
                  "example.com", 0, 2},
        CountCase{"CertificatesPerDomainOneAccount", kAcct1, RequestKind::kCertificate,
                  "example.com", 0, 1},
        CountCase{"CertificatesAnyDomain", "", RequestKind::kCertificate, "", 2, 2},
        CountCase{"FailedValidationsPerIdentifier", kAcct1, RequestKind::kFailedValidation,
                  "www.example.com", 0, 1},
        CountCase{"FailedValidationsOtherIdentifier", kAcct1,
                  RequestKind::kFailedValidation, "example.com", 0, 0},
        CountCase{"WindowBeforeHistory", "", RequestKind::kNewOrder, "", -100, 4}),
    [](const ::testing::TestParamInfo<CountCase>& info) { return info.param.name; });

// WindowSince agrees with CountSince on every row and names the oldest request
// inside the window, which is when a budget slot frees up.
TEST_P(CountSinceTest, WindowSinceMatchesCountAndFindsOldest) {
  const CountCase& c = GetParam();
  TimePoint since = T0() + hours(c.since_hours);
  auto window = inv_->WindowSince(kServer, c.account, c.kind, c.key, since);
  ASSERT_TRUE(window.ok()) << window.status().ToString();
  EXPECT_EQ(window->count, c.expected);
  EXPECT_EQ(window->oldest.has_value(), c.expected > 0);
  if (window->oldest) {
    EXPECT_GE(*window->oldest, since);
  }
}

TEST_F(RequestLogTest, WindowSinceOldestIsTheEarliestInWindow) {
  auto all = inv_->WindowSince(kServer, kAcct1, RequestKind::kNewOrder, "", T0());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->oldest, T0());
  auto later = inv_->WindowSince(kServer, kAcct1, RequestKind::kNewOrder, "", T0() + hours(1));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->count, 2);
  EXPECT_EQ(later->oldest, T0() + hours(1));
  auto domain = inv_->WindowSince(kServer, "", RequestKind::kCertificate, "example.com",
                                  T0() + hours(2));
  ASSERT_TRUE(domain.ok());
  EXPECT_EQ(domain->count, 1);
  EXPECT_EQ(domain->oldest, T0() + hours(3));
}

// ListRequestsSince returns the rows the counts are made of: counted in
// memory with CountSince's matching rules, they give CountSince's answer.
TEST_P(CountSinceTest, ListRequestsSinceHoldsExactlyTheCountedRows) {
  const CountCase& c = GetParam();
  TimePoint since = T0() + hours(c.since_hours);
  auto records = inv_->ListRequestsSince(kServer, since);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  int64_t counted = 0;
  for (const RequestRecord& r : *records) {
    EXPECT_EQ(r.server, kServer);
    EXPECT_GE(r.at, since);
    const std::string account = c.account, key = c.key;
    counted += r.kind == c.kind && (account.empty() || r.account_url == account) &&
               (key.empty() || r.key == key);
  }
  EXPECT_EQ(counted, c.expected);
}

TEST_F(RequestLogTest, ListRequestsSinceIsOldestFirstAndOfOneServer) {
  auto records = inv_->ListRequestsSince(kServer, T0() + hours(2));
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 5u);  // three at hour 2 (the other server's is not), two at 3
  for (size_t i = 1; i < records->size(); ++i) {
    EXPECT_LE((*records)[i - 1].at, (*records)[i].at);
  }
  EXPECT_EQ(records->front().account_url, kAcct1);
  EXPECT_EQ(records->front().kind, RequestKind::kNewOrder);
  EXPECT_EQ(records->back().key, "example.org");
  auto none = inv_->ListRequestsSince("https://unknown/dir", T0());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(RequestLogTest, PruneForgetsOldRequests) {
  auto pruned = inv_->PruneRequests(T0() + hours(2));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 3);  // two orders and one certificate before hour 2
  EXPECT_EQ(*inv_->CountSince(kServer, kAcct1, RequestKind::kNewOrder, "", T0()), 1);
  EXPECT_EQ(*inv_->PruneRequests(T0() + hours(2)), 0);
}

TEST_F(RequestLogTest, RejectsRequestWithoutServer) {
  EXPECT_EQ(inv_->RecordRequest({"", kAcct1, RequestKind::kNewOrder, "", T0()}).code(),
            ErrorCode::kInvalidArgument);
}

class CaLimitTest : public StoreTest {};

TEST_F(CaLimitTest, ActiveUntilItsEnd) {
  CaLimit limit{kServer, AccountScope(kAcct1), T0() + hours(3), "rateLimited: too many"};
  ASSERT_TRUE(inv_->SetCaLimit(limit).ok());
  EXPECT_EQ(AccountScope(kAcct1), std::string("account:") + kAcct1);

  auto active = inv_->ActiveCaLimit(kServer, AccountScope(kAcct1), T0() + hours(1));
  ASSERT_TRUE(active.ok());
  ASSERT_TRUE(active->has_value());
  EXPECT_EQ((*active)->until, T0() + hours(3));
  EXPECT_EQ((*active)->reason, "rateLimited: too many");
  // Other scopes and servers are not limited.
  EXPECT_FALSE(inv_->ActiveCaLimit(kServer, CertificateScope("web"), T0())->has_value());
  EXPECT_FALSE(
      inv_->ActiveCaLimit("https://other/dir", AccountScope(kAcct1), T0())->has_value());
  // Expired at `until` exactly.
  EXPECT_FALSE(
      inv_->ActiveCaLimit(kServer, AccountScope(kAcct1), T0() + hours(3))->has_value());
  EXPECT_TRUE(inv_->ActiveCaLimit(kServer, AccountScope(kAcct1), T0() + hours(3) - seconds(1))
                  ->has_value());
}

TEST_F(CaLimitTest, SetReplacesAndClearRemoves) {
  ASSERT_TRUE(inv_->SetCaLimit({kServer, CertificateScope("web"), T0() + hours(3), "a"}).ok());
  ASSERT_TRUE(inv_->SetCaLimit({kServer, CertificateScope("web"), T0() + hours(1), "b"}).ok());
  auto active = inv_->ActiveCaLimit(kServer, CertificateScope("web"), T0());
  ASSERT_TRUE(active->has_value());
  EXPECT_EQ((*active)->until, T0() + hours(1));
  EXPECT_EQ((*active)->reason, "b");
  ASSERT_TRUE(inv_->ClearCaLimit(kServer, CertificateScope("web")).ok());
  EXPECT_FALSE(inv_->ActiveCaLimit(kServer, CertificateScope("web"), T0())->has_value());
}

TEST_F(CaLimitTest, SurvivesReopenAndPrunesWhenExpired) {
  ASSERT_TRUE(inv_->SetCaLimit({kServer, AccountScope(kAcct1), T0() + hours(1), "x"}).ok());
  ASSERT_TRUE(inv_->SetCaLimit({kServer, AccountScope(kAcct2), T0() + hours(5), "y"}).ok());
  inv_.reset();
  auto reopened = OpenAgain();
  ASSERT_TRUE(reopened.ok());
  SqlInventory& inv = **reopened;
  EXPECT_EQ(inv.ListCaLimits(T0())->size(), 2u);
  auto later = inv.ListCaLimits(T0() + hours(2));
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].scope, AccountScope(kAcct2));
  EXPECT_EQ(*inv.PruneCaLimits(T0() + hours(2)), 1);
  EXPECT_EQ(inv.ListCaLimits(T0())->size(), 1u);
}

}  // namespace
}  // namespace certkeeper::store::testing
