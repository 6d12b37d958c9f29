// Accounts, certificates, their scheduling state, and transactions.
#include <string>
#include <vector>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

class AccountsTest : public StoreTest {};

TEST_F(AccountsTest, PutFindAndUpdate) {
  Account a{"https://ca/dir", "https://ca/acct/1", "/s/accounts/ca/account.key",
            "ops@example.com", "valid", {}};
  ASSERT_TRUE(inv_->PutAccount(a).ok());
  auto found = inv_->FindAccount("https://ca/dir");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->account_url, a.account_url);
  EXPECT_EQ(found->key_path, a.key_path);
  EXPECT_EQ(found->created_at, T0());

  // Key rollover: same account URL, new key; created_at is kept.
  clock_.Advance(hours(1));
  a.key_path = "/s/accounts/ca/account-2.key";
  ASSERT_TRUE(inv_->PutAccount(a).ok());
  found = inv_->FindAccount("https://ca/dir");
  EXPECT_EQ(found->key_path, "/s/accounts/ca/account-2.key");
  EXPECT_EQ(found->created_at, T0());
  EXPECT_EQ(inv_->ListAccounts()->size(), 1u);
}

TEST_F(AccountsTest, FindSkipsDeactivatedAndOtherServers) {
  ASSERT_TRUE(inv_->PutAccount({"https://ca/dir", "https://ca/acct/1", "/k1", "", "valid", {}})
                  .ok());
  ASSERT_TRUE(
      inv_->PutAccount({"https://other/dir", "https://other/acct/9", "/k9", "", "valid", {}})
          .ok());
  EXPECT_EQ(inv_->FindAccount("https://ca/dir")->account_url, "https://ca/acct/1");

  ASSERT_TRUE(
      inv_->PutAccount({"https://ca/dir", "https://ca/acct/1", "/k1", "", "deactivated", {}})
          .ok());
  auto none = inv_->FindAccount("https://ca/dir");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(none.status().where(), "https://ca/dir");

  clock_.Advance(minutes(5));
  ASSERT_TRUE(inv_->PutAccount({"https://ca/dir", "https://ca/acct/2", "/k2", "", "valid", {}})
                  .ok());
  EXPECT_EQ(inv_->FindAccount("https://ca/dir")->account_url, "https://ca/acct/2");
  EXPECT_EQ(inv_->ListAccounts()->size(), 3u);
}

TEST_F(AccountsTest, RejectsMissingFields) {
  Status s = inv_->PutAccount({"https://ca/dir", "", "/k", "", "valid", {}});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("account URL"), std::string::npos) << s.message();
  EXPECT_TRUE(inv_->ListAccounts()->empty());
}

class CertificatesTest : public StoreTest {};

TEST_F(CertificatesTest, PutAndGetKeepOrderOfLists) {
  CertificateSpec spec = SampleSpec("web");
  spec.domains = {"z.example.com", "a.example.com", "m.example.com"};
  spec.challenges = {"tls-alpn-01", "http-01", "dns-01"};
  spec.deploy_targets = {"b", "a"};
  ASSERT_TRUE(inv_->PutCertificate(spec).ok());

  auto cert = inv_->GetCertificate("web");
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(cert->spec.domains, spec.domains);
  EXPECT_EQ(cert->spec.challenges, spec.challenges);
  EXPECT_EQ(cert->spec.deploy_targets, spec.deploy_targets);
  EXPECT_EQ(cert->spec.key_type, "ec256");
  EXPECT_EQ(cert->spec.server, spec.server);
  EXPECT_FALSE(cert->removed);
  EXPECT_EQ(cert->created_at, T0());
  EXPECT_EQ(cert->updated_at, T0());
}

TEST_F(CertificatesTest, UpdateKeepsScheduleAndCreationTime) {
  AddCertificate("web");
  Schedule schedule;
  schedule.next_attempt_at = T0() + hours(2);
  schedule.consecutive_failures = 3;
  schedule.deferred_reason = "backoff";
  schedule.ca_retry_after = T0() + hours(1);
  ASSERT_TRUE(inv_->SetSchedule("web", schedule).ok());

  clock_.Advance(hours(1));
  CertificateSpec spec = SampleSpec("web");
  spec.domains.push_back("api.example.com");
  spec.key_type = "rsa3072";
  ASSERT_TRUE(inv_->PutCertificate(spec).ok());

  auto cert = inv_->GetCertificate("web");
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->spec.domains.size(), 3u);
  EXPECT_EQ(cert->spec.key_type, "rsa3072");
  EXPECT_EQ(cert->created_at, T0());
  EXPECT_EQ(cert->updated_at, T0() + hours(1));
  EXPECT_EQ(cert->schedule.next_attempt_at, T0() + hours(2));
  EXPECT_EQ(cert->schedule.consecutive_failures, 3);
  EXPECT_EQ(cert->schedule.deferred_reason, "backoff");
  EXPECT_EQ(cert->schedule.ca_retry_after, T0() + hours(1));
}

TEST_F(CertificatesTest, ScheduleCanBeCleared) {
  AddCertificate("web");
  Schedule schedule;
  schedule.next_attempt_at = T0() + hours(2);
  schedule.deferred_reason = "rate limit until 2026-01-01T02:00:00Z";
  ASSERT_TRUE(inv_->SetSchedule("web", schedule).ok());
  ASSERT_TRUE(inv_->SetSchedule("web", Schedule{}).ok());
  auto cert = inv_->GetCertificate("web");
  EXPECT_FALSE(cert->schedule.next_attempt_at.has_value());
  EXPECT_TRUE(cert->schedule.deferred_reason.empty());
}

TEST_F(CertificatesTest, PendingOrderSetAndCleared) {
  AddCertificate("web");
  PendingOrder order{"https://ca/order/5", "/s/archive/web/2/privkey.pem", T0() + minutes(3)};
  ASSERT_TRUE(inv_->SetPendingOrder("web", order).ok());
  auto cert = inv_->GetCertificate("web");
  ASSERT_TRUE(cert->pending_order.has_value());
  EXPECT_EQ(cert->pending_order->order_url, order.order_url);
  EXPECT_EQ(cert->pending_order->key_path, order.key_path);
  EXPECT_EQ(cert->pending_order->created_at, order.created_at);

  ASSERT_TRUE(inv_->ClearPendingOrder("web").ok());
  EXPECT_FALSE(inv_->GetCertificate("web")->pending_order.has_value());
}

TEST_F(CertificatesTest, RemovedCertificatesAreHiddenUntilPutAgain) {
  AddCertificate("a");
  AddCertificate("b");
  ASSERT_TRUE(inv_->MarkRemoved("a").ok());
  auto active = inv_->ListCertificates(false);
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].spec.name, "b");
  auto all = inv_->ListCertificates(true);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].spec.name, "a");
  EXPECT_TRUE((*all)[0].removed);

  AddCertificate("a");
  EXPECT_FALSE(inv_->GetCertificate("a")->removed);
  EXPECT_EQ(inv_->ListCertificates(false)->size(), 2u);
}

TEST_F(CertificatesTest, UnknownCertificateIsNotFound) {
  EXPECT_EQ(inv_->GetCertificate("nope").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(inv_->MarkRemoved("nope").code(), ErrorCode::kNotFound);
  EXPECT_EQ(inv_->SetSchedule("nope", Schedule{}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(inv_->ClearPendingOrder("nope").code(), ErrorCode::kNotFound);
}

struct BadSpecCase {
  const char* name;
  void (*mutate)(CertificateSpec&);
};

// Names the row in test output instead of dumping its bytes.
void PrintTo(const BadSpecCase& c, std::ostream* os) { *os << c.name; }

class BadSpecTest : public StoreTest, public ::testing::WithParamInterface<BadSpecCase> {};

TEST_P(BadSpecTest, IsRejectedAndNothingStored) {
  CertificateSpec spec = SampleSpec("web");
  GetParam().mutate(spec);
  Status s = inv_->PutCertificate(spec);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(inv_->ListCertificates(true)->empty());
}

INSTANTIATE_TEST_SUITE_P(
    Specs, BadSpecTest,
    ::testing::Values(
        BadSpecCase{"NameWithSlash", [](CertificateSpec& s) { s.name = "../etc"; }},
        BadSpecCase{"EmptyName", [](CertificateSpec& s) { s.name = ""; }},
        BadSpecCase{"NoDomains", [](CertificateSpec& s) { s.domains.clear(); }},
        BadSpecCase{"EmptyDomain", [](CertificateSpec& s) { s.domains.push_back(""); }},
        BadSpecCase{"NoChallenges", [](CertificateSpec& s) { s.challenges.clear(); }},
        BadSpecCase{"NoKeyType", [](CertificateSpec& s) { s.key_type.clear(); }},
        BadSpecCase{"NoServer", [](CertificateSpec& s) { s.server.clear(); }}),
    [](const ::testing::TestParamInfo<BadSpecCase>& info) { return info.param.name; });

class TransactionTest : public StoreTest {};

TEST_F(TransactionTest, FailureUndoesEveryChange) {
  Status s = inv_->Transaction([&]() -> Status {
    CK_RETURN_IF_ERROR(inv_->PutCertificate(SampleSpec("a")));
    CK_RETURN_IF_ERROR(inv_->PutCertificate(SampleSpec("b")));
    return Status(ErrorCode::kUnavailable, "deploy failed");
  });
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.message(), "deploy failed");
  EXPECT_TRUE(inv_->ListCertificates(true)->empty());
}

TEST_F(TransactionTest, SuccessCommitsEverything) {
  ASSERT_TRUE(inv_->Transaction([&]() -> Status {
                    CK_RETURN_IF_ERROR(inv_->PutCertificate(SampleSpec("a")));
                    return inv_->PutCertificate(SampleSpec("b"));
                  })
                  .ok());
  EXPECT_EQ(inv_->ListCertificates(true)->size(), 2u);
}

TEST_F(TransactionTest, FailedInnerCallUndoesOnlyItself) {
  ASSERT_TRUE(inv_->Transaction([&]() -> Status {
                    CK_RETURN_IF_ERROR(inv_->PutCertificate(SampleSpec("a")));
                    Status inner = inv_->Transaction([&]() -> Status {
                      CK_RETURN_IF_ERROR(inv_->PutCertificate(SampleSpec("b")));
                      return Status(ErrorCode::kInternal, "inner fails");
                    });
                    EXPECT_FALSE(inner.ok());
                    // Failed validation inside a transaction changes nothing either.
                    EXPECT_FALSE(inv_->AddVersion(SampleVersion("a", 5)).ok());
                    return Status::Ok();
                  })
                  .ok());
  auto all = inv_->ListCertificates(true);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].spec.name, "a");
  EXPECT_EQ(*inv_->NextVersionNumber("a"), 1);
}

TEST_F(TransactionTest, ExceptionIsTurnedIntoErrorAndRolledBack) {
  Status s = inv_->Transaction([&]() -> Status {
    CK_RETURN_IF_ERROR(inv_->PutCertificate(SampleSpec("a")));
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(s.code(), ErrorCode::kInternal);
  EXPECT_NE(s.message().find("boom"), std::string::npos);
  EXPECT_TRUE(inv_->ListCertificates(true)->empty());
  // The inventory stays usable.
  AddCertificate("b");
}

TEST_F(TransactionTest, CommittedDataSurvivesReopen) {
  AddCertificate("web");
  ASSERT_TRUE(inv_->AddVersion(SampleVersion("web", 1)).ok());
  inv_.reset();
  auto reopened = OpenAgain();
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->LatestVersion("web")->serial, SampleVersion("web", 1).serial);
}

}  // namespace
}  // namespace certkeeper::store::testing
