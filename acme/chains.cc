#include "acme/chains.h"

#include <vector>

#include "base/crypto.h"

namespace certkeeper::acme {

namespace {

bool TopMatches(const std::string& pem, std::string_view name) {
  auto certs = SplitPemCertificates(pem);
  if (!certs.ok() || certs->empty()) return false;
  auto top = ParseCertificatePem(certs->back());
  if (!top.ok()) return false;
  return top->issuer_common_name == name || top->subject_common_name == name;
}

}  // namespace

std::string ChoosePreferredChain(const CertificateChains& chains,
                                 std::string_view issuer_common_name, int* chosen) {
  if (chosen != nullptr) *chosen = -1;
  if (issuer_common_name.empty() || TopMatches(chains.pem, issuer_common_name)) {
    return chains.pem;
  }
  for (size_t i = 0; i < chains.alternates.size(); ++i) {
    if (TopMatches(chains.alternates[i], issuer_common_name)) {
      if (chosen != nullptr) *chosen = static_cast<int>(i);
      return chains.alternates[i];
    }
  }
  return chains.pem;
}

}  // namespace certkeeper::acme
