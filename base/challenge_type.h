// The ACME challenge types certkeeper can solve, and their wire names: the one
// list every module uses. Config files, the command line, the inventory and the
// CA all carry the name as a string ("dns-01"); this is where a string becomes a
// known type and a type becomes its string.
#ifndef CERTKEEPER_BASE_CHALLENGE_TYPE_H_
#define CERTKEEPER_BASE_CHALLENGE_TYPE_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace certkeeper {

enum class ChallengeType {
  kHttp01,    // RFC 8555 §8.3
  kDns01,     // RFC 8555 §8.4
  kTlsAlpn01  // RFC 8737
};

// Every type, in the default preference order of a certificate that lists none:
// http-01 (no DNS credentials needed), dns-01 (the only one for wildcards),
// tls-alpn-01 (needs port 443 free).
inline constexpr std::array<ChallengeType, 3> kChallengeTypes = {
    ChallengeType::kHttp01, ChallengeType::kDns01, ChallengeType::kTlsAlpn01};

// The wire name, exactly as the CA writes it in a challenge object's "type".
constexpr std::string_view ChallengeTypeName(ChallengeType type) {
  switch (type) {
    case ChallengeType::kHttp01:
      return "http-01";
    case ChallengeType::kDns01:
      return "dns-01";
    case ChallengeType::kTlsAlpn01:
      return "tls-alpn-01";
  }
  return "";
}

// The type whose wire name is exactly `name` (lower case, no surrounding
// spaces: the names are case-sensitive strings in RFC 8555 §8), or nullopt.
std::optional<ChallengeType> ParseChallengeType(std::string_view name);

// "http-01, dns-01 and tls-alpn-01", for hints that list the accepted names.
std::string ChallengeTypeList();

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_CHALLENGE_TYPE_H_
