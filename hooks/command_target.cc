#include "hooks/command_target.h"

#include "base/fs.h"
#include "hooks/remote_shell.h"

namespace certkeeper::hooks {

std::vector<std::pair<std::string, std::string>> CommandEnvironment(const Material& material) {
  std::string domains;
  for (const std::string& domain : material.domains) {
    if (!domains.empty()) domains += ' ';
    domains += domain;
  }
  auto path = [&](std::string_view file) { return fs::JoinPath(material.files_dir, file); };
  return {
      {"CERTKEEPER_NAME", material.name},
      {"CERTKEEPER_DOMAINS", domains},
      {"CERTKEEPER_VERSION", std::to_string(material.version)},
      {"CERTKEEPER_CERT_PATH", path("cert.pem")},
      {"CERTKEEPER_CHAIN_PATH", path("chain.pem")},
      {"CERTKEEPER_FULLCHAIN_PATH", path("fullchain.pem")},
      {"CERTKEEPER_KEY_PATH", path("privkey.pem")},
      {"CERTKEEPER_FINGERPRINT", material.fingerprint_sha256},
      {"CERTKEEPER_NOT_AFTER", FormatRfc3339(material.not_after)},
  };
}

Status CommandTarget::Run(const Material& material, DeployContext& context,
                          std::string kind) {
  ProcessSpec spec;
  spec.argv = config_.command;
  spec.env = CommandEnvironment(material);
  spec.timeout = config_.timeout;
  return RunRecorded(context, config_.name, std::move(kind),
                     "run " + ShellJoin(config_.command) + " for " + material.Label(), spec);
}

Status CommandTarget::Deploy(const Material& material, DeployContext& context) {
  ran_ = true;
  return Run(material, context, "command");
}

Status CommandTarget::Rollback(DeployContext& context) {
  if (!ran_) return Status::Ok();
  ran_ = false;
  if (context.previous == nullptr) {
    return RecordStep(context, config_.name, "rollback",
                      "nothing to restore: no previous version to deliver again",
                      Status::Ok());
  }
  return Run(*context.previous, context, "rollback");
}

}  // namespace certkeeper::hooks
