// Read-only views of the inventory for list, show, history and check. Nothing
// here takes the run lease or asks the CA, and nothing writes except that
// `show` stages a missing next key (next_key.h); a read that fails is an
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
  // The same from facts already read (live version, newest version in any
  // state and newest attempt; null when there is none).
  Result<CertificateView> MakeView(const store::Certificate& cert, const store::Version* live,
                                   const store::Version* latest,
                                   const store::Attempt* last_attempt, bool with_versions);

 private:
  // What the due computation needs about cert (whose wanted names are
  // `domains`), its live version and its newest version (a revoked one newer
  // than the live one makes it due); fills view.renewal_info from the stored
  // window.
  DueInput DueFor(const store::Certificate& cert, std::vector<std::string> domains,
                  const store::Version* live, const store::Version* latest,
                  CertificateView& view) const;
  // MakeView into `view` (default-constructed), taking cert's lists and
  // names instead of copying them: List builds thousands of views in place.
  Status FillView(store::Certificate&& cert, const store::Version* live,
                  const store::Version* latest, const store::Attempt* last_attempt,
                  bool with_versions, CertificateView& view);
  // Whether the configuration asks for a staged next key for `name`.
  bool NextKeyWanted(const std::string& name) const;
  // view.current_key from the live version's certificate and, with next_key
  // on, view.next_key from the staged key, which is staged when missing (the
  // one write of a query: create-if-absent, next_key.h). A failure is put in
  // view.key_pins_error, not returned: the rest of the view stands.
  void AddKeyPins(const store::Certificate& cert, CertificateView& view) const;
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
