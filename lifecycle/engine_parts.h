// The engine's explicit dependencies. Engine::Open builds the default ones
// (DefaultParts: SQLite under the state directory, its flock, libcurl, the
// configured solvers and deploy targets); Engine::Assemble takes any others,
// so that an embedder can plug in another inventory or lease service, and
// tests can drive Issue and Renew against a scripted CA with fake solvers.
//
// Contract for every part:
//  - inventory: MUST be open and migrated; the engine is its only writer
//    while it holds the run lease.
//  - leases: AcquireRun is taken before anything mutating (store/lease.h);
//    a refusal (kLocked) is returned to the caller before any CA request.
//  - acme_clients: called at most once per engine, on first use of the CA,
//    with the options from config.acme; MUST NOT send a request itself.
//  - solvers: called at most once per engine, on the first issuance (a
//    standalone solver binds its port only then).
//  - deploy: runs a certificate's targets as one unit, with the semantics of
//    hooks::RunDeploy (install, reload, verify, commit, or roll back). The
//    programs of command and ssh targets run through base/process.h inside
//    it, so this is also where a test replaces the processes of a delivery.
//  - clock: MUST outlive the engine.
//  - fleet: set only when the inventory is shared by several hosts
//    (lifecycle/fleet.h); it MUST use the same inventory.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_PARTS_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_PARTS_H_

#include <functional>
#include <memory>
#include <vector>

#include "acme/client.h"
#include "acme/http.h"
#include "base/clock.h"
#include "base/status.h"
#include "hooks/deployer.h"
#include "lifecycle/config.h"
#include "lifecycle/fleet.h"
#include "lifecycle/solver_set.h"
#include "store/inventory.h"
#include "store/lease.h"

namespace certkeeper::lifecycle {

// Makes the ACME client for the configured CA.
using AcmeClientFactory =
    std::function<Result<std::unique_ptr<acme::Client>>(const acme::ClientOptions& options)>;
// Makes the set of challenge solvers.
using SolverSetFactory = std::function<Result<std::unique_ptr<SolverSet>>()>;
// Delivers one version to a certificate's targets (hooks::RunDeploy).
using DeployFunction = std::function<hooks::DeployReport(
    const std::vector<hooks::TargetConfig>& targets, const hooks::Material& material,
    const hooks::DeployOptions& options)>;

struct EngineParts {
  std::unique_ptr<store::Inventory> inventory;
  std::unique_ptr<store::Leases> leases;
  AcmeClientFactory acme_clients;
  SolverSetFactory solvers;
  DeployFunction deploy;
  Clock* clock = nullptr;
  std::unique_ptr<Fleet> fleet;  // optional: null on a single host
};

// Clients with their own libcurl transport (ca_bundle_file, timeouts).
AcmeClientFactory LibcurlAcmeClients();
// Clients whose every request goes through `http` (a scripted CA in tests).
AcmeClientFactory AcmeClientsOver(std::shared_ptr<acme::HttpClient> http);
// The [solvers.*] of the config (SolverSet::Create).
SolverSetFactory ConfiguredSolvers(const Config& config);
// hooks::RunDeploy.
DeployFunction HooksDeploy();

// The password in `password_file` ([store] password_file, or `store copy
// --password-file`): owner-only like a private key, one line; a trailing
// newline is dropped. Empty path: no password (libpq's ~/.pgpass applies).
Result<std::string> ReadStorePassword(const std::string& password_file);

// The default wiring of Engine::Open: prepares the state directory, opens
// (and migrates) STATE/certkeeper.db, FileLeases on the state directory, and
// AcmeClientsOver(http) or, when http is null, LibcurlAcmeClients(). With a
// [store] url it connects to the shared PostgreSQL inventory instead, joins
// the fleet with the sealing key, and uses SharedLeases.
Result<EngineParts> DefaultParts(const Config& config, Clock* clock,
                                 std::shared_ptr<acme::HttpClient> http);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_PARTS_H_
