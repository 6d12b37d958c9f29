// Changes to recorded versions outside issuance and delivery: revoking the
// live version at the CA (engine_revoke.cc) and importing certificates issued
// elsewhere (engine_import.cc). Both MUST be called with the run lease held.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_VERSIONS_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_VERSIONS_H_

#include <string>
#include <vector>

#include "lifecycle/engine_account.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/import_plan.h"

namespace certkeeper::lifecycle {

// Revokes the live version of `name` (RFC 8555 §7.6) with the account key,
// or with the certificate's own key when the CA refuses the account (an
// imported certificate), then records it as revoked. reason: see
// Engine::Revoke.
Status RevokeLiveVersion(const EngineContext& ctx, Accounts& accounts, const std::string& name,
                         const std::string& reason);

// Imports each path (a directory like certbot's live/<name>/, or one PEM
// file) as a new deployed version, live/ switched to it. Returns the names.
Result<std::vector<std::string>> ImportCertificates(const EngineContext& ctx,
                                                    const std::vector<std::string>& paths);

// Writes an ImportPlan (Engine::ApplyImport); engine_import_plan.cc.
Result<ImportReport> ApplyImportPlan(const EngineContext& ctx, const ImportPlan& plan);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_VERSIONS_H_
