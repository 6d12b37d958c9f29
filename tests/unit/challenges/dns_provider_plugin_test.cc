// The challtestsrv provider and the example plugin (which speaks the same API)
// against an in-process stand-in for pebble-challtestsrv's management API.
#include "challenges/dns_provider_plugin.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "challenges/dns_provider_challtestsrv.h"

namespace certkeeper::challenges {
namespace {

// Keeps TXT values per host like pebble-challtestsrv 2.4: /set-txt appends a
// value, /clear-txt removes all values of a host.
class FakeChalltestsrv {
 public:
  FakeChalltestsrv() {
    server_.Post("/set-txt", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.contains("host") || !body.contains("value")) {
        res.status = 400;
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      txt_[body["host"].get<std::string>()].insert(body["value"].get<std::string>());
    });
    server_.Post("/clear-txt", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.contains("host")) {
        res.status = 400;
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      txt_.erase(body["host"].get<std::string>());
      ++clears_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~FakeChalltestsrv() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::set<std::string> Values(const std::string& host) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = txt_.find(host);
    return it == txt_.end() ? std::set<std::string>{} : it->second;
  }
  int clears() {
    std::lock_guard<std::mutex> lock(mu_);
    return clears_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::set<std::string>> txt_;
  int clears_ = 0;
};

constexpr char kHost[] = "_acme-challenge.example.com.";

// Shared behaviour of both ways of talking to challtestsrv.
void ExpectTwoValuesAndExactCleanup(DnsProvider& provider, FakeChalltestsrv& server) {
  ASSERT_TRUE(provider.Check().ok());
  ASSERT_TRUE(provider.Present(kHost, "value-base").ok());
  ASSERT_TRUE(provider.Present(kHost, "value-wildcard").ok());
  EXPECT_EQ(server.Values(kHost), (std::set<std::string>{"value-base", "value-wildcard"}));
  ASSERT_TRUE(provider.CleanUp(kHost, "value-base").ok());
  EXPECT_EQ(server.Values(kHost), (std::set<std::string>{"value-wildcard"}));
  ASSERT_TRUE(provider.CleanUp(kHost, "value-wildcard").ok());
  EXPECT_TRUE(server.Values(kHost).empty());
  ASSERT_TRUE(provider.CleanUp(kHost, "value-wildcard").ok()) << "cleanup is idempotent";
}

TEST(ChalltestsrvProviderTest, KeepsTheOtherValueWhenCleaningOne) {
  FakeChalltestsrv server;
  auto provider = ChalltestsrvDnsProvider::Create({server.url(), std::chrono::seconds(5)});
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  ExpectTwoValuesAndExactCleanup(**provider, server);
}

TEST(ChalltestsrvProviderTest, UnreachableApiIsAClearError) {
  int port = 0;
  {
    FakeChalltestsrv gone;  // a port that was free a moment ago
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  auto provider = ChalltestsrvDnsProvider::Create(
      {"http://127.0.0.1:" + std::to_string(port), std::chrono::seconds(2)});
  ASSERT_TRUE(provider.ok());
  Status s = (*provider)->Check();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_NE(s.where().find("/clear-txt"), std::string::npos);
}

TEST(PluginProviderTest, ExamplePluginWritesThroughChalltestsrv) {
  FakeChalltestsrv server;
  auto provider = PluginDnsProvider::Load(CERTKEEPER_EXAMPLE_DNS_PLUGIN, {{"url", server.url()}});
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  EXPECT_EQ((*provider)->name(), "plugin:example-challtestsrv");
  ExpectTwoValuesAndExactCleanup(**provider, server);
}

TEST(PluginProviderTest, PluginConfigurationErrorsAreReported) {
  auto provider = PluginDnsProvider::Load(CERTKEEPER_EXAMPLE_DNS_PLUGIN, {{"uri", "x"}});
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(provider.status().message().find("unknown option 'uri'"), std::string::npos)
      << provider.status().message();
}

TEST(PluginProviderTest, PluginErrorsCarryThePluginMessage) {
  FakeChalltestsrv server;
  auto provider = PluginDnsProvider::Load(CERTKEEPER_EXAMPLE_DNS_PLUGIN, {{"url", server.url()}});
  ASSERT_TRUE(provider.ok());
  Status s = (*provider)->Present(kHost, "bad\"value");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unexpected characters"), std::string::npos) << s.message();
}

TEST(PluginProviderTest, AbiVersionMismatchIsRefused) {
  auto provider = PluginDnsProvider::Load(CERTKEEPER_BAD_ABI_DNS_PLUGIN, {});
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(provider.status().message().find("ABI mismatch"), std::string::npos)
      << provider.status().message();
  EXPECT_NE(provider.status().message().find("ABI version 2"), std::string::npos);
  EXPECT_EQ(provider.status().where(), CERTKEEPER_BAD_ABI_DNS_PLUGIN);
}

TEST(PluginProviderTest, MissingLibraryOrEntryPointIsRefused) {
  auto missing = PluginDnsProvider::Load("/nonexistent/libplugin.so", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot load"), std::string::npos);
}

TEST(PluginProviderTest, LibraryWithoutTheEntryPointIsRefused) {
  const std::string libz = "/lib/x86_64-linux-gnu/libz.so.1";
  if (access(libz.c_str(), R_OK) != 0) GTEST_SKIP() << "no " << libz << " on this system";
  auto not_plugin = PluginDnsProvider::Load(libz, {});
  ASSERT_FALSE(not_plugin.ok());
  EXPECT_NE(not_plugin.status().message().find("exports no certkeeper_dns_plugin_v1"),
            std::string::npos)
      << not_plugin.status().message();
}

// A fresh 0700 directory under /tmp holding a copy of the example plugin;
// removed with everything in it by the destructor.
class PluginCopy {
 public:
  PluginCopy() {
    char tmpl[] = "/tmp/certkeeper-plugin-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    path_ = dir_ + "/libplugin.so";
    std::error_code ec;
    std::filesystem::copy_file(CERTKEEPER_EXAMPLE_DNS_PLUGIN, path_, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(chmod(path_.c_str(), 0755), 0);
  }
  ~PluginCopy() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

void ExpectRefused(const std::string& path, const std::string& why) {
  auto provider = PluginDnsProvider::Load(path, {{"url", "http://127.0.0.1:1"}});
  ASSERT_FALSE(provider.ok()) << path;
  EXPECT_EQ(provider.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(provider.status().message().find(why), std::string::npos)
      << provider.status().message();
  EXPECT_FALSE(provider.status().hint().empty());
}

TEST(PluginProviderTest, TrustedCopyLoads) {
  PluginCopy copy;
  auto provider = PluginDnsProvider::Load(copy.path(), {{"url", "http://127.0.0.1:1"}});
  EXPECT_TRUE(provider.ok()) << provider.status().ToString();
}

TEST(PluginProviderTest, GroupWritablePluginIsRefused) {
  PluginCopy copy;
  ASSERT_EQ(chmod(copy.path().c_str(), 0775), 0);
  ExpectRefused(copy.path(), copy.path() + " is group or world writable");
}

TEST(PluginProviderTest, PluginInWorldWritableDirectoryIsRefused) {
  PluginCopy copy;
  ASSERT_EQ(chmod(copy.dir().c_str(), 0777), 0);
  ExpectRefused(copy.path(), copy.dir() + " is group or world writable");
}

TEST(PluginProviderTest, PluginThroughSymlinkIsCheckedAtItsTarget) {
  PluginCopy copy;
  std::string link = copy.dir() + "/link.so";
  ASSERT_EQ(symlink(copy.path().c_str(), link.c_str()), 0);
  EXPECT_TRUE(PluginDnsProvider::Load(link, {{"url", "http://127.0.0.1:1"}}).ok());
  ASSERT_EQ(chmod(copy.path().c_str(), 0777), 0);
  ExpectRefused(link, copy.path() + " is group or world writable");
}

TEST(PluginProviderTest, PluginOwnedByAnotherUserIsRefused) {
  PluginCopy copy;
  constexpr uid_t kNobody = 65534;
  if (geteuid() == 0) {
    ASSERT_EQ(chown(copy.path().c_str(), kNobody, kNobody), 0);
    ExpectRefused(copy.path(), copy.path() + " is owned by uid 65534");
    return;
  }
  // Unprivileged: the copy is ours, so it belongs to "another user" when the
  // loader runs on behalf of nobody.
  Result<int> fd = OpenTrustedLibrary(copy.path(), kNobody);
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.status().message().find("is owned by uid " + std::to_string(geteuid())),
            std::string::npos)
      << fd.status().message();
}

}  // namespace
}  // namespace certkeeper::challenges
