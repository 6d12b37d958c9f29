#include "base/fault_injection.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <mutex>
#include <optional>

#include "base/phase_timer.h"

namespace certkeeper::fs {

namespace {

struct Armed {
  std::mutex mu;
  std::optional<FaultPlan> plan;  // guarded by mu
  int seen = 0;                   // matching calls so far; guarded by mu
  int injected = 0;               // guarded by mu
};

std::atomic<bool> g_armed{false};

Armed& State() {
  static Armed* state = new Armed;  // never destroyed: used until exit
  return *state;
}

// The errno to fail this call with, or 0 to let it through.
int Check(FaultOp op, std::string_view path) {
  if (!g_armed.load(std::memory_order_relaxed)) return 0;
  Armed& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.plan || s.plan->op != op) return 0;
  if (!s.plan->path_contains.empty() &&
      path.find(s.plan->path_contains) == std::string_view::npos) {
    return 0;
  }
  if (++s.seen != s.plan->nth) return 0;
  ++s.injected;
  // One line on stderr, so a test log tells an injected failure from a real one
  // (and a test can tell whether its plan fired at all).
  static constexpr const char* kOps[] = {"write", "fsync", "rename", "mkdir", "read"};
  std::string line = "certkeeper: injected fault (CERTKEEPER_FAULT): " +
                     std::string(kOps[static_cast<int>(op)]) + " " + std::string(path) + ": " +
                     strerror(s.plan->error) + "\n";
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  static_cast<void>(ignored);
  return s.plan->error;
}

std::optional<int> ParseErrno(std::string_view text) {
  struct Named {
    std::string_view name;
    int value;
  };
  static constexpr Named kNames[] = {
      {"ENOSPC", ENOSPC}, {"EIO", EIO}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}};
  for (const Named& n : kNames) {
    if (text == n.name) return n.value;
  }
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

}  // namespace

Result<FaultPlan> ParseFaultPlan(std::string_view text) {
  auto invalid = [&](std::string why) {
    return Status(ErrorCode::kInvalidArgument,
                  "invalid fault plan \"" + std::string(text) + "\": " + why)
        .Hint("write <op>:<n>:<errno>[:<path substring>], e.g. write:1:ENOSPC:/archive/");
  };
  // op:n:errno, then an optional path substring that may itself hold colons.
  std::string_view parts[3];
  std::string_view rest = text;
  for (int i = 0; i < 3; ++i) {
    size_t colon = rest.find(':');
    if (i < 2 && colon == std::string_view::npos) return invalid("expected three fields");
    parts[i] = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  FaultPlan plan;
  if (parts[0] == "write") {
    plan.op = FaultOp::kWrite;
  } else if (parts[0] == "fsync") {
    plan.op = FaultOp::kSync;
  } else if (parts[0] == "rename") {
    plan.op = FaultOp::kRename;
  } else if (parts[0] == "mkdir") {
    plan.op = FaultOp::kMkdir;
  } else if (parts[0] == "read") {
    plan.op = FaultOp::kRead;
  } else {
    return invalid("unknown operation (write, fsync, rename, mkdir or read)");
  }
  auto [end, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), plan.nth);
  if (ec != std::errc() || end != parts[1].data() + parts[1].size() || plan.nth < 1) {
    return invalid("the count must be a number from 1");
  }
  std::optional<int> err = ParseErrno(parts[2]);
  if (!err) return invalid("unknown errno (ENOSPC, EIO, EDQUOT, EROFS or a number)");
  plan.error = *err;
  plan.path_contains = std::string(rest);
  return plan;
}

bool FaultArmed() { return g_armed.load(std::memory_order_relaxed); }

int InjectedErrno(FaultOp op, std::string_view path) { return Check(op, path); }

void ArmFault(const FaultPlan& plan) {
  Armed& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  s.plan = plan;
  s.seen = 0;
  s.injected = 0;
  g_armed.store(true, std::memory_order_relaxed);
}

void DisarmFault() {
  Armed& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  s.plan.reset();
  g_armed.store(false, std::memory_order_relaxed);
}

int InjectedFaultCount() {
  Armed& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.injected;
}

Status ArmFaultFromEnvironment() {
  const char* value = getenv("CERTKEEPER_FAULT");
  if (value == nullptr || *value == '\0') return Status::Ok();
  Result<FaultPlan> plan = ParseFaultPlan(value);
  if (!plan.ok()) return plan.status().Annotate("CERTKEEPER_FAULT");
  ArmFault(*plan);
  return Status::Ok();
}

ssize_t Write(int fd, const void* data, size_t size, const std::string& path) {
  if (int err = Check(FaultOp::kWrite, path)) {
    errno = err;
    return -1;
  }
  return ::write(fd, data, size);
}

int Fsync(int fd, const std::string& path) {
  if (int err = Check(FaultOp::kSync, path)) {
    errno = err;
    return -1;
  }
  phase::ScopedPhase timed("(fsync of files and directories)");
  return ::fsync(fd);
}

int Rename(const std::string& from, const std::string& to) {
  if (int err = Check(FaultOp::kRename, to)) {
    errno = err;
    return -1;
  }
  return ::rename(from.c_str(), to.c_str());
}

int RenameAt(int from_dir, const char* from, int to_dir, const char* to,
             const std::string& path) {
  if (int err = Check(FaultOp::kRename, path)) {
    errno = err;
    return -1;
  }
  return ::renameat(from_dir, from, to_dir, to);
}

int Mkdir(const std::string& path, mode_t mode) {
  if (int err = Check(FaultOp::kMkdir, path)) {
    errno = err;
    return -1;
  }
  return ::mkdir(path.c_str(), mode);
}

int MkdirAt(int dir, const char* name, mode_t mode, const std::string& path) {
  if (int err = Check(FaultOp::kMkdir, path)) {
    errno = err;
    return -1;
  }
  return ::mkdirat(dir, name, mode);
}

}  // namespace certkeeper::fs
