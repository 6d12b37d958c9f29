#include "base/poll_wait.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "base/unique_fd.h"

namespace certkeeper {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct Pipe {
  fs::UniqueFd read_end;
  fs::UniqueFd write_end;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2");
    read_end.Reset(fds[0]);
    write_end.Reset(fds[1]);
  }
};

TEST(WaitForFdTest, ReadyDescriptorReturnsAtOnce) {
  Pipe p;
  ASSERT_EQ(write(p.write_end.get(), "x", 1), 1);
  EXPECT_TRUE(WaitForFd(p.read_end.get(), POLLIN, steady_clock::now() + milliseconds(5000),
                        "pipe")
                  .ok());
  // A pipe with room is writable.
  EXPECT_TRUE(WaitForFd(p.write_end.get(), POLLOUT, steady_clock::now() + milliseconds(5000),
                        "pipe")
                  .ok());
}

TEST(WaitForFdTest, NothingToReadTimesOutNotBeforeTheDeadline) {
  Pipe p;
  SteadyDeadline deadline = steady_clock::now() + milliseconds(50);
  Status s = WaitForFd(p.read_end.get(), POLLIN, deadline, "127.0.0.1:53");
  EXPECT_GE(steady_clock::now(), deadline);
  EXPECT_EQ(s.code(), ErrorCode::kDeadlineExceeded) << s.ToString();
  EXPECT_EQ(s.where(), "127.0.0.1:53");
}

TEST(WaitForFdTest, PassedDeadlineTimesOutWithoutWaiting) {
  Pipe p;
  Status s = WaitForFd(p.read_end.get(), POLLIN, steady_clock::now() - milliseconds(1), "pipe");
  EXPECT_EQ(s.code(), ErrorCode::kDeadlineExceeded) << s.ToString();
}

TEST(WaitForFdTest, HungUpPeerCountsAsReady) {
  Pipe p;
  p.write_end.Reset();  // the next read says EOF: the caller's to report
  EXPECT_TRUE(
      WaitForFd(p.read_end.get(), POLLIN, steady_clock::now() + milliseconds(5000), "pipe").ok());
}

std::atomic<int> g_signals{0};
void CountSignal(int) { g_signals.fetch_add(1); }

// Signals land on the waiting thread (poll returns EINTR each time) until the
// pipe becomes readable: the wait must go on, not fail.
TEST(WaitForFdTest, SignalsDoNotEndTheWait) {
  struct sigaction count {}, old {};
  count.sa_handler = CountSignal;  // no SA_RESTART: poll(2) is never restarted anyway
  sigaction(SIGUSR1, &count, &old);
  Pipe p;
  g_signals = 0;
  pthread_t waiter = pthread_self();
  constexpr int kSignals = 20;
  std::thread signaller([&] {
    for (int i = 0; i < kSignals; ++i) {
      int before = g_signals.load();
      pthread_kill(waiter, SIGUSR1);
      auto give_up = steady_clock::now() + milliseconds(5000);
      while (g_signals.load() == before && steady_clock::now() < give_up) std::this_thread::yield();
    }
    if (write(p.write_end.get(), "x", 1) != 1) {}
  });
  Status s =
      WaitForFd(p.read_end.get(), POLLIN, steady_clock::now() + milliseconds(20000), "pipe");
  signaller.join();
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(g_signals.load(), kSignals);
}

TEST(WaitForFdTest, ClosedDescriptorIsAnIoError) {
  int fd;
  {
    Pipe p;
    fd = p.read_end.get();
  }
  Status s = WaitForFd(fd, POLLIN, steady_clock::now() + milliseconds(5000), "pipe");
  EXPECT_EQ(s.code(), ErrorCode::kIo) << s.ToString();
}

TEST(ConnectBeforeTest, ConnectsOrSaysWhyNot) {
  fs::UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(listener.get(), 4), 0);
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);

  fs::UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  Status s = ConnectBefore(client.get(), reinterpret_cast<sockaddr*>(&addr), len,
                           steady_clock::now() + milliseconds(5000), "127.0.0.1");
  EXPECT_TRUE(s.ok()) << s.ToString();

  listener.Reset();  // nothing listens there any more
  fs::UniqueFd refused(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  s = ConnectBefore(refused.get(), reinterpret_cast<sockaddr*>(&addr), len,
                    steady_clock::now() + milliseconds(5000), "127.0.0.1");
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("cannot connect"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.where(), "127.0.0.1");
}

}  // namespace
}  // namespace certkeeper
