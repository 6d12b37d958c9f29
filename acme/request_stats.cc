#include "acme/request_stats.h"

namespace certkeeper::acme {

std::string_view RequestKindName(RequestKind kind) {
  switch (kind) {
    case RequestKind::kDirectory: return "directory";
    case RequestKind::kNewNonce: return "newNonce";
    case RequestKind::kNewAccount: return "newAccount";
    case RequestKind::kAccount: return "account";
    case RequestKind::kKeyChange: return "keyChange";
    case RequestKind::kNewOrder: return "newOrder";
    case RequestKind::kOrder: return "order";
    case RequestKind::kAuthorization: return "authz";
    case RequestKind::kChallenge: return "challenge";
    case RequestKind::kPollAuthorization: return "poll-authz";
    case RequestKind::kFinalize: return "finalize";
    case RequestKind::kPollOrder: return "poll-order";
    case RequestKind::kCertificate: return "certificate";
    case RequestKind::kRevoke: return "revoke";
    case RequestKind::kRenewalInfo: return "renewalInfo";
    case RequestKind::kCount: break;
  }
  return "unknown";
}

void RequestStats::Count(RequestKind kind) {
  counts_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
}

int64_t RequestStats::Get(RequestKind kind) const {
  return counts_[static_cast<size_t>(kind)].load(std::memory_order_relaxed);
}

int64_t RequestStats::Total() const {
  int64_t total = 0;
  for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
  return total;
}

std::map<std::string, int64_t> RequestStats::Snapshot() const {
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    int64_t n = counts_[i].load(std::memory_order_relaxed);
    if (n != 0) out[std::string(RequestKindName(static_cast<RequestKind>(i)))] = n;
  }
  return out;
}

void RequestStats::Reset() {
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
}

}  // namespace certkeeper::acme
