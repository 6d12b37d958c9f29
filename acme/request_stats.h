// Request accounting: how many requests of each kind a Client sent. The
// benchmark prints these to show how close an issuance is to the protocol's
// minimum (see ARCHITECTURE.md, performance budget).
#ifndef CERTKEEPER_ACME_REQUEST_STATS_H_
#define CERTKEEPER_ACME_REQUEST_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace certkeeper::acme {

enum class RequestKind {
  kDirectory,
  kNewNonce,
  kNewAccount,
  kAccount,             // fetch, update or deactivate the account
  kKeyChange,
  kNewOrder,
  kOrder,               // fetch an order once
  kAuthorization,       // fetch or deactivate an authorization once
  kChallenge,
  kPollAuthorization,
  kFinalize,
  kPollOrder,
  kCertificate,         // default chain and alternates
  kRevoke,
  kRenewalInfo,
  kCount,  // not a kind
};

// "directory", "newNonce", "newAccount", "account", "keyChange", "newOrder",
// "order", "authz", "challenge", "poll-authz", "finalize", "poll-order",
// "certificate", "revoke", "renewalInfo".
std::string_view RequestKindName(RequestKind kind);

// Thread-safe counters. A request is counted once per HTTP exchange, so a
// request retried after badNonce counts twice.
class RequestStats {
 public:
  void Count(RequestKind kind);
  int64_t Get(RequestKind kind) const;
  int64_t Total() const;
  // Kinds with a non-zero count, by name.
  std::map<std::string, int64_t> Snapshot() const;
  void Reset();

 private:
  std::array<std::atomic<int64_t>, static_cast<size_t>(RequestKind::kCount)> counts_{};
};

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_REQUEST_STATS_H_
