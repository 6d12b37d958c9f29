// Fleet: the sealing-key check on joining, and the files hosts share with
// the private keys sealed (over a SQLite inventory; the store suite covers
// PostgreSQL's side of the same rows).
#include "lifecycle/fleet.h"

#include <gtest/gtest.h>

#include <string>

#include "base/fs.h"
#include "store/sql_inventory.h"

namespace certkeeper::lifecycle {
namespace {

SealingKey KeyOf(char fill) {
  auto key = SealingKey::FromBytes(std::string(32, fill));
  EXPECT_TRUE(key.ok());
  return *key;
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqlInventory::Open(dir_.path() + "/certkeeper.db");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    inv_ = std::move(*opened);
  }
  fs::TempDir dir_;
  std::unique_ptr<store::SqlInventory> inv_;
};

TEST_F(FleetTest, EveryHostMustUseTheFleetsKey) {
  auto first = Fleet::Join("edge-1", KeyOf('a'), inv_.get());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto same = Fleet::Join("edge-2", KeyOf('a'), inv_.get());
  EXPECT_TRUE(same.ok()) << same.status().ToString();
  auto other = Fleet::Join("edge-3", KeyOf('b'), inv_.get());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(other.status().ToString().find(KeyOf('b').id()), std::string::npos)
      << other.status().ToString();
  EXPECT_NE(other.status().hint().find("same encryption_key_file"), std::string::npos);
}

TEST_F(FleetTest, AVersionTravelsWithItsKeySealed) {
  auto fleet = Fleet::Join("edge-1", KeyOf('a'), inv_.get());
  ASSERT_TRUE(fleet.ok());
  VersionFiles files{"-----BEGIN PRIVATE KEY-----\nsecret\n", "leaf\n", "chain\n"};
  ASSERT_TRUE((*fleet)->ShareVersion("web", 3, files).ok());
  auto stored = inv_->GetMaterial(store::VersionMaterial("web", 3));
  ASSERT_TRUE(stored.ok());
  for (const store::MaterialFile& f : *stored) {
    EXPECT_EQ(f.content.find("secret"), std::string::npos) << f.name << " holds the key in clear";
  }
  auto fetched = (*fleet)->FetchVersion("web", 3);
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  EXPECT_EQ(fetched->key_pem, files.key_pem);
  EXPECT_EQ(fetched->cert_pem, files.cert_pem);
  EXPECT_EQ(fetched->chain_pem, files.chain_pem);
  EXPECT_EQ((*fleet)->FetchVersion("web", 4).status().code(), ErrorCode::kNotFound);
}

TEST_F(FleetTest, ASealedKeyCopiedToAnotherOwnerDoesNotOpen) {
  auto fleet = Fleet::Join("edge-1", KeyOf('a'), inv_.get());
  ASSERT_TRUE(fleet.ok());
  const std::string owner = store::PendingOrderMaterial("web");
  ASSERT_TRUE((*fleet)->ShareKey(owner, "order key").ok());
  auto fetched = (*fleet)->FetchKey(owner);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(*fetched, "order key");
  auto stored = inv_->GetMaterial(owner);
  ASSERT_TRUE(stored.ok());
  const std::string elsewhere = store::PendingOrderMaterial("api");
  ASSERT_TRUE(inv_->PutMaterial(elsewhere, *stored).ok());
  EXPECT_EQ((*fleet)->FetchKey(elsewhere).status().code(), ErrorCode::kPermissionDenied);
  ASSERT_TRUE((*fleet)->ForgetKey(owner).ok());
  EXPECT_EQ((*fleet)->FetchKey(owner).status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace certkeeper::lifecycle
