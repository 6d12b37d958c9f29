// What a deploy delivers: one version of one managed certificate.
#ifndef CERTKEEPER_HOOKS_MATERIAL_H_
#define CERTKEEPER_HOOKS_MATERIAL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace certkeeper::hooks {

struct Material {
  std::string name;                  // the managed certificate's name ("web")
  std::vector<std::string> domains;  // as configured; may contain "*.example.com"
  int64_t version = 0;               // the version number in the inventory
  std::string cert_pem;              // the leaf
  std::string chain_pem;             // the intermediates, leaf-most first
  std::string fullchain_pem;         // cert_pem + chain_pem
  std::string key_pem;               // the private key (never logged)
  std::string fingerprint_sha256;    // lower-case hex SHA-256 of the leaf's DER
  TimePoint not_after;
  // The version's directory under the state directory holding cert.pem,
  // chain.pem, fullchain.pem and privkey.pem; command targets pass these paths.
  std::string files_dir;

  // "web v3", for messages.
  std::string Label() const;
};

// The pre-deploy check: refuses material that must not go live. Checks, in order:
// the leaf parses and matches fingerprint_sha256 (when set); fullchain starts with
// the leaf; the key is the leaf's key; the leaf is valid at `now` (not before
// not_before, not at or after not_after); leaf + chain verify to a trust anchor
// (trust_pem: extra roots such as a test CA; empty: the system store); every
// domain is covered by the leaf's SANs. kFailedPrecondition with a message like
// "refusing to deploy web v3: the chain does not verify (...)" and a hint.
Status CheckMaterial(const Material& material, std::string_view trust_pem, TimePoint now);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_MATERIAL_H_
