// AttemptLog: what each renewal attempt did, step by step, and the audit trail.
//
// Used by issuance and deployment (start, steps, finish), by the start of a
// mutating run (close attempts a dead process left running), by the planner
// (the latest attempt of every certificate) and by `history` and `show`. Part
// of store::Inventory (store/inventory.h), whose general contract (atomicity,
// thread-safety, kNotFound vs kIo) applies to every method here.
#ifndef CERTKEEPER_STORE_ATTEMPT_LOG_H_
#define CERTKEEPER_STORE_ATTEMPT_LOG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/records.h"

namespace certkeeper::store {

class AttemptLog {
 public:
  virtual ~AttemptLog() = default;

  // ---- Attempts ----

  // Records a new running attempt (outcome, finished_at and steps are ignored)
  // and returns its id.
  virtual Result<int64_t> StartAttempt(const Attempt& attempt) = 0;
  // Appends a step and returns its seq. Output longer than kMaxStepOutputBytes
  // is cut and marked as cut; every free-text field is stored as valid UTF-8
  // within the bounds of records.h (kMaxStoredTextBytes, ...).
  virtual Result<int> AddAttemptStep(int64_t attempt_id, const AttemptStep& step) = 0;
  // Closes a running attempt (kFailedPrecondition if it is not running).
  // end.outcome must not be kRunning.
  virtual Status FinishAttempt(int64_t attempt_id, const AttemptEnd& end) = 0;
  virtual Result<Attempt> GetAttempt(int64_t attempt_id) = 0;
  // Newest first, with steps; limit <= 0 means all.
  virtual Result<std::vector<Attempt>> ListAttempts(std::string_view certificate,
                                                    int limit) = 0;
  // The newest attempt (as ListAttempts(name, 1) returns it) of every
  // certificate that has one, by certificate name.
  virtual Result<std::map<std::string, Attempt>> LatestAttempts() = 0;
  // Closes every attempt still `running` as failed with error type
  // "interrupted": they were left by a process that died. Call only while
  // holding the run lease (store/lease.h), else a concurrent run's attempts
  // would be closed. With `host` (a fleet sharing the inventory), only the
  // attempts that host started (and those recorded without a host) are
  // closed: the other hosts' running attempts are theirs. Returns how many
  // were closed.
  virtual Result<int> CloseInterruptedAttempts(
      TimePoint now, std::optional<std::string_view> host = std::nullopt) = 0;

  // ---- Audit trail ----

  // Returns the event's id.
  virtual Result<int64_t> AddEvent(const Event& event) = 0;
  // Newest first; certificate unset means all events; limit <= 0 means all.
  virtual Result<std::vector<Event>> ListEvents(std::optional<std::string> certificate,
                                                int limit) = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_ATTEMPT_LOG_H_
