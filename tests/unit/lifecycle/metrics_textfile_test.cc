// The metrics textfile: written atomically with mode 0644 through the
// directory's descriptor (a symlink at the name is replaced, not followed),
// and rewritten by the engine at the end of each `renew` run.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "base/fs.h"
#include "lifecycle/metrics.h"
#include "tests/support/fs_helpers.h"
#include "tests/unit/lifecycle/engine_test_fixture.h"

namespace certkeeper::lifecycle {
namespace {

TEST(MetricsTextfileTest, WritesTheTextWithMode0644WhateverTheUmask) {
  fs::TempDir dir;
  const std::string path = dir.path() + "/certkeeper.prom";
  mode_t old = umask(077);
  Status s = WriteMetricsTextfile(path, "certkeeper_certificates 1\n");
  umask(old);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(test_fs::ReadOrError(path), "certkeeper_certificates 1\n");
  EXPECT_EQ(test_fs::LstatOf(path).st_mode & 07777, 0644u);
  // Rewriting replaces the content and leaves no temporary file behind.
  ASSERT_TRUE(WriteMetricsTextfile(path, "certkeeper_certificates 2\n").ok());
  EXPECT_EQ(test_fs::ReadOrError(path), "certkeeper_certificates 2\n");
  EXPECT_EQ(test_fs::ListDir(dir.path()), (std::set<std::string>{"certkeeper.prom"}));
}

TEST(MetricsTextfileTest, ASymlinkPlantedAtTheNameIsReplacedNotFollowed) {
  fs::TempDir dir;
  const std::string victim = dir.path() + "/victim";
  ASSERT_TRUE(fs::WriteFileAtomic(victim, "keep me\n").ok());
  ASSERT_TRUE(fs::MakeDirs(dir.path() + "/textfile", 0755).ok());
  const std::string path = dir.path() + "/textfile/certkeeper.prom";
  ASSERT_EQ(symlink(victim.c_str(), path.c_str()), 0);
  ASSERT_TRUE(WriteMetricsTextfile(path, "certkeeper_certificates 1\n").ok());
  EXPECT_EQ(test_fs::ReadOrError(victim), "keep me\n");
  EXPECT_TRUE(S_ISREG(test_fs::LstatOf(path).st_mode));
  EXPECT_EQ(test_fs::ReadOrError(path), "certkeeper_certificates 1\n");
}

TEST(MetricsTextfileTest, AMissingDirectoryOrNoFileNameIsAnErrorNamingThePath) {
  fs::TempDir dir;
  Status missing = WriteMetricsTextfile(dir.path() + "/nope/certkeeper.prom", "x\n");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.ToString().find(dir.path() + "/nope"), std::string::npos)
      << missing.ToString();
  Status no_name = WriteMetricsTextfile(dir.path() + "/", "x\n");
  EXPECT_EQ(no_name.code(), ErrorCode::kInvalidArgument) << no_name.ToString();
}

class MetricsAfterRunTest : public testing::EngineTest<> {
 protected:
  void SetUp() override {
    SetUpEngineTest();
    ASSERT_TRUE(fs::MakeDirs(dir_.path() + "/textfile", 0755).ok());
    textfile_ = dir_.path() + "/textfile/certkeeper.prom";
    config_.metrics.textfile = textfile_;
  }

  std::string textfile_;
};

// `renew --all` rewrites [metrics] textfile from the inventory as the run
// left it: the run's own series and the certificates' state are there.
TEST_F(MetricsAfterRunTest, RenewAllRefreshesTheTextfile) {
  auto engine = OpenEngine();
  ASSERT_NE(engine, nullptr);
  hooks::Material m = pki_.MakeMaterial("web", {"web.example.com"}, now_);
  ImportMaterial(*engine, "web", m);
  EXPECT_FALSE(fs::Exists(textfile_)) << "import is no run";

  RenewOptions all;
  all.all = true;
  auto first = engine->Renew(all);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->certificates.size(), 1u);
  EXPECT_EQ(first->certificates[0].outcome, "not-due");
  std::string text = test_fs::ReadOrError(textfile_);
  const std::string run_line = "certkeeper_last_run_outcomes{kind=\"renew\",outcome=\"not-due\"} 1";
  EXPECT_NE(text.find(run_line + "\n"), std::string::npos) << text;
  const std::string status_line =
      "certkeeper_certificate_status{ca=\"default\",name=\"web\",status=\"valid\"} 1";
  EXPECT_NE(text.find(status_line + "\n"), std::string::npos) << text;
  EXPECT_EQ(test_fs::LstatOf(textfile_).st_mode & 07777, 0644u);

  // The next run, a day later, rewrites it again.
  clock_->Advance(std::chrono::hours(24));
  auto second = engine->Renew(all);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  const auto later = std::chrono::duration_cast<std::chrono::seconds>(
                         (now_ + std::chrono::hours(24)).time_since_epoch())
                         .count();
  text = test_fs::ReadOrError(textfile_);
  EXPECT_NE(text.find("certkeeper_snapshot_timestamp_seconds " + std::to_string(later) + "\n"),
            std::string::npos)
      << text;
}

// A dry run changes nothing, the textfile included.
TEST_F(MetricsAfterRunTest, DryRunLeavesTheTextfileAlone) {
  auto engine = OpenEngine();
  ASSERT_NE(engine, nullptr);
  ImportMaterial(*engine, "web", pki_.MakeMaterial("web", {"web.example.com"}, now_));
  RenewOptions dry;
  dry.all = true;
  dry.dry_run = true;
  ASSERT_TRUE(engine->Renew(dry).ok());
  EXPECT_FALSE(fs::Exists(textfile_));
}

}  // namespace
}  // namespace certkeeper::lifecycle
