// Inventory: everything certkeeper remembers between runs, as the sum of small
// interfaces cut along their uses.
//
// A caller SHOULD depend on the parts it uses (docs/store.md maps which part
// serves which job); Inventory is the whole that a backend implements and that
// the default wiring hands out. SqlInventory (store/sql_inventory.h) over
// SQLite is the embedded default; over PostgreSQL it is the inventory a fleet
// shares, with per-certificate leases (SharedLeases, store/lease.h).
//
//   Transactional     store/transaction.h         several calls as one unit
//   AccountStore      store/account_store.h       ACME accounts
//   CertificateStore  store/certificate_store.h   managed certificates, schedule
//   VersionStore      store/version_store.h       issued versions, deploy state
//   AttemptLog        store/attempt_log.h         attempts, steps, audit events
//   RequestLog        store/request_log.h         local rate-limit budgets
//   LimitStore        store/limit_store.h         CA-imposed waits (Retry-After)
//   RenewalInfoStore  store/renewal_info_store.h  ARI windows, CA directories
//   MonitorStore      store/monitor_store.h       probes, revocation, alerts, runs
//   MaterialStore     store/material_store.h      files shared by a fleet's hosts
//   FleetStore        store/fleet_store.h         leases, per-host deliveries
//
// Contract for every implementation, of every part:
//  - Every method is atomic on its own: it either fully happens or not at all.
//    Transaction() groups several calls into one atomic unit; it spans every
//    part of the same inventory object.
//  - Every method is safe to call from several threads at once (the engine runs
//    certificates concurrently with --jobs N).
//  - Reads of a single named thing (GetCertificate, GetVersion, ...) fail with
//    kNotFound when it does not exist; List* methods return an empty vector;
//    Find* / Active* methods returning optional return nullopt.
//  - "Not there" and "could not read" are different answers: a read that could
//    not be done MUST fail with the storage error (kIo, kLocked,
//    kPermissionDenied), never kNotFound, an empty vector, nullopt, or a count
//    of 0. Callers fail closed toward the CA on an error and act on "not
//    there" (issue, register, spend budget).
//  - Malformed input (empty names, unknown certificate) fails with
//    kInvalidArgument or kNotFound and changes nothing.
//  - Times are stored in whole seconds (see store/records.h).
//  - Storage failures are kIo (or kLocked when another process holds the
//    database beyond the busy timeout) and say which database and operation.
//  - Durability: a method that returned OK survives the process being killed.
//    The records that the crash recovery trusts or that record what the CA
//    did already (AddVersion, SetVersionState, RevokeVersion, PutAccount) are
//    on stable storage when the method returns, and so is everything written
//    before them; the rest may wait for the next of those, or for the
//    inventory to close, so a power loss can undo the latest of them, each
//    whole (docs/crash-leftovers.md, "What is synced, and when").
#ifndef CERTKEEPER_STORE_INVENTORY_H_
#define CERTKEEPER_STORE_INVENTORY_H_

#include "store/account_store.h"
#include "store/attempt_log.h"
#include "store/certificate_store.h"
#include "store/fleet_store.h"
#include "store/limit_store.h"
#include "store/material_store.h"
#include "store/monitor_store.h"
#include "store/records.h"
#include "store/renewal_info_store.h"
#include "store/request_log.h"
#include "store/transaction.h"
#include "store/version_store.h"

namespace certkeeper::store {

class Inventory : public Transactional,
                  public AccountStore,
                  public CertificateStore,
                  public VersionStore,
                  public AttemptLog,
                  public RequestLog,
                  public LimitStore,
                  public RenewalInfoStore,
                  public MonitorStore,
                  public MaterialStore,
                  public FleetStore {
 public:
  ~Inventory() override = default;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_INVENTORY_H_
