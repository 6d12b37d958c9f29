// Read-only views of the inventory for list, show, history and check. Nothing
// here writes, takes the run lease or asks the CA; a read that fails is an
// error, never an empty answer.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_QUERY_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_QUERY_H_

#include <string>
#include <vector>

#include "lifecycle/due.h"
#include "lifecycle/engine.h"
#include "lifecycle/engine_context.h"

namespace certkeeper::lifecycle {

class Queries {
 public:
  explicit Queries(const EngineContext& ctx) : ctx_(ctx) {}

  Result<std::vector<CertificateView>> List();
  Result<CertificateView> Show(const std::string& name);
  Result<std::vector<AttemptView>> History(const std::string& name);
  // Expiry, chain, key match, names and live/ of every certificate.
  Result<std::vector<CheckFinding>> Check();

  // The certificate, or kNotFound with a message for people.
  Result<store::Certificate> FindManaged(const std::string& name);
  Result<CertificateView> MakeView(const store::Certificate& cert, bool with_versions);
  // The same from facts already read (live version and newest attempt; null
  // when there is none).
  Result<CertificateView> MakeView(const store::Certificate& cert, const store::Version* live,
                                   const store::Attempt* last_attempt, bool with_versions);

 private:
  // What the due computation needs about cert and its live version; fills
  // view.renewal_info from the stored window.
  DueInput DueFor(const store::Certificate& cert, const store::Version* live,
                  CertificateView& view) const;
  // Checks of one live certificate.
  void CheckOne(const store::Certificate& cert, const std::string& trust, TimePoint now,
                std::vector<CheckFinding>& findings);

  const EngineContext& ctx_;
};

// view.status, status_reason, next_attempt and its reason from the live
// version, the schedule and the due decision. Pure.
void SetStatus(const store::Version* live, const store::Schedule& sched, const DueInput& due,
               const DueDecision& decision, CertificateView& view);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_QUERY_H_
