// Leases: who may act on the state, and on which certificate.
//
// A run that changes anything first holds the run lease (AcquireRun): the
// state directory's flock (store/run_lock.h), one mutating run per state
// directory at a time. Work on one certificate is claimed (Claim). On one
// host (FileLeases) the run lease already keeps every other process out. A
// fleet that shares one inventory (SharedLeases) claims a row lease per
// certificate with a time to live, so that two hosts never renew the same
// certificate at once while different certificates proceed in parallel.
//
// Contract for every implementation:
//  - AcquireRun does not wait: when another run holds it, it fails with
//    kLocked naming the holder and a hint. Holding it twice is OK (the second
//    call returns OK at once).
//  - A claim is held until its CertificateClaim is destroyed or its ttl
//    passes, whichever comes first; a holder that dies loses it at the latest
//    after ttl. Claim fails with kLocked while another claim on that
//    certificate is in force, also one this same object handed out (two jobs
//    of one run never work on one certificate at once). An empty name or a
//    ttl that is not positive is kInvalidArgument.
//  - A claim SHOULD be destroyed before the Leases that handed it out; one
//    that outlives it is released safely but no longer excludes anyone.
//  - Implementations are safe to call from several threads (renew --jobs N).
#ifndef CERTKEEPER_STORE_LEASE_H_
#define CERTKEEPER_STORE_LEASE_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::store {

// A held claim on one certificate; released when destroyed.
class CertificateClaim {
 public:
  virtual ~CertificateClaim() = default;
  virtual const std::string& certificate() const = 0;
  // OK while the claim is in force; kLocked once it was lost (its lease could
  // not be renewed in time and may be another host's now). The holder checks
  // before each step that commits (ordering, recording a version) and stops.
  virtual Status Check() const = 0;
};

class Leases {
 public:
  virtual ~Leases() = default;

  // The run lease, held until this object is destroyed.
  virtual Status AcquireRun() = 0;
  // Whether AcquireRun succeeded on this object.
  virtual bool HoldsRun() const = 0;
  // Exclusive work on `certificate` for at most `ttl`.
  virtual Result<std::unique_ptr<CertificateClaim>> Claim(std::string_view certificate,
                                                          Duration ttl) = 0;
};

// The single-host default: the run lease is the flock on
// STATE/certkeeper.lock; other processes are kept out by the run lease (one
// run per state directory), so Claim succeeds only while the run lease is
// held, and claims exclude each other within this object.
std::unique_ptr<Leases> FileLeases(const std::string& state_dir);

class FleetStore;

// A fleet's leases: the run lease is the state directory's flock as above; a
// claim is a lease row in the shared inventory (FleetStore::TryLease), taken
// for ttl and renewed every ttl / 3 by a background thread while the claim
// lives, released when it is destroyed. A claim another host holds is
// kLocked naming that host. Lease times come from `clock`: the fleet's hosts
// MUST keep their clocks in step (NTP), since skew shortens or stretches a
// lease by as much. `store` and `clock` MUST outlive the Leases and its claims.
std::unique_ptr<Leases> SharedLeases(const std::string& state_dir, FleetStore* store,
                                     std::string host, Clock* clock);

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_LEASE_H_
