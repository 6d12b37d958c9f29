// Transactional: grouping several inventory calls into one atomic unit.
//
// Part of store::Inventory (store/inventory.h), whose general contract
// (atomicity, thread-safety, kNotFound vs kIo) applies here.
#ifndef CERTKEEPER_STORE_TRANSACTION_H_
#define CERTKEEPER_STORE_TRANSACTION_H_

#include <functional>

#include "base/status.h"

namespace certkeeper::store {

class Transactional {
 public:
  virtual ~Transactional() = default;

  // Runs fn as one transaction: when fn returns OK every change it made through
  // this inventory is committed (as durable as the most durable method called
  // inside it: see "Durability" in store/inventory.h); when it returns an
  // error nothing it did is kept and that error is returned. Calls may nest (an inner call joins
  // the outer transaction; its failure undoes only its own changes). While fn
  // runs, other threads' calls on this inventory wait; fn must not wait for
  // another thread that uses this inventory.
  virtual Status Transaction(const std::function<Status()>& fn) = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_TRANSACTION_H_
