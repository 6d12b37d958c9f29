#include "challenges/dns_provider_exec.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>

#include "base/fs.h"
#include "challenges/dns01_solver.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges {
namespace {

using std::chrono::milliseconds;

// Every call appends one line: argv then the CERTKEEPER_DNS_* environment,
// separated by '|'. Values are printed with printf '%s' and never evaluated.
constexpr char kRecorder[] = R"(#!/bin/sh
printf '%s|%s|%s|%s|%s|%s|%s|%s\n' "$#" "$1" "$2" "$3" "$CERTKEEPER_DNS_ACTION" \
  "$CERTKEEPER_DNS_FQDN" "$CERTKEEPER_DNS_VALUE" "$CERTKEEPER_DNS_DOMAIN" >> "$0.log"
echo "done $1"
if [ "$1" = present ] && [ -e "$0.fail-present" ]; then
  echo "zone is locked by another update" >&2
  exit 3
fi
exit 0
)";

class ExecProviderTest : public ::testing::Test {
 protected:
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = dir_.path() + "/" + name;
    EXPECT_TRUE(fs::WriteFileAtomic(path, body, fs::WriteOptions{0755, {}, {}}).ok());
    return path;
  }
  std::string Log(const std::string& script) {
    Result<std::string> text = fs::ReadFile(script + ".log");
    return text.ok() ? *text : "";
  }
  fs::TempDir dir_;
};

TEST_F(ExecProviderTest, PassesArgvAndEnvironmentExactlyWithoutAShell) {
  std::string script = Script("hook", kRecorder);
  std::string marker = dir_.path() + "/pwned";
  std::string value = "$(touch " + marker + ");`touch " + marker + "` 'x\"";
  auto provider = ExecDnsProvider::Create({{script}, milliseconds(10000)});
  ASSERT_TRUE(provider.ok());
  Status s = (*provider)->Present("_acme-challenge.example.com.", value);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE((*provider)->CleanUp("_acme-challenge.example.com.", value).ok());
  EXPECT_EQ(Log(script),
            "3|present|_acme-challenge.example.com.|" + value + "|present|_acme-challenge.example.com.|" +
                value + "|example.com\n" + "3|cleanup|_acme-challenge.example.com.|" + value +
                "|cleanup|_acme-challenge.example.com.|" + value + "|example.com\n");
  EXPECT_FALSE(fs::Exists(marker)) << "the value was interpreted by a shell";
  std::vector<std::string> notes = (*provider)->TakeNotes();
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("stdout: done present"), std::string::npos) << notes[0];
}

TEST_F(ExecProviderTest, ExtraArgumentsComeBeforeTheAction) {
  std::string script = Script("hook", kRecorder);
  auto provider = ExecDnsProvider::Create({{script, "--zone-file"}, milliseconds(10000)});
  ASSERT_TRUE((*provider)->Present("_acme-challenge.a.example.", "v").ok());
  EXPECT_EQ(Log(script).substr(0, 40), "4|--zone-file|present|_acme-challenge.a.");
}

TEST_F(ExecProviderTest, NonZeroExitNamesTheProgramAndItsStderr) {
  std::string script = Script("hook", kRecorder);
  ASSERT_TRUE(fs::WriteFileAtomic(script + ".fail-present", "").ok());
  auto provider = ExecDnsProvider::Create({{script}, milliseconds(10000)});
  Status s = (*provider)->Present("_acme-challenge.example.com.", "v");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(script), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("exit status 3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("zone is locked"), std::string::npos) << s.message();
}

TEST_F(ExecProviderTest, HangingProgramIsKilledAtTheTimeout) {
  std::string script = Script("hang", "#!/bin/sh\nexec sleep 60\n");
  auto provider = ExecDnsProvider::Create({{script}, milliseconds(300)});
  auto start = std::chrono::steady_clock::now();
  Status s = (*provider)->Present("_acme-challenge.example.com.", "v");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST_F(ExecProviderTest, CheckFindsMissingPrograms) {
  auto missing = ExecDnsProvider::Create({{dir_.path() + "/nope"}, milliseconds(1000)});
  EXPECT_FALSE((*missing)->Check().ok());
  auto in_path = ExecDnsProvider::Create({{"sh"}, milliseconds(1000)});
  EXPECT_TRUE((*in_path)->Check().ok());
  EXPECT_FALSE(ExecDnsProvider::Create({{}, milliseconds(1000)}).ok());
}

// Answers every query with NOERROR and no data.
class EmptyDns : public dns::DnsClient {
 public:
  Result<std::string> Exchange(const dns::ServerAddress&, std::string_view query,
                               milliseconds) override {
    dns::Message m = *dns::DecodeMessage(query);
    m.header.qr = true;
    return *dns::EncodeMessage(m);
  }
};

TEST_F(ExecProviderTest, SolverCallsCleanupEvenAfterPresentFailed) {
  std::string script = Script("hook", kRecorder);
  ASSERT_TRUE(fs::WriteFileAtomic(script + ".fail-present", "").ok());
  Dns01Config config{"exec", "127.0.0.1:53", std::chrono::seconds(5), {}, {script}};
  FakeClock clock(TimePoint(std::chrono::seconds(1700000000)));
  auto solver = MakeDns01Solver(config, std::make_shared<EmptyDns>(), &clock);
  ASSERT_TRUE(solver.ok()) << solver.status().ToString();
  std::vector<ChallengeTask> tasks = {{"example.com", false, "tok", "tok.thumb"}};
  EXPECT_FALSE((*solver)->Present(tasks).ok());
  EXPECT_TRUE((*solver)->CleanUp(tasks).ok());
  std::string value = Dns01TxtValue("tok.thumb");
  EXPECT_EQ(Log(script), "3|present|_acme-challenge.example.com.|" + value + "|present|_acme-challenge.example.com.|" +
                             value + "|example.com\n" + "3|cleanup|_acme-challenge.example.com.|" +
                             value + "|cleanup|_acme-challenge.example.com.|" + value +
                             "|example.com\n");
  std::vector<SolverNote> notes = (*solver)->TakeNotes();
  bool has_stderr = false;
  for (const SolverNote& n : notes) has_stderr |= n.message.find("zone is locked") != std::string::npos;
  EXPECT_TRUE(has_stderr);
}

}  // namespace
}  // namespace certkeeper::challenges
