// What a run killed in the middle of a write leaves in the state directory,
// and the cleanup every writing command does once it holds the run lock.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "base/clock.h"
#include "base/fs.h"
#include "lifecycle/engine.h"
#include "lifecycle/state_layout.h"

namespace certkeeper::lifecycle {
namespace {

namespace stdfs = std::filesystem;

std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : stdfs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

class StateLeftoversTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path() + "/state";
    ASSERT_TRUE(layout_.Prepare().ok());
    ASSERT_TRUE(layout_.WriteVersion("web", 1, {"KEY", "CERT", "CHAIN"}).ok());
    ASSERT_TRUE(layout_.SwitchLive("web", 1).ok());
    ca_dir_ = root_ + "/accounts/ca-12345678";
    ASSERT_TRUE(fs::MakeDirs(ca_dir_, 0700).ok());
    ASSERT_TRUE(fs::WritePrivateFile(ca_dir_ + "/account.key", "ACCOUNT").ok());
    // The leftovers of writes killed before their rename.
    Plant(ca_dir_ + "/account.key.tmp-abcdefghij");
    Plant(ca_dir_ + "/account.key.new.tmp-0123456789");
    Plant(layout_.ArchiveDir("web") + "/pending.key.tmp-qwertyuiop");
    ASSERT_EQ(symlink("../archive/web/2", (root_ + "/live/web.tmp-zxcvbnmasd").c_str()), 0);
    half_version_ = layout_.ArchiveDir("web") + "/.2.tmp";
    ASSERT_TRUE(fs::MakeDirs(half_version_, 0700).ok());
    Plant(half_version_ + "/privkey.pem");
    // Not leftovers: kept.
    Plant(ca_dir_ + "/notes.txt");
    Plant(layout_.ArchiveDir("web") + "/other.tmp-x");
  }
  static void Plant(const std::string& path) {
    ASSERT_TRUE(fs::WriteNewFile(path, "stale\n", 0600).ok()) << path;
  }
  void ExpectClean() {
    EXPECT_EQ(ListDir(ca_dir_), (std::set<std::string>{"account.key", "notes.txt"}));
    EXPECT_EQ(ListDir(layout_.ArchiveDir("web")), (std::set<std::string>{"1", "other.tmp-x"}));
    EXPECT_EQ(ListDir(root_ + "/live"), (std::set<std::string>{"web"}));
    EXPECT_EQ(layout_.LiveVersionNumber("web"), 1);
    auto key = layout_.ReadVersion("web", 1);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(key->key_pem, "KEY");
  }

  fs::TempDir tmp_;
  std::string root_ = tmp_.path() + "/state";
  StateLayout layout_{root_};
  std::string ca_dir_;
  std::string half_version_;
};

TEST_F(StateLeftoversTest, RemoveLeftoversRemovesTempFilesAndHalfWrittenVersions) {
  auto removed = layout_.RemoveLeftovers();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 5);
  ExpectClean();
  // Nothing more to do the second time.
  removed = layout_.RemoveLeftovers();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 0);
}

// A complete scan records when it started; the next one opens only the
// directories changed since, so a timer run over thousands of certificates
// does not list every archive/<name>/. A leftover planted after the scan
// changes its directory and is found.
TEST_F(StateLeftoversTest, TheNextScanOpensOnlyDirectoriesChangedSinceTheLast) {
  ASSERT_TRUE(layout_.RemoveLeftovers().ok());
  ASSERT_TRUE(fs::Exists(root_ + "/.leftovers-scanned"));
  Plant(layout_.ArchiveDir("web") + "/cert.pem.tmp-newnewnewn");
  auto removed = layout_.RemoveLeftovers();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1);
  // A directory whose entries changed long before the last scan is not
  // opened: the scan then saw what it holds (here set back by hand).
  Plant(layout_.ArchiveDir("web") + "/chain.pem.tmp-oldoldoldo");
  const std::string dir = layout_.ArchiveDir("web");
  const timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, dir.c_str(), old_times, 0), 0);
  removed = layout_.RemoveLeftovers();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 0);
  // Without the record (or with a clock set back before it) every directory
  // is looked at again.
  ASSERT_TRUE(stdfs::remove(root_ + "/.leftovers-scanned"));
  removed = layout_.RemoveLeftovers();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1);
  ExpectClean();
}

TEST_F(StateLeftoversTest, DoesNotFollowASymlinkedSubdirectory) {
  // A symlink in archive/ is not walked into (the files there are not ours).
  std::string outside = tmp_.path() + "/outside";
  ASSERT_TRUE(fs::MakeDirs(outside, 0700).ok());
  Plant(outside + "/privkey.pem.tmp-abcdefghij");
  ASSERT_EQ(symlink(outside.c_str(), (root_ + "/archive/linked").c_str()), 0);
  auto removed = layout_.RemoveLeftovers();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_TRUE(fs::Exists(outside + "/privkey.pem.tmp-abcdefghij"));
}

TEST_F(StateLeftoversTest, AWritingCommandCleansUpUnderTheRunLock) {
  Config config;
  config.state_dir = root_;
  FakeClock clock{FromUnixSeconds(1767225600)};
  auto engine = Engine::Open(config, &clock);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  // Deploy takes the run lock before it looks the certificate up.
  auto deployed = (*engine)->Deploy("not-in-the-inventory");
  EXPECT_FALSE(deployed.ok());
  ExpectClean();
}

}  // namespace
}  // namespace certkeeper::lifecycle
