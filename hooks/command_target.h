// The command target: runs a program of the user's with the material described in
// environment variables. The program is started with execve (never a shell), with
// the target's timeout, so domains and paths reach it as inert data.
//
// Environment (added to the inherited one):
//   CERTKEEPER_NAME            the managed certificate's name ("web")
//   CERTKEEPER_DOMAINS         its domains, separated by single spaces
//   CERTKEEPER_VERSION         the version number being deployed ("3")
//   CERTKEEPER_CERT_PATH       <files_dir>/cert.pem       the leaf
//   CERTKEEPER_CHAIN_PATH      <files_dir>/chain.pem      the intermediates
//   CERTKEEPER_FULLCHAIN_PATH  <files_dir>/fullchain.pem  leaf + intermediates
//   CERTKEEPER_KEY_PATH        <files_dir>/privkey.pem    the private key
//   CERTKEEPER_FINGERPRINT     lower-case hex SHA-256 of the leaf's DER
//   CERTKEEPER_NOT_AFTER       the leaf's expiry, RFC 3339 UTC ("2027-02-22T09:00:00Z")
// A zero exit status is success; anything else (or the timeout, after which the
// program's process group is killed) fails the deploy with the tail of stderr.
//
// Rollback: the program cannot be asked to undo, so when the context names the
// previous version it is run again with that version's environment; without one
// Rollback() records that there is nothing to restore.
#ifndef CERTKEEPER_HOOKS_COMMAND_TARGET_H_
#define CERTKEEPER_HOOKS_COMMAND_TARGET_H_

#include <string>
#include <utility>
#include <vector>

#include "hooks/deploy_target.h"

namespace certkeeper::hooks {

// The CERTKEEPER_* variables above for material, in the order listed.
std::vector<std::pair<std::string, std::string>> CommandEnvironment(const Material& material);

class CommandTarget : public DeployTarget {
 public:
  explicit CommandTarget(TargetConfig config) : config_(std::move(config)) {}

  const std::string& name() const override { return config_.name; }
  Status Deploy(const Material& material, DeployContext& context) override;
  Status Rollback(DeployContext& context) override;

 private:
  Status Run(const Material& material, DeployContext& context, std::string kind);

  TargetConfig config_;
  bool ran_ = false;
};

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_COMMAND_TARGET_H_
