// RequestLog: the requests certkeeper sent to each CA, behind the local
// rate-limit budgets (new orders, failed validations, certificates per
// registered domain) that keep a run inside the CA's published limits.
//
// Used by issuance (record each request) and by the renewal run (check each
// budget before the next order). Part of
// store::Inventory (store/inventory.h), whose general contract (atomicity,
// thread-safety, kNotFound vs kIo) applies to every method here. A count that
// could not be read is an error, never 0: a budget read as empty would let a
// run spend the CA's limit.
#ifndef CERTKEEPER_STORE_REQUEST_LOG_H_
#define CERTKEEPER_STORE_REQUEST_LOG_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/records.h"

namespace certkeeper::store {

// Requests inside a window, as RequestLog::WindowSince counts them.
struct RequestWindow {
  int64_t count = 0;
  std::optional<TimePoint> oldest;
};

class RequestLog {
 public:
  virtual ~RequestLog() = default;

  virtual Status RecordRequest(const RequestRecord& request) = 0;
  // Requests of `kind` to `server` at or after `since`. An empty account_url or
  // key matches every value (e.g. certificates per registered domain across
  // all accounts).
  virtual Result<int64_t> CountSince(std::string_view server,
                                     std::string_view account_url, RequestKind kind,
                                     std::string_view key, TimePoint since) = 0;
  // CountSince with the same arguments, plus the oldest matching request (unset
  // when none): its leaving a window is when a budget slot frees up.
  virtual Result<RequestWindow> WindowSince(std::string_view server,
                                            std::string_view account_url, RequestKind kind,
                                            std::string_view key, TimePoint since) = 0;
  // Every request to `server` at or after `since`, oldest first: one read
  // from which a caller counts every budget window in memory (a renewal run
  // over many certificates must not cost a query per certificate and limit).
  virtual Result<std::vector<RequestRecord>> ListRequestsSince(std::string_view server,
                                                               TimePoint since) = 0;
  // Forgets requests older than `before`; returns how many.
  virtual Result<int64_t> PruneRequests(TimePoint before) = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_REQUEST_LOG_H_
