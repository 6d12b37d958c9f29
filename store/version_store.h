// VersionStore: the issued versions of each certificate and their deployment
// state.
//
// Used by issuance (number and record a version: the commit point below),
// deployment and rollback (state moves, live version), revocation, and the
// renewal planner and queries (latest and live version of every certificate).
// Part of store::Inventory (store/inventory.h), whose general contract
// (atomicity, thread-safety, kNotFound vs kIo) applies to every method here.
//
// Commit point: the engine writes and fsyncs every file of a version into its
// directory first and then calls AddVersion. A version the inventory knows
// therefore always has complete files; a crash before AddVersion leaves an
// unrecorded directory that the next run overwrites.
#ifndef CERTKEEPER_STORE_VERSION_STORE_H_
#define CERTKEEPER_STORE_VERSION_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/records.h"

namespace certkeeper::store {

// One certificate's latest and live versions, as VersionStore::LatestVersion
// and VersionStore::LiveVersion return them.
struct CurrentVersions {
  std::optional<Version> latest;
  std::optional<Version> live;
};

class VersionStore {
 public:
  virtual ~VersionStore() = default;

  // The n the next AddVersion for this certificate must use (1 for the first).
  virtual Result<int> NextVersionNumber(std::string_view certificate) = 0;
  // Records a version. version.n must equal NextVersionNumber (kAlreadyExists
  // when taken, kFailedPrecondition when it would leave a gap); state must be
  // kIssued or kDeployed.
  virtual Status AddVersion(const Version& version) = 0;
  // Allowed moves: kIssued -> kDeployed | kDeployFailed, kDeployFailed ->
  // kDeployed (deployed again), kDeployed -> kDeployFailed (a later redeploy
  // failed). Anything else, and any move out of kRevoked, is kFailedPrecondition.
  virtual Status SetVersionState(std::string_view certificate, int n,
                                 VersionState state) = 0;
  virtual Status RevokeVersion(std::string_view certificate, int n, TimePoint at,
                               std::string_view reason) = 0;
  virtual Result<Version> GetVersion(std::string_view certificate, int n) = 0;
  // Newest first.
  virtual Result<std::vector<Version>> ListVersions(std::string_view certificate) = 0;
  // The live version: the newest one in state kDeployed. Versions that are only
  // issued (not yet installed), failed to deploy or were revoked are never
  // live, so the previous certificate stays live until its successor is
  // installed and verified. Expiry is not considered: check not_after.
  // kNotFound only when no version is deployed; a failed read is kIo (a caller
  // that took it for "none deployed" would issue again).
  virtual Result<Version> LiveVersion(std::string_view certificate) = 0;
  // The newest version in any state (what `deploy NAME` retries). kNotFound
  // only when the certificate has no version; a failed read is kIo.
  virtual Result<Version> LatestVersion(std::string_view certificate) = 0;
  // LatestVersion and LiveVersion of every certificate that has a version, by
  // certificate name, in one read: a renewal run over thousands of
  // certificates must not cost two queries per certificate. A failed read is
  // an error, never a map missing the certificates it could not read.
  virtual Result<std::map<std::string, CurrentVersions>> AllCurrentVersions() = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_VERSION_STORE_H_
