// The DeployTarget interface: one place a certificate is delivered to.
//
// Contract for implementations:
//  - Deploy(material, context) MUST install the material and run the target's
//    reload, and MUST keep whatever Rollback() needs to restore the state before
//    this call (the previous files, in memory and, where files are overwritten, on
//    disk so that an operator can restore them after a crash).
//  - Rollback(context) MUST restore the state from before the last Deploy(),
//    including after a Deploy() that failed half-way, and run the reload again;
//    it is a no-op returning OK when Deploy() changed nothing. It MUST NOT be
//    called without a preceding Deploy().
//  - Every action (each file written, each program run) MUST append one
//    StepRecord to context.steps, with the program's output, whether it
//    succeeded or not; the engine stores these in the attempt history.
//  - Programs run through base/process.h (execve, never a local shell) with the
//    target's timeout; private keys never appear in a StepRecord or a log.
//  - A target object serves one Deploy()/Rollback() sequence and is not
//    thread-safe.
// Post-deploy verification is not the target's job: the Deployer does it.
#ifndef CERTKEEPER_HOOKS_DEPLOY_TARGET_H_
#define CERTKEEPER_HOOKS_DEPLOY_TARGET_H_

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/process.h"
#include "base/status.h"
#include "hooks/material.h"
#include "hooks/target_config.h"

namespace certkeeper::hooks {

// One recorded action. kind: "check", "install", "upload", "reload", "command",
// "verify", "rollback".
struct StepRecord {
  std::string target;  // the target's name; empty for the pre-deploy check
  std::string kind;
  std::string description;  // "write /etc/nginx/certs/web/fullchain.pem (0644)"
  bool ok = false;
  std::string error;   // Status::ToString() when !ok
  std::string output;  // stdout and stderr of a program, capped
  Duration elapsed{};
};

struct DeployContext {
  Clock* clock = RealClock();
  // The version that is live now, if any: targets that cannot restore files
  // (command) roll back by delivering it again.
  const Material* previous = nullptr;
  std::vector<StepRecord> steps;
};

class DeployTarget {
 public:
  virtual ~DeployTarget() = default;
  virtual const std::string& name() const = 0;
  virtual Status Deploy(const Material& material, DeployContext& context) = 0;
  virtual Status Rollback(DeployContext& context) = 0;
};

// Builds the target for a validated config (Validate() is called again here).
Result<std::unique_ptr<DeployTarget>> MakeDeployTarget(const TargetConfig& config);

// For implementations:
// Appends a step for `status` and returns it unchanged.
Status RecordStep(DeployContext& context, std::string target, std::string kind,
                  std::string description, Status status, std::string output = {},
                  Duration elapsed = {});
// Runs spec (RunProcessChecked) and records a step with its output.
Status RunRecorded(DeployContext& context, const std::string& target, std::string kind,
                   std::string description, const ProcessSpec& spec);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_DEPLOY_TARGET_H_
