#include "hooks/deploy_target.h"

#include "base/log.h"
#include "base/text.h"
#include "hooks/command_target.h"
#include "hooks/files_target.h"
#include "hooks/ssh_target.h"

namespace certkeeper::hooks {

namespace {

std::string CombinedOutput(const ProcessResult& result) {
  std::string out = result.stdout_data;
  if (!result.stderr_data.empty()) {
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += result.stderr_data;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<DeployTarget>> MakeDeployTarget(const TargetConfig& config) {
  CK_RETURN_IF_ERROR(Validate(config));
  std::unique_ptr<DeployTarget> target;
  switch (config.type) {
    case TargetType::kFiles:
      target = std::make_unique<FilesTarget>(config);
      break;
    case TargetType::kCommand:
      target = std::make_unique<CommandTarget>(config);
      break;
    case TargetType::kSsh:
      target = std::make_unique<SshTarget>(config);
      break;
  }
  return target;
}

Status RecordStep(DeployContext& context, std::string target, std::string kind,
                  std::string description, Status status, std::string output,
                  Duration elapsed) {
  log::Fields fields = {{"target", target}, {"step", kind}};
  if (status.ok()) {
    log::Info(description, fields);
  } else {
    fields.emplace_back("error", status.ToString());
    log::Warn(description + " failed", fields);
  }
  context.steps.push_back(StepRecord{
      .target = std::move(target),
      .kind = std::move(kind),
      .description = std::move(description),
      .ok = status.ok(),
      // Steps are stored and printed as JSON, which holds UTF-8 only; a
      // target's output and messages are whatever its programs printed.
      .error = status.ok() ? std::string() : SanitizeUtf8(status.ToString()),
      .output = SanitizeUtf8(output),
      .elapsed = elapsed,
  });
  return status;
}

Status RunRecorded(DeployContext& context, const std::string& target, std::string kind,
                   std::string description, const ProcessSpec& spec) {
  TimePoint start = context.clock->Now();
  Result<ProcessResult> run = RunProcess(spec);
  Duration elapsed = context.clock->Now() - start;
  if (!run.ok()) {
    return RecordStep(context, target, std::move(kind), std::move(description),
                      run.status(), {}, elapsed);
  }
  std::string output = CombinedOutput(*run);
  Status status;
  if (!run->success()) {
    std::string tail = run->stderr_data;
    if (tail.size() > 2000) tail = "..." + std::string(Utf8Suffix(tail, 2000));
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    status = Status(run->timed_out ? ErrorCode::kDeadlineExceeded : ErrorCode::kIo,
                    spec.argv.front() + ": " + run->Describe() +
                        (tail.empty() ? std::string() : ": " + tail))
                 .Where(target);
    if (run->timed_out) {
      status.Hint("the program did not finish in time and was killed; raise `timeout` "
                  "or find out why it hangs");
    }
  }
  return RecordStep(context, target, std::move(kind), std::move(description), status,
                    std::move(output), elapsed);
}

}  // namespace certkeeper::hooks
