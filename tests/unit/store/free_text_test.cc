// Free text from outside (a CA's problem detail, a hook's output) is stored as
// valid UTF-8 and bounded, whatever bytes and length it arrives with.
#include <string>

#include "base/text.h"
#include "store_test_util.h"

namespace certkeeper::store::testing {
namespace {

using std::chrono::hours;

// A stray byte and a euro sign (E2 82 AC) cut after two bytes.
const std::string kBroken = "bad \xff byte, cut \xe2\x82";
// 1 MB of two-byte characters, so a cut at a fixed byte count can land inside one.
const std::string kMegabyte = [] {
  std::string text = "head ";
  while (text.size() < 1024 * 1024) text += "\xc3\xa9";
  return text + " tail";
}();

class FreeTextTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    AddCertificate("web");
    Attempt a;
    a.certificate = "web";
    a.started_at = T0();
    a.server = "https://ca/dir";
    a.reason = kBroken;
    auto id = inv_->StartAttempt(a);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    id_ = *id;
  }
  void AddStep(const std::string& error, const std::string& output) {
    AttemptStep step{0, T0(), "validation", "http-01", kBroken, StepResult::kFailed,
                     error, output};
    auto seq = inv_->AddAttemptStep(id_, step);
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  }
  void Finish(const std::string& type, const std::string& detail) {
    AttemptEnd end;
    end.finished_at = T0() + hours(1);
    end.outcome = AttemptOutcome::kFailed;
    end.error_type = type;
    end.error_detail = detail;
    Status s = inv_->FinishAttempt(id_, end);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  int64_t id_ = 0;
};

TEST_F(FreeTextTest, InvalidUtf8IsStoredAsValidUtf8) {
  AddStep(kBroken, "output " + kBroken);
  Finish("urn:x:" + kBroken, "detail " + kBroken);
  auto got = inv_->GetAttempt(id_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(IsValidUtf8(got->reason)) << got->reason;
  EXPECT_TRUE(IsValidUtf8(got->error_type)) << got->error_type;
  EXPECT_EQ(got->error_detail, "detail " + SanitizeUtf8(kBroken));
  ASSERT_EQ(got->steps.size(), 1u);
  EXPECT_TRUE(IsValidUtf8(got->steps[0].identifier)) << got->steps[0].identifier;
  EXPECT_TRUE(IsValidUtf8(got->steps[0].error)) << got->steps[0].error;
  EXPECT_EQ(got->steps[0].output, "output " + SanitizeUtf8(kBroken));
  EXPECT_NE(got->steps[0].output.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD

  ASSERT_TRUE(inv_->AddEvent({0, T0(), "web", "failed", kBroken}).ok());
  auto events = inv_->ListEvents(std::string("web"), 0);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_TRUE(IsValidUtf8((*events)[0].message)) << (*events)[0].message;
}

TEST_F(FreeTextTest, MegabyteTextIsStoredCappedOnACharacterBoundary) {
  AddStep(kMegabyte, kMegabyte);
  Finish(kMegabyte, kMegabyte);
  auto got = inv_->GetAttempt(id_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  for (const std::string* text : {&got->error_detail, &got->steps.at(0).error}) {
    EXPECT_LE(text->size(), kMaxStoredTextBytes);
    EXPECT_TRUE(IsValidUtf8(*text));
    EXPECT_EQ(text->rfind("head ", 0), 0u);  // the start is kept
    EXPECT_NE(text->find(" bytes cut]"), std::string::npos);
  }
  EXPECT_LE(got->error_type.size(), kMaxStoredNameBytes);
  EXPECT_TRUE(IsValidUtf8(got->error_type));
  const std::string& output = got->steps.at(0).output;
  EXPECT_LE(output.size(), kMaxStepOutputBytes);
  EXPECT_TRUE(IsValidUtf8(output));
  EXPECT_EQ(output.substr(output.size() - 5), " tail");  // the end is kept

  ASSERT_TRUE(inv_->AddEvent({0, T0(), "web", "failed", kMegabyte}).ok());
  auto events = inv_->ListEvents(std::string("web"), 0);
  ASSERT_TRUE(events.ok());
  EXPECT_LE(events->at(0).message.size(), kMaxStoredTextBytes);
  EXPECT_TRUE(IsValidUtf8(events->at(0).message));
}

TEST_F(FreeTextTest, ScheduleLimitAndRenewalInfoTextIsBounded) {
  Schedule schedule;
  schedule.next_attempt_at = T0();
  schedule.deferred_reason = kMegabyte + kBroken;
  ASSERT_TRUE(inv_->SetSchedule("web", schedule).ok());

  RenewalInfoRecord info;
  info.version = 1;
  info.next_fetch_at = T0();
  info.explanation_url = "https://ca.example/" + std::string(kMaxStoredUrlBytes, 'a');
  ASSERT_TRUE(inv_->SetRenewalInfo("web", info).ok());
  auto cert = inv_->GetCertificate("web");
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_LE(cert->schedule.deferred_reason.size(), kMaxStoredTextBytes);
  EXPECT_TRUE(IsValidUtf8(cert->schedule.deferred_reason));
  ASSERT_TRUE(cert->renewal_info.has_value());
  EXPECT_EQ(cert->renewal_info->explanation_url, "");  // a cut URL is not kept

  info.explanation_url = "https://ca.example/" + kBroken;
  ASSERT_TRUE(inv_->SetRenewalInfo("web", info).ok());
  EXPECT_EQ(inv_->GetCertificate("web")->renewal_info->explanation_url,
            SanitizeUtf8(info.explanation_url));

  CaLimit limit{"https://ca/dir", AccountScope("https://ca/acct/1"), T0() + hours(1),
                kMegabyte + kBroken};
  ASSERT_TRUE(inv_->SetCaLimit(limit).ok());
  auto active = inv_->ActiveCaLimit(limit.server, limit.scope, T0());
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  ASSERT_TRUE(active->has_value());
  EXPECT_LE((*active)->reason.size(), kMaxStoredTextBytes);
  EXPECT_TRUE(IsValidUtf8((*active)->reason));
}

}  // namespace
}  // namespace certkeeper::store::testing
