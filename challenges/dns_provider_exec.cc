#include "challenges/dns_provider_exec.h"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "base/process.h"

namespace certkeeper::challenges {
namespace {

constexpr std::string_view kChallengeLabel = "_acme-challenge.";
constexpr size_t kNoteTail = 400;

std::string DomainOf(std::string_view fqdn) {
  if (fqdn.substr(0, kChallengeLabel.size()) == kChallengeLabel) {
    fqdn.remove_prefix(kChallengeLabel.size());
  }
  if (!fqdn.empty() && fqdn.back() == '.') fqdn.remove_suffix(1);
  return std::string(fqdn);
}

std::string Tail(std::string_view text, size_t n) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.size() > n) text = text.substr(text.size() - n);
  return std::string(text);
}

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

}  // namespace

Result<std::unique_ptr<ExecDnsProvider>> ExecDnsProvider::Create(ExecProviderOptions options) {
  if (options.command.empty() || options.command[0].empty()) {
    return Status(ErrorCode::kInvalidArgument, "dns-01 exec provider: `command` is empty")
        .Hint("set command = [\"/path/to/dns-hook\"] in [solvers.dns-01]");
  }
  if (options.timeout.count() <= 0) {
    return Status(ErrorCode::kInvalidArgument, "dns-01 exec provider: timeout must be positive");
  }
  return std::unique_ptr<ExecDnsProvider>(new ExecDnsProvider(std::move(options)));
}

Status ExecDnsProvider::Run(std::string_view action, std::string_view fqdn,
                            std::string_view value) {
  ProcessSpec spec;
  spec.argv = options_.command;
  spec.argv.emplace_back(action);
  spec.argv.emplace_back(fqdn);
  spec.argv.emplace_back(value);
  spec.env = {{"CERTKEEPER_DNS_ACTION", std::string(action)},
              {"CERTKEEPER_DNS_FQDN", std::string(fqdn)},
              {"CERTKEEPER_DNS_VALUE", std::string(value)},
              {"CERTKEEPER_DNS_DOMAIN", DomainOf(fqdn)}};
  spec.timeout = options_.timeout;
  const std::string& program = options_.command[0];
  Result<ProcessResult> run = RunProcess(spec);
  if (!run.ok()) {
    return Status(run.status()).Annotate("dns-01 exec provider " + std::string(action)).Where(program);
  }
  std::string note = program + " " + std::string(action) + " " + std::string(fqdn) + ": " +
                     run->Describe();
  if (!run->stdout_data.empty()) note += "; stdout: " + Tail(run->stdout_data, kNoteTail);
  if (!run->stderr_data.empty()) note += "; stderr: " + Tail(run->stderr_data, kNoteTail);
  notes_.push_back(note);
  if (run->success()) return Status::Ok();
  std::string message = "dns-01 exec provider: " + program + " " + std::string(action) + " " +
                        std::string(fqdn) + " failed: " + run->Describe();
  if (run->timed_out) {
    message += " (limit " + std::to_string(options_.timeout.count()) + "ms)";
  }
  std::string tail = Tail(run->stderr_data, kNoteTail);
  if (!tail.empty()) message += ": " + tail;
  return Status(run->timed_out ? ErrorCode::kDeadlineExceeded : ErrorCode::kIo, message)
      .Where(program)
      .Hint("run the program by hand with the same arguments to see what it does");
}

Status ExecDnsProvider::Present(std::string_view fqdn, std::string_view value) {
  return Run("present", fqdn, value);
}

Status ExecDnsProvider::CleanUp(std::string_view fqdn, std::string_view value) {
  return Run("cleanup", fqdn, value);
}

Status ExecDnsProvider::Check() {
  const std::string& program = options_.command[0];
  if (program.find('/') != std::string::npos) {
    if (IsExecutable(program)) return Status::Ok();
  } else if (const char* path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (!dir.empty() && IsExecutable(dir + "/" + program)) return Status::Ok();
    }
  }
  return Status(ErrorCode::kNotFound, "dns-01 exec provider: program is not executable")
      .Where(program)
      .Hint("check the path in `command` and the file's execute permission");
}

std::vector<std::string> ExecDnsProvider::TakeNotes() { return std::exchange(notes_, {}); }

}  // namespace certkeeper::challenges
