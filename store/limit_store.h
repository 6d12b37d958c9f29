// LimitStore: waits the CA imposed (Retry-After, RFC 8555 §6.6) that outlive
// the run that received them.
//
// Used by issuance (record a rateLimited answer) and the renewal run (defer
// what a limit in force covers). Part of
// store::Inventory (store/inventory.h), whose general contract (atomicity,
// thread-safety, kNotFound vs kIo) applies to every method here. A limit that
// could not be read is an error, never "no limit": that fails closed toward
// the CA.
#ifndef CERTKEEPER_STORE_LIMIT_STORE_H_
#define CERTKEEPER_STORE_LIMIT_STORE_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/records.h"

namespace certkeeper::store {

class LimitStore {
 public:
  virtual ~LimitStore() = default;

  // Sets or replaces the limit for (server, scope).
  virtual Status SetCaLimit(const CaLimit& limit) = 0;
  // The limit for (server, scope) if it is still in force at `now`; nullopt
  // only when none is.
  virtual Result<std::optional<CaLimit>> ActiveCaLimit(std::string_view server,
                                                       std::string_view scope,
                                                       TimePoint now) = 0;
  // Every limit in force at `now`, ordered by server and scope.
  virtual Result<std::vector<CaLimit>> ListCaLimits(TimePoint now) = 0;
  virtual Status ClearCaLimit(std::string_view server, std::string_view scope) = 0;
  // Deletes limits that ended before `now`; returns how many.
  virtual Result<int64_t> PruneCaLimits(TimePoint now) = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_LIMIT_STORE_H_
