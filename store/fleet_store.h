// FleetStore: what the hosts of a fleet coordinate through when they share
// one inventory: a lease per certificate, and what each host delivered.
//
// Part of store::Inventory (store/inventory.h), whose general contract
// (atomicity, thread-safety, kNotFound vs kIo) applies here. SharedLeases
// (store/lease.h) builds the Leases seam on the lease rows.
#ifndef CERTKEEPER_STORE_FLEET_STORE_H_
#define CERTKEEPER_STORE_FLEET_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::store {

// Who may work on a certificate, and until when. A lease whose expires_at has
// passed is free, whoever holds it.
struct LeaseRecord {
  std::string certificate;
  std::string holder;  // the host name, for people
  std::string token;   // unique per claim: only the claim that took it renews or releases it
  TimePoint expires_at;
};

// The newest version a host delivered (or failed to) for one certificate.
struct HostDeployment {
  std::string certificate;
  std::string host;
  int version = 0;
  std::string state;  // "deployed" or "failed"
  TimePoint at;
  std::string error;  // why it failed; empty when deployed
};

class FleetStore {
 public:
  virtual ~FleetStore() = default;

  // Takes the lease on `certificate` for `token` until `until` when it is
  // free at `now` (never held, released, or expired) or already `token`'s.
  // Never waits for another host: a lease row another host is taking at this
  // moment counts as held (SELECT ... FOR UPDATE SKIP LOCKED). Returns the
  // lease in force afterwards; it is the caller's when its token is `token`.
  virtual Result<LeaseRecord> TryLease(std::string_view certificate, std::string_view holder,
                                       std::string_view token, TimePoint now,
                                       TimePoint until) = 0;
  // Extends the lease while `token` holds it and it has not expired at `now`;
  // false when it was lost (expired and taken, or released).
  virtual Result<bool> RenewLease(std::string_view certificate, std::string_view token,
                                  TimePoint now, TimePoint until) = 0;
  // Frees the lease when `token` holds it; OK when it does not.
  virtual Status ReleaseLease(std::string_view certificate, std::string_view token) = 0;
  // Every lease row, released ones included, by certificate.
  virtual Result<std::vector<LeaseRecord>> ListLeases() = 0;

  // Records what `deployment.host` delivered, replacing its previous row for
  // that certificate. kInvalidArgument for an empty host or certificate, or a
  // state other than "deployed"/"failed".
  virtual Status PutHostDeployment(const HostDeployment& deployment) = 0;
  // By certificate, then host; only `certificate`'s when given.
  virtual Result<std::vector<HostDeployment>> ListHostDeployments(
      std::optional<std::string_view> certificate) = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_FLEET_STORE_H_
