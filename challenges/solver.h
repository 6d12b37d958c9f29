// The Solver interface: one implementation per way of proving control of an
// identifier (RFC 8555 §8). The lifecycle engine drives solvers in the order a
// certificate lists them and fails over from one type to the next.
#ifndef CERTKEEPER_CHALLENGES_SOLVER_H_
#define CERTKEEPER_CHALLENGES_SOLVER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/challenge_type.h"
#include "base/status.h"
#include "challenges/served_signal.h"

namespace certkeeper::challenges {

// The wire names Solver::type() returns (base/challenge_type.h has the list).
inline constexpr std::string_view kHttp01 = ChallengeTypeName(ChallengeType::kHttp01);
inline constexpr std::string_view kDns01 = ChallengeTypeName(ChallengeType::kDns01);
inline constexpr std::string_view kTlsAlpn01 = ChallengeTypeName(ChallengeType::kTlsAlpn01);

// One challenge to make answerable. The engine fills every field; the token has
// already been checked to be base64url.
struct ChallengeTask {
  std::string identifier;         // DNS name as in the authorization, e.g.
                                  // "example.com" (no "*." even for wildcards),
                                  // or an "ip" identifier's canonical address
                                  // (RFC 8738 §3): "192.0.2.1", "2001:db8::1";
                                  // solvers tell the two apart by the value
                                  // (base/names.h IsIpAddress)
  bool wildcard = false;          // the order asked for "*.identifier"
  std::string token;              // challenge token (RFC 8555 §8.1)
  std::string key_authorization;  // token "." base64url(JWK thumbprint)
};

// What a solver did, for the attempt record (shown by `certkeeper history`).
struct SolverNote {
  std::string identifier;
  std::string message;  // e.g. "TXT record visible at 127.0.0.1:53 after 40ms"
};

// Contract:
//  - SelfCheck MUST be cheap and MUST NOT contact the CA; it says whether this
//    solver can possibly work for these identifiers right now (can bind its
//    listener, provider reachable, ...). An error here makes the engine move to the
//    next challenge type at no cost at the CA.
//  - Present makes every task answerable and, where it can, verifies that from
//    outside (fetches its own token, sees the TXT record at the authoritative
//    servers) before returning OK. It is called once per batch of tasks.
//  - CleanUp MUST be called after Present (also after Present failed half way) and
//    MUST remove everything Present left: token files, TXT records, listeners. It
//    is best-effort and idempotent: errors are returned for the record but never
//    stop the engine.
//  - Implementations are used from one thread at a time per instance unless they
//    document otherwise.
class Solver {
 public:
  virtual ~Solver() = default;
  virtual std::string_view type() const = 0;  // kHttp01, kDns01 or kTlsAlpn01
  virtual Status SelfCheck(const std::vector<ChallengeTask>& tasks) = 0;
  virtual Status Present(const std::vector<ChallengeTask>& tasks) = 0;
  virtual Status CleanUp(const std::vector<ChallengeTask>& tasks) = 0;
  // Notes gathered since the last call (self-check details, provider output).
  virtual std::vector<SolverNote> TakeNotes() { return {}; }
  // Optional, for solvers that answer the CA's validation requests themselves:
  // called after the challenge was POSTed, returns once the CA fetched the
  // answer for `task` (presented earlier) and stopped, or at options'
  // timeouts (challenges/served_signal.h). Requests the solver made itself
  // during Present do not count. nullopt: this solver cannot see the CA's
  // requests (DNS-01, webroot), the caller polls on its schedule.
  virtual std::optional<ServedWaitResult> AwaitServed(const ChallengeTask& task,
                                                      const ServedWaitOptions& options) {
    (void)task;
    (void)options;
    return std::nullopt;
  }
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_SOLVER_H_
