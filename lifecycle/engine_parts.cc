#include "lifecycle/engine_parts.h"

#include <utility>

#include "base/fs.h"
#include "base/sealing.h"
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

Result<std::string> ReadStorePassword(const std::string& password_file) {
  if (password_file.empty()) return std::string();
  const std::string what = "read the [store] password_file";
  CK_RETURN_IF_ERROR(fs::CheckPrivateFileMode(password_file).Annotate(what));
  CK_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(password_file));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty() || text.find_first_of("\n\r") != std::string::npos ||
      text.find('\0') != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, what + ": the file must hold the password on one line")
        .Where(password_file);
  }
  return text;
}

namespace {

// A fleet host: the shared inventory, the fleet's sealing key, and leases
// per certificate.
Status AddSharedStore(const Config& config, Clock* clock, EngineParts& parts) {
  store::PostgresOptions options;
  options.url = config.store.url;
  CK_ASSIGN_OR_RETURN(options.password, ReadStorePassword(config.store.password_file));
  options.clock = clock;
  auto inventory = store::SqlInventory::OpenPostgres(options);
  if (!inventory.ok()) return inventory.status().Annotate("open the shared inventory");
  auto key = SealingKey::Load(config.store.encryption_key_file);
  if (!key.ok()) return key.status().Annotate("read the [store] encryption_key_file");
  CK_ASSIGN_OR_RETURN(parts.fleet, Fleet::Join(config.host, std::move(*key), inventory->get()));
  parts.leases = store::SharedLeases(config.state_dir, inventory->get(), config.host, clock);
  parts.inventory = std::move(*inventory);
  return Status::Ok();
}

}  // namespace

Result<EngineParts> DefaultParts(const Config& config, Clock* clock,
                                 std::shared_ptr<acme::HttpClient> http) {
  StateLayout layout(config.state_dir);
  CK_RETURN_IF_ERROR(layout.Prepare());
  EngineParts parts;
  if (config.store.shared()) {
    CK_RETURN_IF_ERROR(AddSharedStore(config, clock, parts));
  } else {
    store::SqliteOptions options;
    options.clock = clock;
    auto inventory = store::SqlInventory::Open(layout.db_path(), options);
    if (!inventory.ok()) return inventory.status().Annotate("open inventory");
    parts.inventory = std::move(*inventory);
    parts.leases = store::FileLeases(config.state_dir);
  }
  parts.acme_clients = http ? AcmeClientsOver(std::move(http)) : LibcurlAcmeClients();
  parts.solvers = ConfiguredSolvers(config);
  parts.deploy = HooksDeploy();
  parts.clock = clock;
  return parts;
}

}  // namespace certkeeper::lifecycle
