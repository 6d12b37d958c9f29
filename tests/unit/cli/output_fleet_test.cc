// What `list`, `show` and `history` print in a fleet (which host renewed,
// which hosts deployed which version), escaped like every other field, and
// that a single host's output carries none of it.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "cli/output.h"

namespace certkeeper::cli {
namespace {

using lifecycle::AttemptView;
using lifecycle::CertificateView;

const std::string kHostile = "edge-\x1b[2Jevil";

CertificateView Cert(bool fleet, TimePoint now) {
  CertificateView c;
  c.name = "web";
  c.domains = {"web.example.com"};
  c.status = "valid";
  lifecycle::VersionView v;
  v.n = 3;
  v.serial = "abc";
  v.not_before = now;
  v.not_after = now + std::chrono::hours(24 * 60);
  v.state = "deployed";
  c.live = v;
  if (fleet) {
    c.fleet = true;
    c.renewed_by = "edge-1";
    c.hosts = {{"edge-1", 3, "deployed", now, ""},
               {"edge-2", 3, "failed", now, "reload refused \x1b]0;x\x07"}};
  }
  return c;
}

bool HasEscape(const std::string& s) { return s.find('\x1b') != std::string::npos; }

TEST(CliFleetOutputTest, ListShowsWhereEachCertificateIsDeployed) {
  const TimePoint now = std::chrono::system_clock::now();
  std::string out = RenderList({Cert(true, now)}, now);
  EXPECT_NE(out.find("HOSTS"), std::string::npos) << out;
  EXPECT_NE(out.find("edge-1 v3, edge-2 v3 failed"), std::string::npos) << out;
}

TEST(CliFleetOutputTest, ShowNamesTheRenewingHostAndEveryDelivery) {
  const TimePoint now = std::chrono::system_clock::now();
  CertificateView c = Cert(true, now);
  c.hosts.push_back({kHostile, 2, "deployed", now, ""});
  std::string out = RenderShow(c, now);
  EXPECT_NE(out.find("renewed by:  edge-1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("deployed on: edge-1 v3, edge-2 v3 (failed: reload refused"),
            std::string::npos)
      << out;
  EXPECT_FALSE(HasEscape(out)) << out;
}

TEST(CliFleetOutputTest, HistoryShowsEachAttemptsHostInAFleetOnly) {
  AttemptView a;
  a.id = 7;
  a.outcome = "success";
  a.host = kHostile;
  std::string out = RenderHistory({a});
  EXPECT_NE(out.find("  on edge-"), std::string::npos) << out;
  EXPECT_FALSE(HasEscape(out)) << out;
  EXPECT_EQ(ToJson(a)["host"], kHostile);  // --json carries the raw string
  a.host.clear();  // a single host: the engine leaves it empty
  EXPECT_EQ(RenderHistory({a}).find(" on "), std::string::npos);
  EXPECT_FALSE(ToJson(a).contains("host"));
}

TEST(CliFleetOutputTest, JsonListsTheHostsOfAFleetOnly) {
  const TimePoint now = std::chrono::system_clock::now();
  nlohmann::json j = ToJson(Cert(true, now), now);
  ASSERT_TRUE(j["hosts"].is_array());
  ASSERT_EQ(j["hosts"].size(), 2u);
  EXPECT_EQ(j["hosts"][0]["host"], "edge-1");
  EXPECT_EQ(j["hosts"][0]["version"], 3);
  EXPECT_EQ(j["hosts"][0]["state"], "deployed");
  EXPECT_TRUE(j["hosts"][0]["error"].is_null());
  EXPECT_EQ(j["hosts"][1]["state"], "failed");
  EXPECT_EQ(j["hosts"][1]["error"], "reload refused \x1b]0;x\x07");
  EXPECT_EQ(j["hosts"][1]["at"], FormatRfc3339(now));
  EXPECT_EQ(j["renewed_by"], "edge-1");

  nlohmann::json single = ToJson(Cert(false, now), now);
  EXPECT_FALSE(single.contains("hosts"));
  EXPECT_FALSE(single.contains("renewed_by"));
}

TEST(CliFleetOutputTest, SingleHostTextIsUnchanged) {
  const TimePoint now = std::chrono::system_clock::now();
  CertificateView c = Cert(false, now);
  std::string list = RenderList({c}, now);
  EXPECT_EQ(list.find("HOSTS"), std::string::npos) << list;
  std::string show = RenderShow(c, now);
  EXPECT_EQ(show.find("renewed by"), std::string::npos) << show;
  EXPECT_EQ(show.find("deployed on"), std::string::npos) << show;
  // The same view rendered as a fleet only adds lines.
  CertificateView fleet = Cert(true, now);
  std::string fleet_show = RenderShow(fleet, now);
  const std::string renewed = "  renewed by:  edge-1\n";
  size_t at = fleet_show.find(renewed);
  ASSERT_NE(at, std::string::npos);
  fleet_show.erase(at, renewed.size());
  at = fleet_show.find("  deployed on: ");
  ASSERT_NE(at, std::string::npos);
  fleet_show.erase(at, fleet_show.find('\n', at) + 1 - at);
  EXPECT_EQ(fleet_show, show);
}

}  // namespace
}  // namespace certkeeper::cli
