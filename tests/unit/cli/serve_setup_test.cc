// serve's setup: loopback by default, a token required elsewhere, the token
// file's mode and content checked, durations parsed like the config; and the
// jittered schedule.
#include "cli/serve_setup.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "cli/serve_schedule.h"

namespace certkeeper::cli {
namespace {

class ServeSetupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/serve-setup-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(fs::RemoveAll(dir_).ok()); }

  std::string TokenFile(const std::string& content, mode_t mode) {
    std::string path = dir_ + "/token";
    std::ofstream(path) << content;
    chmod(path.c_str(), mode);
    return path;
  }

  std::string dir_;
  lifecycle::ServeSettings settings_;
  CommandValues values_;
};

TEST_F(ServeSetupTest, LoopbackByDefaultWithoutToken) {
  auto setup = ResolveServeSetup(settings_, values_);
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  EXPECT_EQ(setup->listen.ToString(), "127.0.0.1:9150");
  EXPECT_TRUE(setup->loopback);
  EXPECT_TRUE(setup->token.empty());
  EXPECT_FALSE(setup->renew_every);
}

TEST_F(ServeSetupTest, NonLoopbackWithoutTokenFileIsAConfigError) {
  for (const char* listen : {"0.0.0.0:9150", "[::]:9150", "192.0.2.1:9150", ":9150"}) {
    values_.listen = listen;
    auto setup = ResolveServeSetup(settings_, values_);
    ASSERT_FALSE(setup.ok()) << listen;
    EXPECT_EQ(setup.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(setup.status().ToString().find("token_file"), std::string::npos);
  }
  values_.listen = "[::1]:9150";
  EXPECT_TRUE(ResolveServeSetup(settings_, values_).ok());
}

TEST_F(ServeSetupTest, TokenFileReadableByOthersIsRefused) {
  settings_.token_file = TokenFile("0123456789abcdef0123\n", 0644);
  values_.listen = "0.0.0.0:9150";
  auto setup = ResolveServeSetup(settings_, values_);
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(setup.status().ToString().find("0644"), std::string::npos);
  chmod(settings_.token_file.c_str(), 0640);
  EXPECT_FALSE(ResolveServeSetup(settings_, values_).ok());
  chmod(settings_.token_file.c_str(), 0600);
  setup = ResolveServeSetup(settings_, values_);
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  EXPECT_EQ(setup->token, "0123456789abcdef0123");
  EXPECT_FALSE(setup->loopback);
}

TEST_F(ServeSetupTest, TokenMustBeOneLongVisibleWord) {
  for (const char* bad : {"", "short", "has a space in it here", "tab\tinside-the-token"}) {
    settings_.token_file = TokenFile(bad, 0600);
    auto setup = ResolveServeSetup(settings_, values_);
    EXPECT_FALSE(setup.ok()) << bad;
  }
  settings_.token_file = dir_ + "/missing";
  EXPECT_FALSE(ResolveServeSetup(settings_, values_).ok());
}

TEST_F(ServeSetupTest, DurationsParseLikeTheConfigAndHaveAFloor) {
  values_.renew_every = "12h";
  values_.probe_every = "5m";
  auto setup = ResolveServeSetup(settings_, values_);
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  EXPECT_EQ(*setup->renew_every, std::chrono::hours(12));
  EXPECT_EQ(*setup->probe_every, std::chrono::minutes(5));
  values_.renew_every = "5s";
  EXPECT_FALSE(ResolveServeSetup(settings_, values_).ok());
  values_.renew_every = "soon";
  EXPECT_FALSE(ResolveServeSetup(settings_, values_).ok());
  values_.renew_every = "";
  settings_.probe_every = std::chrono::minutes(1);
  values_.probe_every = "";
  EXPECT_EQ(*ResolveServeSetup(settings_, values_)->probe_every, std::chrono::minutes(1));
}

TEST(ServeScheduleTest, JitterStaysWithinTenPercent) {
  const Duration period = std::chrono::hours(12);
  auto near = [](Duration a, Duration b) {
    return a - b < std::chrono::milliseconds(1) && b - a < std::chrono::milliseconds(1);
  };
  EXPECT_TRUE(near(Jittered(period, 0.1, 0), period - period / 10));
  EXPECT_TRUE(near(Jittered(period, 0.1, ~uint64_t{0}), period + period / 10));
  EXPECT_TRUE(near(Jittered(period, 0.1, uint64_t{1} << 63), period));
  EXPECT_EQ(Jittered(std::chrono::milliseconds(10), 0.1, 0), std::chrono::seconds(1));
}

TEST(ServeScheduleTest, RunsSoonAndStopsWithoutWaitingAPeriod) {
  std::atomic<int> runs{0};
  auto started = std::chrono::steady_clock::now();
  {
    PeriodicJob job("test", std::chrono::seconds(10), [&runs] { ++runs; });
    // The first run comes within a tenth of the period.
    while (job.runs() == 0 &&
           std::chrono::steady_clock::now() - started < std::chrono::seconds(5)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(job.runs(), 1);
    job.RequestStop();
  }
  EXPECT_EQ(runs.load(), 1);
}

}  // namespace
}  // namespace certkeeper::cli
