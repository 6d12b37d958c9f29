// Which ACME directory a command line uses: one row per combination of
// --server, --staging and what the config file names.
#include "cli/ca_choice.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace certkeeper::cli {
namespace {

constexpr const char* kProduction = "https://acme-v02.api.letsencrypt.org/directory";
constexpr const char* kStaging = "https://acme-staging-v02.api.letsencrypt.org/directory";
constexpr const char* kOther = "https://ca.example.net/directory";
constexpr const char* kFlag = "https://flag.example.net/dir";

struct CaChoiceRow {
  const char* meaning;
  CaFlags flags;
  std::string file_server;  // [acme] server of the file
  bool file_cas = false;    // the file has [[ca]] blocks
  std::string want_server;  // config.acme.server afterwards (when ok)
  std::string want_error;   // part of the message; empty: ok
};

const std::vector<CaChoiceRow>& CaChoiceRows() {
  static const std::vector<CaChoiceRow> kRows = {
      {"nothing configured: Let's Encrypt production", {}, "", false, kProduction, ""},
      {"--staging alone: Let's Encrypt staging", {"", true}, "", false, kStaging, ""},
      {"--server alone", {kFlag, false}, "", false, kFlag, ""},
      {"the file's [acme] server", {}, kOther, false, kOther, ""},
      {"--server overrides [acme] server", {kFlag, false}, kOther, false, kFlag, ""},
      {"[[ca]] blocks: acme.server stays empty", {}, "", true, "", ""},
      {"--staging with --server", {kFlag, true}, "", false, "",
       "--staging and --server cannot be combined"},
      {"--staging with [acme] server", {"", true}, kOther, false, "",
       "--staging conflicts with [acme] server"},
      {"--staging with [[ca]]", {"", true}, "", true, "", "--staging cannot be combined"},
      {"--server with [[ca]]", {kFlag, false}, "", true, "", "--server cannot be combined"},
  };
  return kRows;
}

TEST(CaChoiceTest, Table) {
  for (const CaChoiceRow& row : CaChoiceRows()) {
    SCOPED_TRACE(row.meaning);
    lifecycle::Config config;
    config.source = "/etc/certkeeper/certkeeper.toml";
    config.acme.server = row.file_server;
    if (row.file_cas) {
      lifecycle::AcmeSettings ca;
      ca.name = "le";
      ca.server = kOther;
      config.cas.push_back(ca);
    }
    Status s = ChooseCa(row.flags, config);
    if (row.want_error.empty()) {
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(config.acme.server, row.want_server);
      EXPECT_EQ(config.cas.size(), row.file_cas ? 1u : 0u);
    } else {
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(s.ToString().find(row.want_error), std::string::npos) << s.ToString();
      EXPECT_EQ(config.acme.server, row.file_server) << "a refused choice changes nothing";
    }
  }
}

// A conflict with the file names the file, so the user knows where to look.
TEST(CaChoiceTest, ConflictNamesTheFile) {
  lifecycle::Config config;
  config.source = "/srv/ck.toml";
  config.acme.server = kOther;
  Status s = ChooseCa(CaFlags{"", true}, config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("/srv/ck.toml"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace certkeeper::cli
