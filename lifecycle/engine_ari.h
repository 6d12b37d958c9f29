// ACME Renewal Information (RFC 9773) on timer runs (engine_ari.cc): each live
// certificate's suggested window is fetched when its stored next-fetch time
// has come, a renewal time is chosen inside it once (and kept while the window
// does not change), and both are stored so that the next run decides without
// asking. Whether the CA offers renewal information at all is remembered from
// its directory, so a run over a CA without it sends no request.
//
// Thread-safe (renew --jobs).
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_ARI_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_ARI_H_

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "acme/resources.h"
#include "lifecycle/due.h"
#include "lifecycle/engine_account.h"
#include "lifecycle/engine_context.h"

namespace certkeeper::lifecycle {

class RenewalInfoTracker {
 public:
  RenewalInfoTracker(const EngineContext& ctx, Accounts& accounts)
      : ctx_(ctx), accounts_(accounts) {}

  // Starts a new run: forgets the remembered directory (an engine that lives
  // for many runs neither keeps a failure nor a stale URL) and the run's count
  // of unreachable fetches.
  void ForgetDirectory();
  // Stores what the CA's directory offers (once per run).
  void RememberDirectory(size_t ca, const acme::Directory& directory);
  // Answers from the inventory when it is fresh, otherwise fetches the
  // directory (once per run, also when that fails).
  Result<std::string> RenewalInfoUrl(size_t ca);
  // Fetches the window for the live version when its next fetch time has
  // come, stores it and returns what applies now (nullopt when the CA offers
  // no renewal information). A fetch that fails keeps what is stored. The
  // CA asked is the one that issued `live` (the first for an older version).
  std::optional<store::RenewalInfoRecord> Refresh(
      const std::string& name, const store::Version& live,
      const std::optional<store::RenewalInfoRecord>& stored);

 private:
  // Applies a fetched window to `next` (a new window gets a new time).
  void ApplyWindow(const std::string& name, const acme::RenewalInfo& info,
                   const std::string& url, TimePoint now, store::RenewalInfoRecord& next);

  const EngineContext& ctx_;
  Accounts& accounts_;
  std::atomic<int> unavailable_streak_{0};
  std::mutex mu_;
  struct PerCa {
    std::optional<std::string> renewal_info_url;
    Status directory_error;
    bool directory_recorded = false;
  };
  std::map<size_t, PerCa> cas_;  // guarded by mu_
};

// The stored renewal window and chosen time when they belong to the live
// version `live_version` and a fetch succeeded; nullopt otherwise.
std::optional<AriSchedule> StoredAriSchedule(
    const std::optional<store::RenewalInfoRecord>& info, int live_version);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_ARI_H_
