// The Solver interface: one implementation per way of proving control of an
// identifier (RFC 8555 §8). The lifecycle engine drives solvers in the order a
// certificate lists them and fails over from one type to the next.
#ifndef CERTKEEPER_CHALLENGES_SOLVER_H_
#define CERTKEEPER_CHALLENGES_SOLVER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/challenge_type.h"
#include "base/status.h"

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
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_SOLVER_H_
