// The JSON of `list --json` and `renew --json`, written as it is made
// (WriteJson, WriteListJson), is byte for byte the text of the nlohmann
// documents (DumpJson(ToJson(...))) for every shape a row can have.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/json_writer.h"
#include "cli/output.h"

namespace certkeeper::cli {
namespace {

using nlohmann::json;
using std::chrono::hours;

const TimePoint kNow = TimePoint(std::chrono::seconds(1'780'000'000));

lifecycle::VersionView Version(int n) {
  lifecycle::VersionView v;
  v.n = n;
  v.serial = "0a1b" + std::to_string(n);
  v.not_before = kNow - hours(24);
  v.not_after = kNow + hours(24 * 89);
  v.issuer = "CN=Test \"CA\" \xC3\xA9";
  v.fingerprint = "ab:cd";
  v.state = "deployed";
  v.domains = {"a.example", "b.example"};
  v.directory = "/var/lib/certkeeper/archive/web/" + std::to_string(n);
  v.created_at = kNow - hours(23);
  v.ca = n % 2 ? "primary" : "";
  v.server = "https://ca.test/dir";
  v.profile = n % 2 ? "" : "shortlived";
  return v;
}

// Every optional part of a row, one row each, and one with all of them.
std::vector<lifecycle::CertificateView> ListRows() {
  std::vector<lifecycle::CertificateView> rows;
  lifecycle::CertificateView pending;
  pending.name = "pending";
  pending.domains = {"pending.example"};
  pending.key_type = "ec256";
  pending.status = "pending";
  pending.status_reason = "no version issued yet";
  pending.live_directory = "/state/live/pending";
  rows.push_back(pending);

  lifecycle::CertificateView valid = pending;
  valid.name = "valid";
  valid.challenges = {"http-01", "dns-01"};
  valid.deploy = {"nginx"};
  valid.status = "valid";
  valid.status_reason = "renewal window opens in 59 days";
  valid.live = Version(3);
  valid.next_attempt = kNow + hours(24 * 59);
  valid.next_attempt_reason = "renewal window";
  rows.push_back(valid);

  lifecycle::CertificateView failing = valid;
  failing.name = "failing\ttab";
  failing.status = "failing";
  failing.status_reason = "2 consecutive failures";
  failing.last_attempt = lifecycle::AttemptView{};
  failing.last_attempt->started_at = kNow - hours(2);
  failing.last_attempt->outcome = "failed";
  failing.last_attempt->challenge = "http-01";
  failing.last_attempt->error_type = "urn:ietf:params:acme:error:connection";
  failing.last_attempt->error_detail = "detail \x1b[2J \xFF not UTF-8";
  failing.renewal_info = lifecycle::CertificateView::RenewalInfo{
      kNow + hours(1), kNow + hours(5), kNow + hours(3), kNow + hours(6), ""};
  rows.push_back(failing);

  lifecycle::CertificateView ok_attempt = valid;
  ok_attempt.name = "attempt-ok";
  ok_attempt.last_attempt = lifecycle::AttemptView{};
  ok_attempt.last_attempt->started_at = kNow - hours(3);
  ok_attempt.last_attempt->finished_at = kNow - hours(2);
  ok_attempt.last_attempt->outcome = "success";
  ok_attempt.renewal_info = lifecycle::CertificateView::RenewalInfo{
      kNow + hours(1), kNow + hours(5), kNow + hours(3), kNow + hours(6), "https://ca.test/why"};
  rows.push_back(ok_attempt);

  lifecycle::CertificateView everything = failing;
  everything.name = "everything";
  everything.has_key_pins = true;
  everything.current_key = lifecycle::CertificateView::KeyPinsView{"pin=", "00ff"};
  everything.key_pins_error = "next key not readable";
  everything.versions = {Version(4), Version(3)};
  everything.fleet = true;
  everything.renewed_by = "edge-1";
  everything.hosts = {{"edge-1", 4, "deployed", kNow - hours(1), ""},
                      {"edge-2", 3, "failed", kNow - hours(1), "reload failed"}};
  rows.push_back(everything);

  lifecycle::CertificateView fleet_empty = pending;
  fleet_empty.name = "fleet-empty";
  fleet_empty.fleet = true;
  fleet_empty.has_key_pins = true;
  rows.push_back(fleet_empty);

  lifecycle::CertificateView expired = valid;
  expired.name = "expired";
  expired.live->not_after = kNow - hours(50);  // negative days_left
  expired.status = "expired";
  rows.push_back(expired);
  return rows;
}

std::string Streamed(const std::vector<lifecycle::CertificateView>& rows) {
  JsonWriter w(2);
  WriteListJson(w, rows, kNow);
  w.Finish();
  return w.Take();
}

TEST(OutputStreamTest, ListIsTheTextOfTheNlohmannDocument) {
  const auto rows = ListRows();
  for (const auto& row : rows) {
    JsonWriter w(2);
    WriteJson(w, row, kNow);
    w.Finish();
    EXPECT_EQ(w.Take(), DumpJson(ToJson(row, kNow))) << row.name;
  }
  EXPECT_EQ(Streamed(rows), DumpJson(ListJson(rows, kNow)));
  EXPECT_EQ(Streamed({}), DumpJson(ListJson({}, kNow)));
  EXPECT_NO_THROW((void)json::parse(Streamed(rows)));
}

TEST(OutputStreamTest, RenewOutcomesAreTheTextOfTheNlohmannDocuments) {
  std::vector<lifecycle::CertificateOutcome> outcomes;
  lifecycle::CertificateOutcome not_due;
  not_due.name = "web";
  not_due.outcome = "not-due";
  not_due.reason = "renewal window opens in 59 days";
  not_due.decision = "not-due";
  not_due.until = kNow + hours(24 * 59);
  outcomes.push_back(not_due);

  lifecycle::CertificateOutcome renewed;
  renewed.name = "api";
  renewed.outcome = "renewed";
  renewed.version = Version(2);
  outcomes.push_back(renewed);

  lifecycle::CertificateOutcome failed;
  failed.name = "mail";
  failed.outcome = "failed";
  failed.reason = "order failed";
  failed.decision = "due";
  failed.limit = "ca-limit:account";
  Problem problem;
  problem.type = "urn:ietf:params:acme:error:rateLimited";
  problem.detail = "too many \"orders\"";
  problem.status = 429;
  failed.error = Status(ErrorCode::kUnavailable, "new order")
                     .Where("https://ca.test/new-order")
                     .Hint("wait")
                     .WithProblem(problem)
                     .WithRetryAfter(kNow + hours(1));
  outcomes.push_back(failed);

  lifecycle::CertificateOutcome skipped;
  skipped.name = "edge";
  skipped.outcome = "skipped";
  skipped.held_by = "edge-2";
  skipped.error = Status(ErrorCode::kLocked, "claimed");
  outcomes.push_back(skipped);

  JsonWriter w(2);
  w.BeginArray();
  json expected = json::array();
  for (const auto& o : outcomes) {
    WriteJson(w, o);
    expected.push_back(ToJson(o));
  }
  w.EndArray();
  w.Finish();
  EXPECT_EQ(w.Take(), DumpJson(expected));
}

}  // namespace
}  // namespace certkeeper::cli
