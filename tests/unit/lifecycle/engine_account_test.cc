// Account key rollover (RFC 8555 §7.3.5) when the CA's answer is lost: the new
// key stays on disk, and the next command that needs the account asks the CA
// (§7.3.1, onlyReturnExisting) which key it accepts and keeps that one.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "acme/http.h"
#include "base/fs.h"
#include "lifecycle/engine.h"
#include "store/sql_inventory.h"
#include "tests/unit/acme/fake_ca.h"

namespace certkeeper::lifecycle {
namespace {

using acme::HttpRequest;
using acme::HttpResponse;
using acme::testing::FakeCa;
using nlohmann::json;

// How the keyChange exchange goes wrong.
enum class KeyChange {
  kAnswered,        // the CA's answer arrives
  kAppliedButLost,  // the CA applies the change, the connection dies before the answer
  kLostOnTheWay,    // the request never reaches the CA
  kRefused,         // the CA answers with a 4xx problem document
};

// The transport between the engine and the scripted CA.
class Wire : public acme::HttpClient {
 public:
  explicit Wire(std::shared_ptr<FakeCa> ca) : ca_(std::move(ca)) {}
  KeyChange key_change = KeyChange::kAnswered;
  int only_return_existing = 0;  // newAccount lookups seen

  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (request.url != ca_->Url("/key-change") || key_change == KeyChange::kAnswered) {
      auto r = ca_->Send(request);
      if (request.url == ca_->Url("/new-acct") && !ca_->payloads.empty() &&
          ca_->payloads.back().value("onlyReturnExisting", false)) {
        ++only_return_existing;
      }
      return r;
    }
    switch (key_change) {
      case KeyChange::kAppliedButLost: {
        auto r = ca_->Send(request);
        applied_status = r.ok() ? r->status : -1;
        return Status(ErrorCode::kUnavailable, "connection reset by peer").Where(request.url);
      }
      case KeyChange::kLostOnTheWay:
        return Status(ErrorCode::kDeadlineExceeded, "timed out").Where(request.url);
      case KeyChange::kRefused: {
        HttpResponse r;
        r.status = 403;
        r.headers.Add("Content-Type", "application/problem+json");
        r.body = json{{"type", "urn:ietf:params:acme:error:unauthorized"},
                      {"detail", "key change refused"},
                      {"status", 403}}
                     .dump();
        return r;
      }
      case KeyChange::kAnswered:
        break;
    }
    return ca_->Send(request);
  }

  int applied_status = 0;

 private:
  std::shared_ptr<FakeCa> ca_;
};

class EngineAccountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_shared<FakeCa>("");
    wire_ = std::make_shared<Wire>(ca_);
    config_.state_dir = dir_.path() + "/state";
    config_.acme.server = ca_->directory_url();
    config_.acme.agree_tos = true;
    engine_ = OpenEngine();
    ASSERT_NE(engine_, nullptr);
    auto account = engine_->RegisterAccount();
    ASSERT_TRUE(account.ok()) << account.status().ToString();
    key_path_ = account->key_path;
    account_url_ = account->url;
    old_pem_ = Read(key_path_);
  }

  std::unique_ptr<Engine> OpenEngine() {
    auto engine = Engine::Open(config_, &clock_, wire_);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  static std::string Read(const std::string& path) {
    auto text = fs::ReadFile(path);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return text.ok() ? *text : std::string();
  }

  std::string pending() const { return key_path_ + ".new"; }

  std::vector<std::string> EventKinds() {
    store::SqliteOptions options;
    options.clock = &clock_;
    auto inv = store::SqlInventory::Open(store::InventoryPath(config_.state_dir), options);
    EXPECT_TRUE(inv.ok()) << inv.status().ToString();
    std::vector<std::string> kinds;
    if (!inv.ok()) return kinds;
    auto events = (*inv)->ListEvents(std::nullopt, 0);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (events.ok()) {
      for (const auto& e : *events) kinds.push_back(e.kind);
    }
    return kinds;
  }

  // The next command in a new process: `account show` signs with the stored
  // key, so it only succeeds when that is the key the CA has for the account.
  void NextRunShowsTheAccount() {
    engine_.reset();
    engine_ = OpenEngine();
    ASSERT_NE(engine_, nullptr);
    auto shown = engine_->ShowAccount();
    ASSERT_TRUE(shown.ok()) << shown.status().ToString();
    EXPECT_EQ(shown->url, account_url_);
    EXPECT_EQ(shown->status, "valid");
  }

  fs::TempDir dir_;
  FakeClock clock_{FromUnixSeconds(1767225600)};
  std::shared_ptr<FakeCa> ca_;
  std::shared_ptr<Wire> wire_;
  Config config_;
  std::unique_ptr<Engine> engine_;
  std::string key_path_, account_url_, old_pem_;
};

TEST_F(EngineAccountTest, AnswerLostAfterTheCaSwitchedKeepsTheNewKeyAndPromotesItNextRun) {
  wire_->key_change = KeyChange::kAppliedButLost;
  auto rolled = engine_->RolloverAccountKey();
  ASSERT_FALSE(rolled.ok());
  EXPECT_EQ(wire_->applied_status, 200);  // the CA did switch
  ASSERT_TRUE(fs::Exists(pending())) << "the key the CA now holds was deleted";
  EXPECT_TRUE(fs::CheckPrivateFileMode(pending()).ok());
  std::string new_pem = Read(pending());
  EXPECT_EQ(Read(key_path_), old_pem_);

  wire_->key_change = KeyChange::kAnswered;
  NextRunShowsTheAccount();
  EXPECT_EQ(wire_->only_return_existing, 1);  // asked with the new key; it was accepted
  EXPECT_FALSE(fs::Exists(pending()));
  EXPECT_EQ(Read(key_path_), new_pem);
  EXPECT_TRUE(fs::CheckPrivateFileMode(key_path_).ok());
  EXPECT_EQ(Read(key_path_ + ".old"), old_pem_);
  auto kinds = EventKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "account-key-rollover"), kinds.end());
}

TEST_F(EngineAccountTest, RequestLostBeforeTheCaSawItKeepsTheOldKeyAndRemovesTheNewOne) {
  wire_->key_change = KeyChange::kLostOnTheWay;
  auto rolled = engine_->RolloverAccountKey();
  ASSERT_FALSE(rolled.ok());
  ASSERT_TRUE(fs::Exists(pending()));

  wire_->key_change = KeyChange::kAnswered;
  NextRunShowsTheAccount();
  EXPECT_EQ(wire_->only_return_existing, 2);  // new key unknown, old key still bound
  EXPECT_FALSE(fs::Exists(pending()));
  EXPECT_EQ(Read(key_path_), old_pem_);
  auto kinds = EventKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "account-key-rollover-abandoned"),
            kinds.end());
}

TEST_F(EngineAccountTest, UnreachableCaKeepsBothKeysForTheRunAfter) {
  wire_->key_change = KeyChange::kLostOnTheWay;
  ASSERT_FALSE(engine_->RolloverAccountKey().ok());
  ASSERT_TRUE(fs::Exists(pending()));
  std::string new_pem = Read(pending());
  // The lookup itself gets no answer: nothing is decided, nothing removed.
  ca_->intercept = [](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.url.find("/new-acct") == std::string::npos) return std::nullopt;
    HttpResponse down;
    down.status = 503;
    return down;
  };
  engine_.reset();
  engine_ = OpenEngine();
  ASSERT_NE(engine_, nullptr);
  EXPECT_FALSE(engine_->ShowAccount().ok());
  EXPECT_EQ(Read(pending()), new_pem);
  EXPECT_EQ(Read(key_path_), old_pem_);
}

TEST_F(EngineAccountTest, DefiniteRefusalRemovesTheNewKeyAtOnce) {
  wire_->key_change = KeyChange::kRefused;
  auto rolled = engine_->RolloverAccountKey();
  ASSERT_FALSE(rolled.ok());
  EXPECT_FALSE(fs::Exists(pending()));
  EXPECT_EQ(Read(key_path_), old_pem_);
  wire_->key_change = KeyChange::kAnswered;
  NextRunShowsTheAccount();
  EXPECT_EQ(wire_->only_return_existing, 0);
}

TEST_F(EngineAccountTest, AnsweredRolloverSwitchesKeysAndLeavesNoPendingFile) {
  auto rolled = engine_->RolloverAccountKey();
  ASSERT_TRUE(rolled.ok()) << rolled.status().ToString();
  EXPECT_FALSE(fs::Exists(pending()));
  EXPECT_NE(Read(key_path_), old_pem_);
  EXPECT_EQ(Read(key_path_ + ".old"), old_pem_);
  NextRunShowsTheAccount();
  EXPECT_EQ(wire_->only_return_existing, 0);
}

TEST(EngineAccountContact, EmailThatIsNotUtf8IsAClearErrorNotAnAbort) {
  fs::TempDir dir;
  auto ca = std::make_shared<FakeCa>("");
  FakeClock clock(FromUnixSeconds(1767225600));
  Config config;
  config.state_dir = dir.path() + "/state";
  config.acme.server = ca->directory_url();
  config.acme.agree_tos = true;
  config.acme.email = "ops\xff@example.com";
  auto engine = Engine::Open(config, &clock, ca);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto account = (*engine)->RegisterAccount();
  ASSERT_FALSE(account.ok());
  EXPECT_EQ(account.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ca->CountPath("/new-acct"), 0);
}

}  // namespace
}  // namespace certkeeper::lifecycle
