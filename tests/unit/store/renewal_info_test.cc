// Renewal information per certificate and what the inventory remembers of a
// CA's directory (schema version 4).
#include <string>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::hours;

RenewalInfoRecord SampleInfo() {
  RenewalInfoRecord info;
  info.version = 2;
  info.window_start = T0() + hours(24 * 60);
  info.window_end = T0() + hours(24 * 62);
  info.chosen_at = T0() + hours(24 * 61);
  info.next_fetch_at = T0() + hours(6);
  info.explanation_url = "https://ca.example/incident/42";
  return info;
}

TEST_F(StoreTest, NewCertificateHasNoRenewalInfo) {
  AddCertificate("web");
  auto cert = inv_->GetCertificate("web");
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_FALSE(cert->renewal_info.has_value());
}

TEST_F(StoreTest, RenewalInfoRoundTripsAndIsForgotten) {
  AddCertificate("web");
  ASSERT_TRUE(inv_->SetRenewalInfo("web", SampleInfo()).ok());
  auto cert = inv_->GetCertificate("web");
  ASSERT_TRUE(cert.ok());
  ASSERT_TRUE(cert->renewal_info.has_value());
  const RenewalInfoRecord& got = *cert->renewal_info;
  RenewalInfoRecord want = SampleInfo();
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.window_start, want.window_start);
  EXPECT_EQ(got.window_end, want.window_end);
  EXPECT_EQ(got.chosen_at, want.chosen_at);
  EXPECT_EQ(got.next_fetch_at, want.next_fetch_at);
  EXPECT_EQ(got.explanation_url, want.explanation_url);

  // The bulk read used by `renew --all` sees the same.
  auto all = inv_->ListCertificates(false);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  ASSERT_TRUE((*all)[0].renewal_info.has_value());
  EXPECT_EQ((*all)[0].renewal_info->chosen_at, want.chosen_at);

  ASSERT_TRUE(inv_->SetRenewalInfo("web", std::nullopt).ok());
  cert = inv_->GetCertificate("web");
  ASSERT_TRUE(cert.ok());
  EXPECT_FALSE(cert->renewal_info.has_value());
}

TEST_F(StoreTest, FailedFetchKeepsOnlyTheNextFetchTime) {
  AddCertificate("web");
  RenewalInfoRecord info;
  info.version = 1;
  info.next_fetch_at = T0() + hours(1);
  ASSERT_TRUE(inv_->SetRenewalInfo("web", info).ok());
  auto cert = inv_->GetCertificate("web");
  ASSERT_TRUE(cert.ok());
  ASSERT_TRUE(cert->renewal_info.has_value());
  EXPECT_FALSE(cert->renewal_info->window_start.has_value());
  EXPECT_FALSE(cert->renewal_info->chosen_at.has_value());
  EXPECT_EQ(cert->renewal_info->next_fetch_at, T0() + hours(1));
}

TEST_F(StoreTest, RenewalInfoRejectsBadInputAndUnknownCertificates) {
  AddCertificate("web");
  RenewalInfoRecord no_version = SampleInfo();
  no_version.version = 0;
  EXPECT_EQ(inv_->SetRenewalInfo("web", no_version).code(), ErrorCode::kInvalidArgument);
  RenewalInfoRecord half_window = SampleInfo();
  half_window.window_end.reset();
  EXPECT_EQ(inv_->SetRenewalInfo("web", half_window).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(inv_->SetRenewalInfo("nope", SampleInfo()).code(), ErrorCode::kNotFound);
  auto cert = inv_->GetCertificate("web");
  ASSERT_TRUE(cert.ok());
  EXPECT_FALSE(cert->renewal_info.has_value());
}

TEST_F(StoreTest, CaDirectoryIsRememberedPerServer) {
  auto none = inv_->FindCaDirectory("https://ca/dir");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(inv_->PutCaDirectory({"https://ca/dir", "https://ca/ari", T0(), ""}).ok());
  ASSERT_TRUE(inv_->PutCaDirectory(
                      {"https://other/dir", "", T0() + hours(1), R"({"newOrder":"x"})"})
                  .ok());
  // A later fetch replaces the row: the CA stopped offering renewal information.
  ASSERT_TRUE(inv_->PutCaDirectory({"https://ca/dir", "", T0() + hours(2), ""}).ok());

  auto ca = inv_->FindCaDirectory("https://ca/dir");
  ASSERT_TRUE(ca.ok());
  ASSERT_TRUE(ca->has_value());
  EXPECT_EQ((*ca)->renewal_info_url, "");
  EXPECT_EQ((*ca)->fetched_at, T0() + hours(2));
  auto other = inv_->FindCaDirectory("https://other/dir");
  ASSERT_TRUE(other.ok() && other->has_value());
  EXPECT_EQ((*other)->fetched_at, T0() + hours(1));
  EXPECT_EQ((*other)->document, R"({"newOrder":"x"})") << "the whole directory is kept";

  EXPECT_EQ(inv_->PutCaDirectory({"", "x", T0(), ""}).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace certkeeper::store::testing
