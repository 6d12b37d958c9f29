// The real alert targets against local stand-ins: a command and a sendmail
// that record what they got, and a loopback HTTP receiver for the webhook.
#include "lifecycle/alert_delivery.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/fs.h"

namespace certkeeper::lifecycle {
namespace {

using nlohmann::json;

AlertNotification DeliverySample() {
  AlertNotification n;
  n.alert = "ops";
  n.host = "host1";
  n.at = FromUnixSeconds(1'800'000'000);
  n.id = "abc";
  n.firing = {{"expiring", "web", "$(touch /tmp/pwned); `id`", n.at, std::nullopt},
              {"revoked", "api", "revoked", n.at, std::nullopt}};
  n.resolved = {{"expiring", "old", "gone", n.at, n.at}};
  return n;
}

// An executable script at dir/name.
std::string Script(const fs::TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.path() + "/" + name;
  fs::WriteOptions executable;
  executable.mode = 0755;
  EXPECT_TRUE(fs::WriteFileAtomic(path, "#!/bin/sh\n" + body, executable).ok());
  return path;
}

TEST(AlertCommand, GetsTheJsonOnStdinAndTheCountsInItsEnvironment) {
  fs::TempDir dir;
  const std::string out = dir.path() + "/out";
  AlertSettings alert;
  alert.name = "ops";
  alert.type = "command";
  alert.command = {Script(dir, "notify",
                          "cat > \"$1\"\n"
                          "printf '%s|%s|%s|%s' \"$CERTKEEPER_ALERT\" \"$CERTKEEPER_EVENTS\" "
                          "\"$CERTKEEPER_FIRING\" \"$CERTKEEPER_RESOLVED\" > \"$1.env\"\n"),
                   out};
  Status s = SendAlertCommand(alert, DeliverySample());
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto stdin_data = fs::ReadFile(out);
  ASSERT_TRUE(stdin_data.ok());
  json j = json::parse(*stdin_data);
  EXPECT_EQ(j["firing"][0]["detail"], "$(touch /tmp/pwned); `id`");
  EXPECT_EQ(j["resolved"][0]["subject"], "old");
  auto env = fs::ReadFile(out + ".env");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, "ops|expiring,revoked|2|1");
}

TEST(AlertCommand, NonZeroExitAndTimeoutAreFailedDeliveries) {
  fs::TempDir dir;
  AlertSettings alert;
  alert.name = "ops";
  alert.type = "command";
  alert.command = {Script(dir, "fail", "echo broken >&2\nexit 3\n")};
  Status s = SendAlertCommand(alert, DeliverySample());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("exit status 3"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("broken"), std::string::npos) << s.ToString();
  alert.command = {Script(dir, "hang", "exec sleep 30\n")};
  alert.timeout = std::chrono::seconds(1);
  auto started = std::chrono::steady_clock::now();
  s = SendAlertCommand(alert, DeliverySample());
  EXPECT_FALSE(s.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

TEST(AlertEmail, SendmailGetsTheMessageWithDashTAndDashI) {
  fs::TempDir dir;
  const std::string out = dir.path() + "/mail";
  AlertSettings alert;
  alert.name = "ops";
  alert.type = "email";
  alert.to = {"ops@example.com"};
  alert.from = "certkeeper@example.com";
  alert.sendmail = Script(dir, "sendmail", "printf '%s ' \"$@\" > " + out +
                                               ".argv\ncat > " + out + "\n");
  Status s = SendAlertEmail(alert, DeliverySample());
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto argv = fs::ReadFile(out + ".argv");
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(*argv, "-t -i ");
  auto mail = fs::ReadFile(out);
  ASSERT_TRUE(mail.ok());
  EXPECT_EQ(mail->rfind("From: certkeeper@example.com\r\nTo: ops@example.com\r\n", 0), 0u)
      << *mail;
  EXPECT_NE(mail->find("Subject: [certkeeper] ops: 2 firing, 1 resolved\r\n"), std::string::npos);
  EXPECT_NE(mail->find("expiring web"), std::string::npos);
}

// A loopback receiver that answers `status` and keeps what it got.
class Receiver {
 public:
  explicit Receiver(int status) {
    server_.Post(".*", [this, status](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      paths_.push_back(req.path);
      bodies_.push_back(req.body);
      auth_.push_back(req.get_header_value("Authorization"));
      res.status = status;
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> paths, bodies, auth;
  void Copy() {
    std::lock_guard<std::mutex> lock(mu_);
    paths = paths_;
    bodies = bodies_;
    auth = auth_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> paths_, bodies_, auth_;
};

TEST(AlertWebhook, PostsAlertmanagerArrayWithTheBearerToken) {
  Receiver receiver(200);
  fs::TempDir dir;
  ASSERT_TRUE(fs::WritePrivateFile(dir.path() + "/token", "s3cret\n").ok());
  AlertSettings alert;
  alert.name = "ops";
  alert.type = "webhook";
  alert.format = "alertmanager";
  alert.url = receiver.url();
  alert.token_file = dir.path() + "/token";
  Status s = SendAlertWebhook(alert, DeliverySample());
  ASSERT_TRUE(s.ok()) << s.ToString();
  receiver.Copy();
  ASSERT_EQ(receiver.paths.size(), 1u);
  EXPECT_EQ(receiver.paths[0], "/api/v2/alerts");
  EXPECT_EQ(receiver.auth[0], "Bearer s3cret");
  json j = json::parse(receiver.bodies[0]);
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j.size(), 3u);
}

TEST(AlertWebhook, ANon2xxAnswerIsAFailedDelivery) {
  Receiver receiver(503);
  AlertSettings alert;
  alert.name = "ops";
  alert.type = "webhook";
  alert.url = receiver.url() + "/hook";
  Status s = SendAlertWebhook(alert, DeliverySample());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("HTTP 503"), std::string::npos) << s.ToString();
  receiver.Copy();
  ASSERT_EQ(receiver.paths.size(), 1u);
  EXPECT_EQ(receiver.paths[0], "/hook");
  EXPECT_EQ(json::parse(receiver.bodies[0])["alert"], "ops");
}

TEST(AlertWebhook, ATokenFileWithControlCharactersIsRefused) {
  fs::TempDir dir;
  ASSERT_TRUE(fs::WritePrivateFile(dir.path() + "/token", "a\x01" "b\n").ok());
  EXPECT_FALSE(ReadBearerToken(dir.path() + "/token").ok());
  ASSERT_TRUE(fs::WritePrivateFile(dir.path() + "/token", "\n").ok());
  EXPECT_FALSE(ReadBearerToken(dir.path() + "/token").ok());
}

}  // namespace
}  // namespace certkeeper::lifecycle
