#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dirfd.h"
#include "base/fs.h"

namespace certkeeper::fs {
namespace {

TEST(TempNameTargetTest, RecognisesOnlyTheExactTemporaryNames) {
  EXPECT_EQ(TempNameTarget("fullchain.pem.tmp-abcdefghij"), "fullchain.pem");
  EXPECT_EQ(TempNameTarget(".privkey.pem.tmp-0123456789"), ".privkey.pem");
  EXPECT_EQ(TempNameTarget("fullchain.pem.tmp-x"), "");
  EXPECT_EQ(TempNameTarget("fullchain.pem.tmp-ABCDEFGHIJ"), "");
  EXPECT_EQ(TempNameTarget("fullchain.pem.tmp-abcdefghijk"), "");
  EXPECT_EQ(TempNameTarget("fullchain.pem.tm-abcdefghijk"), "");
  EXPECT_EQ(TempNameTarget(".tmp-abcdefghij"), "");
  EXPECT_EQ(TempNameTarget("abcdefghij"), "");
}

TEST(RemoveStaleTempsAtTest, RemovesOurTemporaryFilesOfTheGivenNamesOnly) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  auto write = [&](const std::string& name) {
    ASSERT_TRUE(WriteNewFile(JoinPath(tmp.path(), name), "x", 0600).ok()) << name;
  };
  write("a.pem.tmp-abcdefghij");
  write(".a.pem.tmp-abcdefghij");
  write("b.pem.tmp-abcdefghij");
  ASSERT_EQ(mkdir(JoinPath(tmp.path(), "a.pem.tmp-0123456789").c_str(), 0700), 0);
  auto dir = OpenDirectory(tmp.path());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  auto removed = RemoveStaleTempsAt(*dir, {.names = {"a.pem"}, .also_owner = std::nullopt});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 2);
  EXPECT_FALSE(Exists(JoinPath(tmp.path(), "a.pem.tmp-abcdefghij")));
  EXPECT_FALSE(Exists(JoinPath(tmp.path(), ".a.pem.tmp-abcdefghij")));
  EXPECT_TRUE(Exists(JoinPath(tmp.path(), "b.pem.tmp-abcdefghij")));
  EXPECT_TRUE(Exists(JoinPath(tmp.path(), "a.pem.tmp-0123456789")));
  // Without names: every temporary file of ours.
  removed = RemoveStaleTempsAt(*dir, {});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(Exists(JoinPath(tmp.path(), "b.pem.tmp-abcdefghij")));
}

}  // namespace
}  // namespace certkeeper::fs
