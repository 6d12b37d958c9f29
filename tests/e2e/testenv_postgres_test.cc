// The PostgreSQL server of the test environment (--with postgres), which the
// fleet tests share an inventory through: password logins only with the
// generated password, a listener on 127.0.0.1 only, a server that is not root,
// a restart that ends open sessions and keeps the data, and nothing left running
// once the environment is torn down.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/process.h"
#include "tests/support/testenv.h"

namespace certkeeper::testing {
namespace {

::testing::AssertionResult Contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << needle << "' not in:\n" << haystack;
}

// psql against a connection URL with exactly the given password, never the
// generated password file, never a prompt.
ProcessResult PsqlWithPassword(const std::string& url, const std::string& password,
                               const std::string& sql) {
  ProcessSpec spec;
  spec.argv = {"psql", "-X", "-w", "-At", "-d", url, "-c", sql};
  spec.env = {{"PGPASSWORD", password}, {"PGPASSFILE", "/nonexistent"},
              {"PGCONNECT_TIMEOUT", "5"}};
  spec.timeout = std::chrono::seconds(30);
  auto result = RunProcess(spec);
  EXPECT_TRUE(result.ok()) << result.status().ToUserString();
  return result.ok() ? *result : ProcessResult{};
}

std::string ReadProcFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The process as a RecordedProcess (start time from /proc/PID/stat field 22), so
// IsRunning later tells it apart from a reused PID; and its parent PID.
bool ReadProcess(pid_t pid, RecordedProcess* process, pid_t* parent) {
  std::string stat = ReadProcFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return false;
  std::istringstream rest(stat.substr(paren + 1));
  std::string state, field;
  long long ppid = 0;
  rest >> state >> ppid;
  for (int i = 5; i < 22 && rest >> field; ++i) {
  }
  unsigned long long start = 0;
  if (!(rest >> start)) return false;
  process->name = "pid " + std::to_string(pid);
  process->pid = pid;
  process->start_ticks = start;
  *parent = static_cast<pid_t>(ppid);
  return true;
}

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* entry = readdir(proc)) {
    std::string name = entry->d_name;
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
          return c >= '0' && c <= '9';
        })) {
      pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  closedir(proc);
  return pids;
}

// The postmaster's children: checkpointer, walwriter, backends, ...
std::vector<RecordedProcess> ChildrenOf(pid_t parent_pid) {
  std::vector<RecordedProcess> children;
  for (pid_t pid : AllPids()) {
    RecordedProcess process;
    pid_t parent = 0;
    if (ReadProcess(pid, &process, &parent) && parent == parent_pid) children.push_back(process);
  }
  return children;
}

// PIDs of processes whose working directory is under dir (PostgreSQL processes
// work in their data directory).
std::vector<pid_t> ProcessesWorkingUnder(const std::string& dir) {
  std::vector<pid_t> found;
  for (pid_t pid : AllPids()) {
    char target[4096];
    std::string link = "/proc/" + std::to_string(pid) + "/cwd";
    ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    std::string cwd(target, static_cast<size_t>(n));
    if (cwd.rfind(dir + "/", 0) == 0 || cwd == dir) found.push_back(pid);
  }
  return found;
}

// Local addresses (as in /proc/net/tcp*, e.g. "0100007F") of the TCP sockets
// listening on port.
std::vector<std::string> ListeningAddresses(int port) {
  std::vector<std::string> addresses;
  char port_hex[8];
  snprintf(port_hex, sizeof(port_hex), "%04X", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream lines(ReadProcFile(table));
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      size_t colon = local.find(':');
      if (state == "0A" && colon != std::string::npos && local.substr(colon + 1) == port_hex) {
        addresses.push_back(local.substr(0, colon));
      }
    }
  }
  return addresses;
}

bool AcceptsTcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool connected = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return connected;
}

// The real UID of a process (first field of the Uid: line of /proc/PID/status).
long ProcessUid(pid_t pid) {
  std::istringstream lines(ReadProcFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Uid:", 0) == 0) return std::stol(line.substr(4));
  }
  return -1;
}

// Polls the SQL until it prints want (bounded).
bool PsqlPrintsWithin(const TestEnv& env, const std::string& sql, const std::string& want,
                      std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto out = env.Psql(sql);
    if (out.ok() && *out == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void ExpectPasswordLoginsOnly(TestEnv& env) {
  const std::string port = env.Get("POSTGRES_PORT");
  const std::string url = env.Get("POSTGRES_URL");
  EXPECT_EQ(url, "postgresql://certkeeper@127.0.0.1:" + port + "/certkeeper");
  EXPECT_TRUE(fs::CheckPrivateFileMode(env.Get("POSTGRES_PASSWORD_FILE")).ok());
  const std::string password = env.PostgresPassword();
  ASSERT_GE(password.size(), 32u) << "a short generated password";
  EXPECT_EQ(password.find('\n'), std::string::npos);
  EXPECT_EQ(url.find(password), std::string::npos) << "the password is in POSTGRES_URL";

  auto one = env.Psql("SELECT 1");
  ASSERT_TRUE(one.ok()) << one.status().ToUserString();
  EXPECT_EQ(*one, "1\n");
  ProcessResult right = PsqlWithPassword(url, password, "SELECT current_user, current_database()");
  EXPECT_TRUE(right.success()) << right.Describe() << right.stderr_data;
  EXPECT_EQ(right.stdout_data, "certkeeper|certkeeper\n");
  ProcessResult wrong = PsqlWithPassword(url, password + "x", "SELECT 1");
  EXPECT_FALSE(wrong.success()) << "a wrong password was accepted";
  EXPECT_TRUE(Contains(wrong.stderr_data, "password authentication failed"));
  ProcessResult none = PsqlWithPassword(url, "", "SELECT 1");
  EXPECT_FALSE(none.success()) << "a login without password was accepted";
  // The bootstrap superuser (named after the server's OS user) has no password:
  // over TCP it cannot log in at all.
  pid_t pid = static_cast<pid_t>(std::stol(env.Get("POSTGRES_PID")));
  const passwd* owner = getpwuid(static_cast<uid_t>(ProcessUid(pid)));
  ASSERT_NE(owner, nullptr);
  ProcessResult admin = PsqlWithPassword(
      "postgresql://" + std::string(owner->pw_name) + "@127.0.0.1:" + port + "/postgres",
      password, "SELECT 1");
  EXPECT_FALSE(admin.success()) << "the superuser logged in over TCP";
  EXPECT_TRUE(Contains(admin.stderr_data, "password authentication failed"));
}

void ExpectLoopbackOnlyAndUnprivileged(TestEnv& env) {
  int port = std::stoi(env.Get("POSTGRES_PORT"));
  std::vector<std::string> listening = ListeningAddresses(port);
  ASSERT_FALSE(listening.empty()) << "nothing listens on port " << port;
  for (const auto& address : listening) {
    EXPECT_EQ(address, "0100007F") << "PostgreSQL listens beyond 127.0.0.1";
  }
  pid_t pid = static_cast<pid_t>(std::stol(env.Get("POSTGRES_PID")));
  long uid = ProcessUid(pid);
  EXPECT_NE(uid, 0) << "the postmaster runs as root";
  if (getuid() != 0) {
    EXPECT_EQ(uid, static_cast<long>(getuid()));
  }
  EXPECT_EQ(env.Get("POSTGRES_DATA").rfind(env.state_dir() + "/", 0), 0u);
  auto settings = env.Psql("SHOW max_connections");
  ASSERT_TRUE(settings.ok()) << settings.status().ToUserString();
  EXPECT_EQ(*settings, "200\n");
}

// A restart ends an open session (fast shutdown, not a wait for the client),
// keeps the data, and records the new postmaster.
void ExpectRestartKeepsData(TestEnv& env) {
  auto created = env.Psql("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1), (2), (3)");
  ASSERT_TRUE(created.ok()) << created.status().ToUserString();
  RecordedProcess old_postmaster;
  for (const auto& p : env.RecordedProcesses()) {
    if (p.name == "postgres") old_postmaster = p;
  }
  ASSERT_EQ(std::to_string(old_postmaster.pid), env.Get("POSTGRES_PID"));

  Result<std::string> session = std::string();
  std::thread client([&] { session = env.Psql("SELECT pg_sleep(50)"); });
  bool sleeping = PsqlPrintsWithin(
      env, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(50)'", "1\n",
      std::chrono::seconds(20));
  Status restarted = env.RestartPostgres();
  client.join();
  ASSERT_TRUE(sleeping) << "the sleeping session never showed up";
  ASSERT_TRUE(restarted.ok()) << restarted.ToUserString();
  ASSERT_FALSE(session.ok()) << "the session survived the restart";
  EXPECT_TRUE(Contains(session.status().ToUserString(), "administrator command"));

  EXPECT_FALSE(IsRunning(old_postmaster));
  EXPECT_NE(env.Get("POSTGRES_PID"), std::to_string(old_postmaster.pid));
  bool recorded = false;
  for (const auto& p : env.RecordedProcesses()) {
    if (p.name != "postgres") continue;
    EXPECT_FALSE(recorded) << "postgres recorded twice";
    recorded = true;
    EXPECT_EQ(std::to_string(p.pid), env.Get("POSTGRES_PID"));
    EXPECT_TRUE(IsRunning(p));
  }
  EXPECT_TRUE(recorded);
  auto count = env.Psql("SELECT count(*) FROM kept");
  ASSERT_TRUE(count.ok()) << count.status().ToUserString();
  EXPECT_EQ(*count, "3\n");
}

TEST(TestEnvPostgresTest, PasswordLoopbackRestartAndNothingLeftAfterTeardown) {
  TestEnvOptions options;
  options.postgres = true;
  auto env = TestEnv::Start(options);
  ASSERT_NE(env, nullptr);

  ExpectPasswordLoginsOnly(*env);
  ExpectLoopbackOnlyAndUnprivileged(*env);
  ExpectRestartKeepsData(*env);

  // Psql reports a failing statement as an error carrying psql's message.
  auto bad = env->Psql("SELECT * FROM no_such_table");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().ToUserString(), "no_such_table"));

  pid_t postmaster_pid = static_cast<pid_t>(std::stol(env->Get("POSTGRES_PID")));
  std::vector<RecordedProcess> processes = env->RecordedProcesses();
  std::vector<RecordedProcess> children = ChildrenOf(postmaster_pid);
  EXPECT_GE(children.size(), 3u) << "checkpointer, background writer, walwriter, ...";
  int port = std::stoi(env->Get("POSTGRES_PORT"));
  std::string state_dir = env->state_dir();
  ASSERT_FALSE(ProcessesWorkingUnder(state_dir).empty());

  env.reset();
  for (const auto& p : processes) EXPECT_FALSE(IsRunning(p)) << p.name << " pid " << p.pid;
  for (const auto& p : children) EXPECT_FALSE(IsRunning(p)) << "postgres child " << p.pid;
  EXPECT_TRUE(ProcessesWorkingUnder(state_dir).empty());
  EXPECT_FALSE(AcceptsTcp(port)) << "port " << port << " still accepts connections";
  EXPECT_FALSE(fs::Exists(state_dir));
}

}  // namespace
}  // namespace certkeeper::testing
