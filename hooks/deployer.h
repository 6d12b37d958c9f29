// Running a certificate's deploy targets as one unit: either every target ends up
// with the new version installed, reloaded and verified, or every target touched
// is rolled back to what it had before ("nothing is lost", ARCHITECTURE.md).
#ifndef CERTKEEPER_HOOKS_DEPLOYER_H_
#define CERTKEEPER_HOOKS_DEPLOYER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "hooks/deploy_target.h"
#include "hooks/endpoint.h"
#include "hooks/material.h"
#include "hooks/target_config.h"
#include "hooks/tls_verify.h"

namespace certkeeper::hooks {

using VerifyFunction = std::function<Status(
    const std::vector<Endpoint>& endpoints, const std::vector<std::string>& domains,
    std::string_view expected_fingerprint, const VerifyOptions& options, Clock& clock)>;

struct DeployOptions {
  Clock* clock = RealClock();
  const Material* previous = nullptr;  // the live version, for DeployContext::previous
  bool check_material = true;          // run CheckMaterial first
  std::string trust_pem;               // CheckMaterial's extra trust anchors
  VerifyFunction verify = VerifyServedCertificates;  // a seam for tests
  // Runs once every target is deployed and verified, before RunDeploy returns;
  // when it fails, every target is rolled back as for a failed step. The engine
  // switches live/ here, so that live/ never points at a version the targets do
  // not serve, and a failed switch leaves the targets with the previous one.
  std::function<Status()> commit;
};

struct DeployReport {
  Status error;  // OK when every target is deployed and verified
  std::vector<StepRecord> steps;         // every step, in order, for the history
  std::vector<std::string> deployed;     // targets now serving the new version
  std::vector<std::string> rolled_back;  // targets restored after the failure
  Status rollback_error;                 // the first rollback that failed, if any
  bool ok() const { return error.ok(); }
};

// A target with its post-deploy checks.
struct PlannedTarget {
  std::unique_ptr<DeployTarget> target;
  std::vector<Endpoint> verify;
  VerifyOptions verify_options;
};

// Builds the targets from their configs (Validate, MakeDeployTarget).
Result<std::vector<PlannedTarget>> PlanTargets(const std::vector<TargetConfig>& configs);

// Checks the material (when options.check_material), then for each target in
// order: Deploy() (install + reload), then verification against its endpoints for
// every material domain. At the first failure every target deployed so far,
// including the failing one, is rolled back in reverse order, and the report's
// error names the target and the step ("deploy web v3 to nginx: ..."). When
// every target verified, options.commit (if set) runs; its failure is handled
// like a failed step of the last target.
DeployReport RunDeploy(std::vector<PlannedTarget>& targets, const Material& material,
                       const DeployOptions& options);
// PlanTargets + RunDeploy; a config error is reported like a failed step.
DeployReport RunDeploy(const std::vector<TargetConfig>& configs, const Material& material,
                       const DeployOptions& options);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_DEPLOYER_H_
