// Choosing among the certificate chains a CA offers (RFC 8555 §7.4.2: the
// default chain and the Link rel="alternate" ones).
#ifndef CERTKEEPER_ACME_CHAINS_H_
#define CERTKEEPER_ACME_CHAINS_H_

#include <string>
#include <string_view>

#include "acme/resources.h"

namespace certkeeper::acme {

// The chain whose topmost certificate (the last in the PEM) was issued by
// `issuer_common_name` (its issuer's first CN equals it, case-sensitively, as
// certbot's --preferred-chain compares) or is itself that certificate (its
// subject CN equals it). Candidates in order: the default chain, then the
// alternates; a chain that does not parse is passed over. The default chain
// when none matches or the name is empty. *chosen (optional): -1 for the
// default chain, else the index into chains.alternates.
std::string ChoosePreferredChain(const CertificateChains& chains,
                                 std::string_view issuer_common_name, int* chosen = nullptr);

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_CHAINS_H_
