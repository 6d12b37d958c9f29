// Revocation checks of live certificates: OCSP (RFC 6960, the responder from
// the certificate's Authority Information Access) and CRLs (RFC 5280, the
// certificate's CRL Distribution Points), with answers cached until their
// nextUpdate.
#ifndef CERTKEEPER_LIFECYCLE_REVOCATION_H_
#define CERTKEEPER_LIFECYCLE_REVOCATION_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "acme/http.h"
#include "base/status.h"
#include "lifecycle/engine_context.h"
#include "lifecycle/monitor.h"

namespace certkeeper::lifecycle {

class RevocationChecker {
 public:
  // http: the transport for responders and distribution points; nullptr
  // makes one (libcurl, config.revocation.timeout) when there is something
  // to ask.
  explicit RevocationChecker(const EngineContext& ctx, acme::HttpClient* http = nullptr)
      : ctx_(ctx), http_(http) {}

  // For each live version: reuses the stored answer while it is fresh (before
  // its next_update), else asks (force: always asks). Records every answer
  // (store::MonitorStore::PutRevocation). A revoked answer marks the version
  // revoked (VersionStore::RevokeVersion) and records a "revoked" event, so
  // that the next plan renews it now and says why. A responder that cannot be
  // reached is an answer with status "error", not an error of the call: only
  // a failed inventory read or write is one. Does nothing when
  // config.revocation.enabled is false. A certificate whose AIA names no
  // OCSP responder and that has no CRL Distribution Point gets no answer
  // (nothing can be asked; not an error).
  Result<std::vector<RevocationView>> Refresh(bool force);
  // The same, over versions the caller read already (AllCurrentVersions).
  Result<std::vector<RevocationView>> Refresh(
      bool force, const std::map<std::string, store::CurrentVersions>& current);
  // Refresh(false, current) for a run that needs only what changes something:
  // the live versions whose stored answers are all fresh and "good" are
  // neither looked at nor reported (their states tell them apart,
  // store::MonitorStore::ListRevocationStates); every other version is
  // checked as Refresh does, and its answers returned, so every revoked answer
  // is among them. `current` is the inventory's current versions
  // (AllCurrentVersions, read in this run).
  Result<std::vector<RevocationView>> RefreshUnsettled(
      const std::map<std::string, store::CurrentVersions>& current);

 private:
  struct Version;
  Status ReadStored();
  Status RefreshLive(const std::string& name, const store::Version& live, bool force,
                     std::vector<RevocationView>& out);
  Status CheckVersion(const Version& version, bool force, std::vector<RevocationView>& out);
  std::optional<store::RevocationRecord> Fresh(const Version& version, const std::string& method,
                                               bool force) const;
  const store::RevocationRecord* FreshRecord(const Version& version, std::string_view method,
                                             bool force) const;
  std::optional<std::vector<const store::RevocationRecord*>> FreshWithoutFiles(
      const Version& version, bool force) const;
  store::RevocationRecord OcspRecord(const Version& version);
  store::RevocationRecord CrlRecord(const Version& version);
  Status MarkRevoked(const Version& version, const store::RevocationRecord& answer);
  Result<acme::HttpClient*> Http();

  const EngineContext& ctx_;
  acme::HttpClient* http_;
  std::unique_ptr<acme::HttpClient> owned_http_;
  std::vector<store::RevocationRecord> stored_;
  // stored_ by (certificate, version, method): one lookup per check, not a scan.
  std::map<std::tuple<std::string_view, int, std::string_view>, const store::RevocationRecord*>
      stored_index_;
};

// What `check` reports of these answers: an error for a revoked
// certificate, a warning for one whose status could not be learned, and a
// "good" note (severity "info", which does not fail `check`) for the others.
void AddRevocationFindings(const std::vector<RevocationView>& answers,
                           std::vector<CheckFinding>& findings);

// store <-> view
RevocationView ToView(const store::RevocationRecord& record);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_REVOCATION_H_
