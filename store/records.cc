#include "store/records.h"

#include <array>
#include <utility>

namespace certkeeper::store {

namespace {

template <typename E, size_t N>
Result<E> ParseName(const std::array<std::pair<E, std::string_view>, N>& table,
                    std::string_view name, std::string_view what) {
  for (const auto& [value, text] : table) {
    if (text == name) return value;
  }
  return Status(ErrorCode::kProtocol,
                "unknown " + std::string(what) + " '" + std::string(name) + "'")
      .Hint("the inventory was written by a different certkeeper version");
}

template <typename E, size_t N>
std::string_view NameOf(const std::array<std::pair<E, std::string_view>, N>& table,
                        E value) {
  for (const auto& [v, text] : table) {
    if (v == value) return text;
  }
  return "unknown";
}

constexpr std::array<std::pair<VersionState, std::string_view>, 4> kVersionStates{{
    {VersionState::kIssued, "issued"},
    {VersionState::kDeployed, "deployed"},
    {VersionState::kDeployFailed, "deploy_failed"},
    {VersionState::kRevoked, "revoked"},
}};

constexpr std::array<std::pair<AttemptOutcome, std::string_view>, 4> kOutcomes{{
    {AttemptOutcome::kRunning, "running"},
    {AttemptOutcome::kSuccess, "success"},
    {AttemptOutcome::kFailed, "failed"},
    {AttemptOutcome::kDeferred, "deferred"},
}};

constexpr std::array<std::pair<StepResult, std::string_view>, 3> kStepResults{{
    {StepResult::kOk, "ok"},
    {StepResult::kFailed, "failed"},
    {StepResult::kSkipped, "skipped"},
}};

constexpr std::array<std::pair<RequestKind, std::string_view>, 3> kRequestKinds{{
    {RequestKind::kNewOrder, "new-order"},
    {RequestKind::kFailedValidation, "failed-validation"},
    {RequestKind::kCertificate, "certificate"},
}};

}  // namespace

std::string AccountScope(std::string_view account_url) {
  return "account:" + std::string(account_url);
}

std::string CertificateScope(std::string_view name) {
  return "certificate:" + std::string(name);
}

std::string_view VersionStateName(VersionState state) {
  return NameOf(kVersionStates, state);
}
std::string_view AttemptOutcomeName(AttemptOutcome outcome) {
  return NameOf(kOutcomes, outcome);
}
std::string_view StepResultName(StepResult result) { return NameOf(kStepResults, result); }
std::string_view RequestKindName(RequestKind kind) { return NameOf(kRequestKinds, kind); }

Result<VersionState> ParseVersionState(std::string_view name) {
  return ParseName(kVersionStates, name, "version state");
}
Result<AttemptOutcome> ParseAttemptOutcome(std::string_view name) {
  return ParseName(kOutcomes, name, "attempt outcome");
}
Result<StepResult> ParseStepResult(std::string_view name) {
  return ParseName(kStepResults, name, "step result");
}
Result<RequestKind> ParseRequestKind(std::string_view name) {
  return ParseName(kRequestKinds, name, "request kind");
}

}  // namespace certkeeper::store
