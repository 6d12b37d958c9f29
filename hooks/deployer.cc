#include "hooks/deployer.h"

#include "base/crash_point.h"
#include "base/log.h"

namespace certkeeper::hooks {

namespace {

std::string EndpointList(const std::vector<Endpoint>& endpoints) {
  std::string out;
  for (const Endpoint& e : endpoints) {
    if (!out.empty()) out += ", ";
    out += e.ToString();
  }
  return out;
}

}  // namespace

Result<std::vector<PlannedTarget>> PlanTargets(const std::vector<TargetConfig>& configs) {
  std::vector<PlannedTarget> planned;
  for (const TargetConfig& config : configs) {
    PlannedTarget p;
    CK_ASSIGN_OR_RETURN(p.target, MakeDeployTarget(config));
    for (const std::string& text : config.verify) {
      CK_ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(text));
      p.verify.push_back(std::move(endpoint));
    }
    p.verify_options.total_timeout = config.verify_timeout;
    p.verify_options.max_attempts = config.verify_retries;
    planned.push_back(std::move(p));
  }
  return planned;
}

DeployReport RunDeploy(std::vector<PlannedTarget>& targets, const Material& material,
                       const DeployOptions& options) {
  DeployReport report;
  DeployContext context;
  context.clock = options.clock;
  context.previous = options.previous;
  auto finish = [&](DeployReport& r) -> DeployReport {
    r.steps = std::move(context.steps);
    return std::move(r);
  };

  if (options.check_material) {
    report.error = RecordStep(context, "", "check", "check " + material.Label(),
                              CheckMaterial(material, options.trust_pem,
                                            options.clock->Now()));
    if (!report.error.ok()) return finish(report);
  }

  size_t started = 0;
  for (PlannedTarget& planned : targets) {
    ++started;
    const std::string& name = planned.target->name();
    Status s = planned.target->Deploy(material, context);
    if (s.ok()) CrashPoint("deploy.reloaded");
    if (s.ok() && !planned.verify.empty()) {
      TimePoint begin = options.clock->Now();
      s = RecordStep(context, name, "verify",
                     "check that " + EndpointList(planned.verify) + " serve" +
                         (planned.verify.size() == 1 ? "s " : " ") +
                         material.fingerprint_sha256.substr(0, 16) + "...",
                     options.verify(planned.verify, material.domains,
                                    material.fingerprint_sha256, planned.verify_options,
                                    *options.clock),
                     {}, options.clock->Now() - begin);
    }
    if (!s.ok()) {
      report.error = std::move(s);
      report.error.Annotate("deploy " + material.Label() + " to " + name);
      break;
    }
    CrashPoint("deploy.verified");
    report.deployed.push_back(name);
  }
  if (report.error.ok() && options.commit) {
    report.error = options.commit();
    if (!report.error.ok()) {
      report.error.Annotate("deploy " + material.Label());
      report.deployed.clear();
    }
  }
  if (report.error.ok()) return finish(report);

  report.deployed.clear();
  for (size_t i = started; i-- > 0;) {
    DeployTarget& target = *targets[i].target;
    Status s = target.Rollback(context);
    if (s.ok()) {
      report.rolled_back.push_back(target.name());
    } else if (report.rollback_error.ok()) {
      report.rollback_error = s;
      report.rollback_error.Annotate("roll back " + target.name());
    }
  }
  if (!report.rollback_error.ok()) {
    log::Error("rollback failed: the previous version may not be fully restored",
               {{"error", report.rollback_error.ToString()}});
    report.error.Hint(report.error.hint() + (report.error.hint().empty() ? "" : "; ") +
                      "the rollback failed too (" + report.rollback_error.ToString() +
                      "): check the target by hand, the previous files are in " +
                      ".certkeeper-prev beside the deployed ones");
  }
  return finish(report);
}

DeployReport RunDeploy(const std::vector<TargetConfig>& configs, const Material& material,
                       const DeployOptions& options) {
  Result<std::vector<PlannedTarget>> planned = PlanTargets(configs);
  if (!planned.ok()) {
    DeployReport report;
    report.error = planned.status();
    report.steps.push_back(StepRecord{.target = "",
                                      .kind = "check",
                                      .description = "read the deploy targets",
                                      .ok = false,
                                      .error = planned.status().ToString(),
                                      .output = {},
                                      .elapsed = {}});
    return report;
  }
  return RunDeploy(*planned, material, options);
}

}  // namespace certkeeper::hooks
