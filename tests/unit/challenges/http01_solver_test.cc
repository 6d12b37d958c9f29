#include "challenges/http01_solver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <gtest/gtest.h>

#include "challenges/self_check.h"
#include "tests/unit/challenges/task_fixture.h"

namespace certkeeper::challenges {
namespace {

using task_fixture::kThumbprint;
using task_fixture::Task;

// A socket bound and listening on 127.0.0.1 on a free port; closed by the
// destructor.
class HeldPort {
 public:
  HeldPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(fd_, 4) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot bind a test socket";
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~HeldPort() { Release(); }
  void Release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

bool CanBind(int port) {
  ListenAddress address;
  address.host = "127.0.0.1";
  address.port = port;
  return CheckCanBind(address, "test").ok();
}

std::unique_ptr<Http01Solver> MakeSolver(std::string listen = "127.0.0.1:0") {
  Http01Options options;
  options.listen = std::move(listen);
  // Names of the tests resolve to nothing unless a test says otherwise.
  options.resolve = [](const std::string&) { return std::vector<std::string>{}; };
  Result<std::unique_ptr<Http01Solver>> solver = Http01Solver::Create(options);
  EXPECT_TRUE(solver.ok()) << solver.status().ToString();
  return std::move(*solver);
}

httplib::Result Fetch(int port, const std::string& method, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(2));
  if (method == "POST") return client.Post(path, "x", "text/plain");
  if (method == "DELETE") return client.Delete(path);
  return client.Get(path);
}

TEST(Http01SolverTest, ServesEachTokenAndNothingElse) {
  auto solver = MakeSolver();
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "tokenA_-1"),
                                      Task("b.example.com", "tokenB_-2"),
                                      Task("c.example.com", "tokenC_-3")};
  ASSERT_TRUE(solver->SelfCheck(tasks).ok());
  Status s = solver->Present(tasks);
  ASSERT_TRUE(s.ok()) << s.ToString();
  int port = solver->bound_port();
  ASSERT_GT(port, 0);
  for (const ChallengeTask& task : tasks) {
    auto res = Fetch(port, "GET", "/.well-known/acme-challenge/" + task.token);
    ASSERT_TRUE(res) << task.token;
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, task.key_authorization);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain");
  }
  auto unknown = Fetch(port, "GET", "/.well-known/acme-challenge/unknownToken");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  for (const char* path : {"/", "/index.html", "/.well-known/acme-challenge/",
                           "/.well-known/acme-challenge/tokenA_-1/x", "/tokenA_-1"}) {
    auto res = Fetch(port, "GET", path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_EQ(res->body.find(kThumbprint), std::string::npos) << path;
  }
  for (const char* method : {"POST", "DELETE"}) {
    auto res = Fetch(port, method, "/.well-known/acme-challenge/tokenA_-1");
    ASSERT_TRUE(res) << method;
    EXPECT_EQ(res->status, 405) << method;
  }
  EXPECT_TRUE(solver->CleanUp(tasks).ok());
  EXPECT_FALSE(solver->listening());
}

TEST(Http01SolverTest, PresentAddsTokensWhileRunningAndStopsAfterTheLast) {
  auto solver = MakeSolver();
  std::vector<ChallengeTask> first = {Task("a.example.com", "first")};
  std::vector<ChallengeTask> second = {Task("b.example.com", "second")};
  ASSERT_TRUE(solver->Present(first).ok());
  int port = solver->bound_port();
  ASSERT_TRUE(solver->Present(second).ok());
  EXPECT_EQ(solver->bound_port(), port);
  ASSERT_TRUE(solver->CleanUp(first).ok());
  EXPECT_TRUE(solver->listening());
  auto gone = Fetch(port, "GET", "/.well-known/acme-challenge/first");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  auto kept = Fetch(port, "GET", "/.well-known/acme-challenge/second");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->body, second[0].key_authorization);
  ASSERT_TRUE(solver->CleanUp(second).ok());
  EXPECT_FALSE(solver->listening());
  EXPECT_TRUE(CanBind(port));
}

TEST(Http01SolverTest, RejectsBadTokensBeforeServing) {
  const std::vector<std::string> bad = {"", "../etc/passwd", "a/b", "tok.en", "tok en",
                                        "tok%2F", std::string(257, 'a')};
  for (const std::string& token : bad) {
    auto solver = MakeSolver();
    std::vector<ChallengeTask> tasks = {Task("a.example.com", token)};
    EXPECT_FALSE(solver->SelfCheck(tasks).ok()) << token;
    Status s = solver->Present(tasks);
    EXPECT_FALSE(s.ok()) << token;
    EXPECT_FALSE(solver->listening()) << token;
  }
  auto solver = MakeSolver();
  ChallengeTask mismatched = Task("a.example.com", "good");
  mismatched.key_authorization = "other." + std::string(kThumbprint);
  EXPECT_FALSE(solver->Present({mismatched}).ok());
  ChallengeTask wildcard = Task("example.com", "good");
  wildcard.wildcard = true;
  EXPECT_FALSE(solver->SelfCheck({wildcard}).ok());
  EXPECT_TRUE(solver->SelfCheck({Task("a.example.com", std::string(256, 'a'))}).ok());
}

TEST(Http01SolverTest, PortInUseFailsSelfCheckClearly) {
  HeldPort held;
  std::string listen = "127.0.0.1:" + std::to_string(held.port());
  auto solver = MakeSolver(listen);
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "token1")};
  Status s = solver->SelfCheck(tasks);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "http-01: cannot listen on " + listen + ": address in use");
  EXPECT_FALSE(s.hint().empty());
  Status present = solver->Present(tasks);
  EXPECT_FALSE(present.ok());
  EXPECT_NE(present.message().find("address in use"), std::string::npos) << present.ToString();
  EXPECT_FALSE(solver->listening());
  EXPECT_TRUE(solver->CleanUp(tasks).ok());

  held.Release();
  EXPECT_TRUE(solver->SelfCheck(tasks).ok());
}

TEST(Http01SolverTest, CleanUpFreesThePort) {
  auto solver = MakeSolver();
  std::vector<ChallengeTask> tasks = {Task("a.example.com", "token1")};
  ASSERT_TRUE(solver->Present(tasks).ok());
  int port = solver->bound_port();
  // Leave a kept-alive connection open: stopping must not wait for it long.
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  auto res = client.Get("/.well-known/acme-challenge/token1");
  ASSERT_TRUE(res);
  EXPECT_FALSE(CanBind(port));
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(solver->CleanUp(tasks).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_TRUE(CanBind(port));
  // The next solver on the same port binds it.
  auto next = MakeSolver("127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(next->SelfCheck(tasks).ok());
  EXPECT_TRUE(next->Present(tasks).ok());
  EXPECT_TRUE(next->CleanUp(tasks).ok());
}

TEST(Http01SolverTest, SelfFetchChecksLocalNames) {
  Http01Options options;
  options.listen = "127.0.0.1:0";
  options.resolve = [](const std::string& name) {
    if (name == "local.example.com") return std::vector<std::string>{"127.0.0.1"};
    if (name == "elsewhere.example.com") return std::vector<std::string>{"127.0.0.2"};
    return std::vector<std::string>{"192.0.2.200"};
  };
  auto solver = std::move(*Http01Solver::Create(options));
  ASSERT_TRUE(solver->Present({Task("local.example.com", "tok1")}).ok());
  std::vector<SolverNote> notes = solver->TakeNotes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].identifier, "local.example.com");
  EXPECT_NE(notes[0].message.find("answered the key authorization"), std::string::npos)
      << notes[0].message;

  ASSERT_TRUE(solver->Present({Task("remote.example.com", "tok2")}).ok());
  notes = solver->TakeNotes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].message.find("skipped"), std::string::npos) << notes[0].message;

  // 127.0.0.2 is this host, but nothing listens there: the CA would fail too.
  Status s = solver->Present({Task("elsewhere.example.com", "tok3")});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("self-check"), std::string::npos) << s.ToString();
  EXPECT_EQ(solver->TakeNotes().size(), 1u);
  EXPECT_TRUE(solver->CleanUp({Task("local.example.com", "tok1"),
                               Task("remote.example.com", "tok2"),
                               Task("elsewhere.example.com", "tok3")})
                  .ok());
  EXPECT_FALSE(solver->listening());
}

struct ListenCase {
  const char* name;
  const char* text;
  bool ok;
  const char* host;
  int port;
};

class ListenAddressTest : public ::testing::TestWithParam<ListenCase> {};

TEST_P(ListenAddressTest, Parses) {
  const ListenCase& c = GetParam();
  Result<ListenAddress> address = ParseListenAddress(c.text);
  ASSERT_EQ(address.ok(), c.ok) << c.text;
  if (!c.ok) {
    EXPECT_NE(address.status().message().find(c.text), std::string::npos);
    return;
  }
  EXPECT_EQ(address->host, c.host);
  EXPECT_EQ(address->port, c.port);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ListenAddressTest,
    ::testing::Values(
        ListenCase{"Ipv4", "127.0.0.1:5002", true, "127.0.0.1", 5002},
        ListenCase{"AllIpv4", ":80", true, "0.0.0.0", 80},
        ListenCase{"Ipv6", "[::1]:443", true, "::1", 443},
        ListenCase{"AllIpv6Canonical", "[0::0]:443", true, "::", 443},
        ListenCase{"PortZero", "127.0.0.1:0", true, "127.0.0.1", 0},
        ListenCase{"NoPort", "127.0.0.1", false, "", 0},
        ListenCase{"EmptyPort", "127.0.0.1:", false, "", 0},
        ListenCase{"PortTooLarge", "127.0.0.1:65536", false, "", 0},
        ListenCase{"PortNotNumber", "127.0.0.1:http", false, "", 0},
        ListenCase{"Hostname", "localhost:80", false, "", 0},
        ListenCase{"Ipv6WithoutBrackets", "::1:80", false, "", 0},
        ListenCase{"UnclosedBracket", "[::1:80", false, "", 0},
        ListenCase{"Ipv4InBrackets", "[127.0.0.1]:80", false, "", 0}),
    [](const ::testing::TestParamInfo<ListenCase>& info) { return info.param.name; });

TEST(Http01SolverTest, IpIdentifierSelfFetchConnectsToTheAddressItself) {
  Http01Options options;
  options.listen = "127.0.0.1:0";
  int resolved = 0;
  options.resolve = [&resolved](const std::string&) {
    ++resolved;
    return std::vector<std::string>{"192.0.2.200"};
  };
  auto solver = std::move(*Http01Solver::Create(options));
  ASSERT_TRUE(solver->SelfCheck({Task("127.0.0.1", "tokIp")}).ok());
  solver->TakeNotes();
  Status s = solver->Present({Task("127.0.0.1", "tokIp")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<SolverNote> notes = solver->TakeNotes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].message, "http-01 self-check: http://127.0.0.1:" +
                                  std::to_string(solver->bound_port()) +
                                  "/.well-known/acme-challenge/tokIp answered the key "
                                  "authorization in " +
                                  notes[0].message.substr(notes[0].message.rfind(' ') + 1));
  // An address of another host: nothing to fetch here, as for remote names.
  ASSERT_TRUE(solver->Present({Task("192.0.2.7", "tokFar")}).ok());
  notes = solver->TakeNotes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].message,
            "http-01 self-check skipped: 192.0.2.7 is not an address of this host");
  EXPECT_EQ(resolved, 0) << "an IP identifier is never resolved (RFC 8738 §4)";
  EXPECT_TRUE(solver->CleanUp({Task("127.0.0.1", "tokIp"), Task("192.0.2.7", "tokFar")}).ok());
}

TEST(Http01SolverTest, Ipv6IdentifierGoesInBracketsInUrlAndHost) {
  EXPECT_EQ(UrlHost("::1"), "[::1]");
  EXPECT_EQ(UrlHost("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(UrlHost("example.com"), "example.com");
  if (!CheckCanBind(*ParseListenAddress("[::1]:0"), "test").ok()) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  auto solver = MakeSolver("[::1]:0");
  Status s = solver->Present({Task("::1", "tokV6")});
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<SolverNote> notes = solver->TakeNotes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].message.find("http://[::1]:" + std::to_string(solver->bound_port()) +
                                  "/.well-known/acme-challenge/tokV6 answered"),
            std::string::npos)
      << notes[0].message;
  EXPECT_TRUE(solver->CleanUp({Task("::1", "tokV6")}).ok());
}

TEST(Http01SolverTest, NonCanonicalOrWildcardIpIdentifierIsRefused) {
  auto solver = MakeSolver();
  for (const char* bad : {"127.0.0.01", "::0:1", "[::1]", "0x7f.0.0.1", "127.0.0.1%lo"}) {
    EXPECT_FALSE(solver->SelfCheck({Task(bad, "tok")}).ok()) << bad;
  }
  ChallengeTask wildcard = Task("127.0.0.1", "tok");
  wildcard.wildcard = true;
  EXPECT_FALSE(solver->SelfCheck({wildcard}).ok());
}

}  // namespace
}  // namespace certkeeper::challenges
