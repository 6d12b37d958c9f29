// What `list`, `show` and `history` print for an inventory whose rows hold
// hostile or broken text: a CA detail with terminal escapes, hook output that
// is not UTF-8 (as rows written before capture was sanitized are). The
// commands run in-process through cli::Main against a real inventory.
#include "cli/output.h"

#include <stdlib.h>

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/fs.h"
#include "cli/app.h"
#include "tests/unit/cli/run_main.h"
#include "store/sql_inventory.h"

namespace certkeeper::cli {
namespace {

using nlohmann::json;

const std::string kFffd = "\xEF\xBF\xBD";
const std::string kHostileDetail = "order failed \x1b[2J\x1b]0;pwned\x07 see \xE2\x80\xAEtxt.exe";
const std::string kInvalidOutput = "hook said \xFF\xFE and \xE2\x82";  // cut euro sign

bool HasTerminalControl(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') continue;
    if (c < 0x20 || c == 0x7f) return true;
    if (s.compare(i, 3, "\xE2\x80\xAE") == 0) return true;  // U+202E
  }
  return false;
}

using testing::Ran;

class CliOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("CERTKEEPER_CONFIG");
    state_ = dir_.path() + "/state";
    ASSERT_TRUE(fs::MakeDirs(state_, 0700).ok());
    store::SqliteOptions options;
    options.clock = &clock_;
    auto inv = store::SqlInventory::Open(store::InventoryPath(state_), options);
    ASSERT_TRUE(inv.ok()) << inv.status().ToString();
    store::CertificateSpec spec;
    spec.name = "web";
    spec.domains = {"web.example.com"};
    spec.key_type = "ec256";
    spec.challenges = {"http-01"};
    spec.server = "https://ca.test/dir";
    Status put = (*inv)->PutCertificate(spec);
    ASSERT_TRUE(put.ok()) << put.ToString();
    store::Attempt attempt;
    attempt.certificate = "web";
    attempt.started_at = clock_.Now();
    attempt.server = spec.server;
    attempt.reason = "not yet issued";
    auto id = (*inv)->StartAttempt(attempt);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    store::AttemptStep step;
    step.at = clock_.Now();
    step.kind = "hook";
    step.identifier = "reload";
    step.result = store::StepResult::kFailed;
    step.error = "reload: exit status 1: " + kInvalidOutput;
    step.output = kInvalidOutput;
    ASSERT_TRUE((*inv)->AddAttemptStep(*id, step).ok());
    store::AttemptEnd end;
    end.finished_at = clock_.Now();
    end.outcome = store::AttemptOutcome::kFailed;
    end.error_type = "urn:ietf:params:acme:error:rejectedIdentifier";
    end.error_detail = kHostileDetail + " / " + kInvalidOutput;
    ASSERT_TRUE((*inv)->FinishAttempt(*id, end).ok());
  }

  Ran Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state_});
    return testing::RunMain(std::move(args));
  }

  fs::TempDir dir_;
  FakeClock clock_{FromUnixSeconds(1767225600)};
  std::string state_;
};

TEST_F(CliOutputTest, HistoryJsonWithInvalidUtf8RowSucceedsWithReplacement) {
  Ran r = Run({"--json", "history", "web"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_array() && doc.size() == 1) << r.out;
  std::string detail = doc[0]["error"]["detail"].get<std::string>();
  EXPECT_NE(detail.find("hook said " + kFffd), std::string::npos) << detail;
  // --json carries the raw (valid) text: the escape is data for the caller.
  EXPECT_NE(detail.find("\x1b[2J"), std::string::npos);
  ASSERT_EQ(doc[0]["steps"].size(), 1u);
  EXPECT_NE(doc[0]["steps"][0]["output"].get<std::string>().find(kFffd), std::string::npos);
}

TEST_F(CliOutputTest, ListJsonWithInvalidUtf8RowSucceedsWithReplacement) {
  Ran r = Run({"--json", "list"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_array() && doc.size() == 1) << r.out;
  std::string detail = doc[0]["last_attempt"]["error"]["detail"].get<std::string>();
  EXPECT_NE(detail.find(kFffd), std::string::npos) << detail;
}

TEST_F(CliOutputTest, HistoryEscapesTerminalControlsFromTheCa) {
  Ran r = Run({"history", "web"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_FALSE(HasTerminalControl(r.out)) << r.out;
  EXPECT_NE(r.out.find("order failed \\x1b[2J\\x1b]0;pwned\\x07 see \\u202etxt.exe"),
            std::string::npos)
      << r.out;
  // The store keeps text valid UTF-8, so the hook's invalid bytes were stored,
  // and are printed, as U+FFFD.
  EXPECT_NE(r.out.find(std::string("hook said ") + kFffd + kFffd + " and " + kFffd),
            std::string::npos)
      << r.out;
}

TEST_F(CliOutputTest, ShowEscapesTheLastAttemptsDetail) {
  Ran r = Run({"show", "web"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_FALSE(HasTerminalControl(r.out)) << r.out;
  EXPECT_NE(r.out.find("\\x1b[2J"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\\u202e"), std::string::npos) << r.out;
}

TEST(CliRenderTest, ErrorMessagesKeepTheirHintLineButEscapeTheRest) {
  Status s = Status(ErrorCode::kAcme, "newOrder failed: \x1b[31mred\r\xE2\x80\xAE")
                 .Hint("try again");
  std::string text = RenderError(s);
  EXPECT_FALSE(HasTerminalControl(text)) << text;
  EXPECT_NE(text.find("\\x1b[31mred\\r\\u202e"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  hint: try again"), std::string::npos) << text;
}

TEST(CliRenderTest, DumpJsonReplacesInvalidUtf8InsteadOfThrowing) {
  json j = {{"detail", "a\xFF" "b"}};
  EXPECT_EQ(DumpJson(j, -1), "{\"detail\":\"a" + kFffd + "b\"}");
}

}  // namespace
}  // namespace certkeeper::cli
