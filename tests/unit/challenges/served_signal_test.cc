// The wait for the CA's validation requests: it ends at the requests, at the
// timeout when none come, and counts only what came after Present. (Solvers
// that cannot see the CA's requests answer nullopt: the Solver default.)
#include "challenges/served_signal.h"

#include <gtest/gtest.h>

#include <httplib.h>

#include <thread>

#include "challenges/http01_solver.h"

namespace certkeeper::challenges {
namespace {

using std::chrono::milliseconds;

// Long enough that a wait ending by its timeout is not mistaken for one that
// saw the requests, on a loaded machine too.
ServedWaitOptions Patient() {
  ServedWaitOptions o;
  o.first_timeout = milliseconds(20'000);
  o.max_wait = milliseconds(30'000);
  o.quiet = std::chrono::microseconds(2000);
  o.grace = std::chrono::microseconds(0);
  return o;
}

TEST(ServedSignalTest, ReturnsWhenTheRequestsCameAndStopped) {
  ServedSignal signal;
  std::thread ca([&] {
    std::this_thread::sleep_for(milliseconds(20));
    for (int i = 0; i < 3; ++i) signal.Served("token");
  });
  ServedWaitResult r = signal.Await("token", Patient());
  ca.join();
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.served, 3);
  EXPECT_LT(r.waited, milliseconds(20'000));
}

TEST(ServedSignalTest, RequestsBeforeTheWaitCountToo) {
  ServedSignal signal;
  signal.Served("token");
  ServedWaitResult r = signal.Await("token", Patient());
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.served, 1);
}

TEST(ServedSignalTest, TimesOutWhenNoRequestComes) {
  ServedSignal signal;
  signal.Served("another token");
  ServedWaitOptions o = Patient();
  o.first_timeout = milliseconds(20);
  ServedWaitResult r = signal.Await("token", o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.served, 0);
  EXPECT_GE(r.waited, milliseconds(20));
}

TEST(ServedSignalTest, TheDeadlineBoundsTheWait) {
  ServedSignal signal;
  ServedWaitResult r =
      signal.Await("token", Patient(), ServedSignal::SteadyClock::now() + milliseconds(10));
  EXPECT_TRUE(r.timed_out);
}

TEST(ServedSignalTest, ResetForgetsEarlierRequests) {
  ServedSignal signal;
  signal.Served("token");
  signal.Served("token");
  signal.Reset("token");
  EXPECT_EQ(signal.Count("token"), 0);
  ServedWaitOptions o = Patient();
  o.first_timeout = milliseconds(10);
  EXPECT_TRUE(signal.Await("token", o).timed_out);
  signal.Served("token");
  EXPECT_EQ(signal.Count("token"), 1);
  signal.Forget("token");
  EXPECT_EQ(signal.Count("token"), 0);
}

TEST(ServedSignalTest, LaterWaitsEndAtTheCountTheFirstOneSaw) {
  ServedSignal signal;
  for (int i = 0; i < 3; ++i) signal.Served("first");
  ServedWaitResult first = signal.Await("first", Patient());
  EXPECT_FALSE(first.expected);
  EXPECT_EQ(first.served, 3);
  // A quiet window this long would outlast the test: only the count can end it.
  ServedWaitOptions o = Patient();
  o.quiet = std::chrono::microseconds(std::chrono::seconds(20));
  for (int i = 0; i < 3; ++i) signal.Served("second");
  ServedWaitResult second = signal.Await("second", o);
  EXPECT_TRUE(second.expected);
  EXPECT_EQ(second.served, 3);
  EXPECT_LT(second.waited, milliseconds(20'000));
}

// The name resolves to this host, so Present fetches the token itself.
std::unique_ptr<Http01Solver> Solver() {
  Http01Options options;
  options.listen = "127.0.0.1:0";
  options.resolve = [](const std::string&) { return std::vector<std::string>{"127.0.0.1"}; };
  auto solver = Http01Solver::Create(options);
  EXPECT_TRUE(solver.ok()) << solver.status().ToString();
  return std::move(*solver);
}

ChallengeTask ServedTask() {
  ChallengeTask task;
  task.identifier = "served.example.com";
  task.token = "c2VydmVkLXRva2Vu";
  task.key_authorization = task.token + ".thumbprint";
  return task;
}

TEST(Http01ServedTest, CountsTheFetchesOfTheTokenAfterPresent) {
  std::unique_ptr<Http01Solver> solver = Solver();
  const ChallengeTask task = ServedTask();
  ASSERT_TRUE(solver->Present({task}).ok());
  bool self_checked = false;
  for (const SolverNote& note : solver->TakeNotes()) {
    self_checked |= note.message.find("answered the key authorization") != std::string::npos;
  }
  EXPECT_TRUE(self_checked) << "the self-check's own fetch is what must not count";
  httplib::Client client("127.0.0.1", solver->bound_port());
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(5));
  EXPECT_EQ(client.Get("/.well-known/acme-challenge/unknown")->status, 404);
  for (int i = 0; i < 2; ++i) {
    auto res = client.Get("/.well-known/acme-challenge/" + task.token);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
  std::optional<ServedWaitResult> r = solver->AwaitServed(task, Patient());
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->served, 2);
  EXPECT_TRUE(solver->CleanUp({task}).ok());
  // Stopped: nothing to wait on.
  EXPECT_FALSE(solver->AwaitServed(task, Patient()).has_value());
}

TEST(Http01ServedTest, TimesOutWhenTheCaNeverAsks) {
  std::unique_ptr<Http01Solver> solver = Solver();
  const ChallengeTask task = ServedTask();
  ASSERT_TRUE(solver->Present({task}).ok());
  // Only the self-check's fetch came.
  ServedWaitOptions o = Patient();
  o.first_timeout = milliseconds(20);
  std::optional<ServedWaitResult> r = solver->AwaitServed(task, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->served, 0);
  EXPECT_TRUE(solver->CleanUp({task}).ok());
}

}  // namespace
}  // namespace certkeeper::challenges
