#include "cli/ca_choice.h"

namespace certkeeper::cli {

namespace {

std::string InFile(const lifecycle::Config& config) {
  return config.source.empty() ? std::string("the config file") : config.source;
}

}  // namespace

Status ChooseCa(const CaFlags& flags, lifecycle::Config& config) {
  const std::string staging_url(lifecycle::kLetsEncryptStaging);
  if (flags.staging && !flags.server.empty()) {
    return Status(ErrorCode::kInvalidArgument, "--staging and --server cannot be combined")
        .Hint("--staging means --server " + staging_url + "; give one of them");
  }
  if (!config.cas.empty()) {
    if (!flags.server.empty() || flags.staging) {
      return Status(ErrorCode::kInvalidArgument,
                    std::string(flags.staging ? "--staging" : "--server") +
                        " cannot be combined with the [[ca]] blocks of " + InFile(config))
          .Hint("set server in the [[ca]] blocks of the config file (Let's Encrypt staging is " +
                staging_url + ")");
    }
    return Status::Ok();
  }
  if (!flags.server.empty()) {
    config.acme.server = flags.server;
  } else if (flags.staging) {
    if (!config.acme.server.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "--staging conflicts with [acme] server = \"" + config.acme.server +
                        "\" of " + InFile(config))
          .Hint("drop --staging, or remove server from [acme] to use Let's Encrypt staging");
    }
    config.acme.server = staging_url;
  } else if (config.acme.server.empty()) {
    config.acme.server = std::string(lifecycle::kLetsEncryptProduction);
  }
  return Status::Ok();
}

}  // namespace certkeeper::cli
