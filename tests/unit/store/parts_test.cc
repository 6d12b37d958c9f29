// The inventory's parts (store/inventory.h): each is usable on its own, and a
// transaction begun through Transactional spans every part of the same
// inventory, so a caller holding only the parts it needs keeps atomicity.
#include <type_traits>

#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

static_assert(std::is_base_of_v<Transactional, Inventory> &&
              std::is_base_of_v<AccountStore, Inventory> &&
              std::is_base_of_v<CertificateStore, Inventory> &&
              std::is_base_of_v<VersionStore, Inventory> &&
              std::is_base_of_v<AttemptLog, Inventory> &&
              std::is_base_of_v<RequestLog, Inventory> &&
              std::is_base_of_v<LimitStore, Inventory> &&
              std::is_base_of_v<RenewalInfoStore, Inventory>);

class PartsTest : public StoreTest {
 protected:
  // Writes through four parts inside one transaction that ends with `result`.
  Status WriteThroughParts(Status result) {
    Transactional& tx = *inv_;
    CertificateStore& certs = *inv_;
    VersionStore& versions = *inv_;
    AttemptLog& log = *inv_;
    LimitStore& limits = *inv_;
    return tx.Transaction([&]() -> Status {
      CK_RETURN_IF_ERROR(certs.PutCertificate(SampleSpec("web")));
      CK_RETURN_IF_ERROR(versions.AddVersion(SampleVersion("web", 1)));
      CK_RETURN_IF_ERROR(log.AddEvent({0, T0(), "web", "issued", "version 1"}).status());
      CK_RETURN_IF_ERROR(
          limits.SetCaLimit({"https://ca/dir", CertificateScope("web"), T0() + kHour, ""}));
      return result;
    });
  }
  static constexpr std::chrono::hours kHour{1};
};

TEST_F(PartsTest, FailedTransactionUndoesTheWritesOfEveryPart) {
  Status s = WriteThroughParts(Status(ErrorCode::kInternal, "stop here"));
  EXPECT_EQ(s.code(), ErrorCode::kInternal);
  EXPECT_EQ(static_cast<CertificateStore&>(*inv_).GetCertificate("web").status().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(static_cast<VersionStore&>(*inv_).LatestVersion("web").status().code(),
            ErrorCode::kNotFound);
  auto events = static_cast<AttemptLog&>(*inv_).ListEvents(std::nullopt, 0);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
  auto limits = static_cast<LimitStore&>(*inv_).ListCaLimits(T0());
  ASSERT_TRUE(limits.ok());
  EXPECT_TRUE(limits->empty());
}

TEST_F(PartsTest, CommittedTransactionKeepsTheWritesOfEveryPart) {
  ASSERT_TRUE(WriteThroughParts(Status::Ok()).ok());
  EXPECT_TRUE(static_cast<CertificateStore&>(*inv_).GetCertificate("web").ok());
  EXPECT_TRUE(static_cast<VersionStore&>(*inv_).LatestVersion("web").ok());
  auto events = static_cast<AttemptLog&>(*inv_).ListEvents(std::string("web"), 0);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u);
  auto limit = static_cast<LimitStore&>(*inv_).ActiveCaLimit(
      "https://ca/dir", CertificateScope("web"), T0());
  ASSERT_TRUE(limit.ok());
  EXPECT_TRUE(limit->has_value());
}

}  // namespace
}  // namespace certkeeper::store::testing
