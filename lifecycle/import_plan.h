// What `import --from certbot|lego DIR` found in another ACME client's
// directory, before anything is written: accounts, certificates with every
// version, the renewal settings mapped onto certkeeper's config, and each
// setting that has no certkeeper equivalent (docs/migrate.md).
//
// Contract:
//  - A plan is pure data built by reading the source tree only
//    (ScanCertbot, ScanLego); nothing in the source directory is changed.
//  - Every string in a plan may come from files other tools wrote: printing it
//    to a terminal needs EscapeForTerminal, and none of it is ever given to a
//    shell except the operator's own hook text, as one argv entry of
//    `/bin/sh -c` (never with a certificate name pasted into it).
#ifndef CERTKEEPER_LIFECYCLE_IMPORT_PLAN_H_
#define CERTKEEPER_LIFECYCLE_IMPORT_PLAN_H_

#include <string>
#include <vector>

#include "base/crypto.h"
#include "lifecycle/config.h"

namespace certkeeper::lifecycle {

// An ACME account of the source client, with its key as PEM (PKCS#8).
struct ImportedAccount {
  std::string server;       // ACME directory URL
  std::string account_url;  // RFC 8555 §7.3 account URL ("kid")
  std::string email;        // may be empty
  std::string key_pem;
  std::string source;       // the file(s) it came from, for messages
};

// One version of a certificate, as the source client stored it.
struct ImportedVersion {
  std::string cert_pem;   // leaf
  std::string chain_pem;  // intermediates
  std::string key_pem;
  std::string source;     // e.g. "archive/example.com/cert3.pem"
};

// A certbot lineage or a lego certificate.
struct ImportedCertificate {
  std::string name;  // a valid certkeeper certificate name
  std::vector<std::string> domains;
  KeyType key_type = KeyType::kEc256;  // what renewals generate
  std::vector<ImportedVersion> versions;  // oldest first; the last one is live
  std::string server;                     // the CA it renews with; "" unknown
  std::vector<std::string> challenges;    // e.g. {"http-01"}; empty: unmapped
  std::vector<std::string> deploy;        // names of ImportPlan::deploy entries
};

// A renewal setting with no certkeeper equivalent (or conflicting with
// another lineage's): what it was, where, and what to do instead.
struct UnmappedSetting {
  std::string certificate;  // "" for the whole source
  std::string setting;      // e.g. "pre_hook", "authenticator"
  std::string value;
  std::string hint;
};

struct ImportPlan {
  std::string from;        // "certbot" or "lego"
  std::string source_dir;  // canonical
  std::vector<ImportedAccount> accounts;
  std::vector<ImportedCertificate> certificates;
  // Solver settings by challenge type, as [solvers.<type>] (one per type:
  // certkeeper has one solver of each type per config).
  std::map<std::string, SolverSettings> solvers;
  std::vector<hooks::TargetConfig> deploy;  // command targets from hooks
  // Per server: the preferred chain of its certificates ("" none).
  std::map<std::string, std::string> preferred_chain;
  std::vector<UnmappedSetting> unmapped;
};

// What ApplyImport wrote.
struct ImportedResult {
  std::string name;
  std::vector<std::string> serials;  // every version, oldest first
  std::string live_serial;
};
struct ImportReport {
  std::vector<std::string> accounts;  // account URLs now stored
  std::vector<ImportedResult> certificates;
  std::vector<UnmappedSetting> skipped;  // what was found but not written, and why
};

// The certkeeper config (TOML) that renews the plan's certificates the way
// the source client did: [acme] (one CA) or [[ca]] blocks (several), the
// [solvers.*] tables, [[certificate]] and [[deploy]] blocks. Settings of
// `current` for the same server (ca_bundle, issuer_roots, email, agree_tos,
// allow_insecure_http) and its state_dir are carried over.
std::string RenderImportConfig(const ImportPlan& plan, const Config& current);

// What ScanCertbot and ScanLego share.
//
// The leaf, its chain and key of one version checked: the PEM parses, the
// leaf names at least one identifier and the key matches it.
Result<CertInfo> CheckImportedVersion(const ImportedVersion& version);
// A fullchain PEM split into leaf and chain.
Result<ImportedVersion> VersionFromFullchain(std::string_view fullchain, std::string key_pem,
                                             std::string source);
Result<KeyType> KeyTypeOfPem(std::string_view key_pem);
// `proposed` when it is a valid certificate name, else one made from the first
// identifier ('*' and ':' replaced by '_'); an error when neither is valid.
Result<std::string> ImportName(std::string_view proposed,
                               const std::vector<std::string>& identifiers);

// One certificate's wish for a solver, before the one per type is chosen.
struct SolverCandidate {
  std::string certificate;
  SolverSettings settings;  // settings.type set
  std::string setting;      // the source setting it came from, e.g. "authenticator"
  std::string value;        // its value, e.g. "webroot /var/www/html"
};
// Sets plan.solvers to one SolverSettings per type: the one most candidates
// want (a tie goes to webroot over standalone, then to the first); every
// candidate that wanted a different one is reported in plan.unmapped.
void ChooseSolvers(const std::vector<SolverCandidate>& candidates, ImportPlan& plan);

// The name of a command deploy target that runs the operator's hook text with
// /bin/sh -c (certbot runs hooks through a shell), with certbot's
// RENEWED_LINEAGE and RENEWED_DOMAINS set from certkeeper's CERTKEEPER_*
// variables; the same text twice gives the same target.
std::string AddHookTarget(ImportPlan& plan, const std::string& hook_text);
// The same for a program run without a shell: argv = {path}.
std::string AddProgramTarget(ImportPlan& plan, const std::string& path);

// A TOML basic string: quoted, with \" \\ and control characters escaped.
std::string TomlString(std::string_view text);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_IMPORT_PLAN_H_
