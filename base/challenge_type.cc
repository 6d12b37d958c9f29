#include "base/challenge_type.h"

namespace certkeeper {

std::optional<ChallengeType> ParseChallengeType(std::string_view name) {
  for (ChallengeType type : kChallengeTypes) {
    if (ChallengeTypeName(type) == name) return type;
  }
  return std::nullopt;
}

std::string ChallengeTypeList() {
  std::string out;
  for (size_t i = 0; i < kChallengeTypes.size(); ++i) {
    if (i > 0) out += i + 1 == kChallengeTypes.size() ? " and " : ", ";
    out += ChallengeTypeName(kChallengeTypes[i]);
  }
  return out;
}

}  // namespace certkeeper
