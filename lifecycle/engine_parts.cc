#include "lifecycle/engine_parts.h"

#include <utility>

#include "lifecycle/state_layout.h"
#include "store/sql_inventory.h"

namespace certkeeper::lifecycle {

AcmeClientFactory LibcurlAcmeClients() { return AcmeClientsOver(nullptr); }

AcmeClientFactory AcmeClientsOver(std::shared_ptr<acme::HttpClient> http) {
  return [http = std::move(http)](const acme::ClientOptions& options) {
    return acme::Client::Create(options, http);
  };
}

SolverSetFactory ConfiguredSolvers(const Config& config) {
  return [settings = config.solvers]() { return SolverSet::Create(settings); };
}

DeployFunction HooksDeploy() {
  return [](const std::vector<hooks::TargetConfig>& targets, const hooks::Material& material,
            const hooks::DeployOptions& options) {
    return hooks::RunDeploy(targets, material, options);
  };
}

Result<EngineParts> DefaultParts(const Config& config, Clock* clock,
                                 std::shared_ptr<acme::HttpClient> http) {
  StateLayout layout(config.state_dir);
  CK_RETURN_IF_ERROR(layout.Prepare());
  store::SqliteOptions options;
  options.clock = clock;
  auto inventory = store::SqlInventory::Open(layout.db_path(), options);
  if (!inventory.ok()) return inventory.status().Annotate("open inventory");
  EngineParts parts;
  parts.inventory = std::move(*inventory);
  parts.leases = store::FileLeases(config.state_dir);
  parts.acme_clients = http ? AcmeClientsOver(std::move(http)) : LibcurlAcmeClients();
  parts.solvers = ConfiguredSolvers(config);
  parts.deploy = HooksDeploy();
  parts.clock = clock;
  return parts;
}

}  // namespace certkeeper::lifecycle
