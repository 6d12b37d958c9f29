// One endpoint probe: a TLS connection to an [[endpoint]] and the judgement of
// what it served (lifecycle/prober.h runs many of these and records them).
//
// The server is not trusted in any way:
//  - the connect and the handshake together are bounded by the endpoint's
//    timeout (name resolution uses the system resolver and is bounded by its
//    own settings; give addresses where that matters);
//  - what the server may send is bounded: OpenSSL's default limit on the
//    certificate list (100 KiB) applies to the handshake, and at most
//    kMaxServedCertificates certificates are looked at;
//  - every string taken from its certificate is made valid UTF-8 and cut to a
//    bound before it is kept; callers that print them MUST still escape them
//    (cli/output.h), since a certificate may hold terminal control characters.
#ifndef CERTKEEPER_LIFECYCLE_PROBE_TLS_H_
#define CERTKEEPER_LIFECYCLE_PROBE_TLS_H_

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/config.h"
#include "store/monitor_store.h"

namespace certkeeper::lifecycle {

// More certificates than this in one handshake make the chain invalid: no
// public chain is that long (RFC 8446 §4.4.2 allows the sender to send more,
// but a client need not look at them).
inline constexpr size_t kMaxServedCertificates = 10;
// At most this many SAN names of the leaf are kept in the record.
inline constexpr size_t kMaxRecordedNames = 100;

// The roots an endpoint's chain must verify to: PEM text, or empty for the
// system trust store. `error` set: the endpoint's ca_bundle could not be read,
// and no chain verifies (fail closed).
struct ProbeTrust {
  std::string roots_pem;
  std::string error;
};

// The name the leaf must cover: the endpoint's sni, else the host of its
// address (an IP address then, or a DNS name).
std::string ExpectedName(const EndpointSettings& endpoint);

// What the server sent on a completed handshake, judged at `now`: fills
// serial, fingerprint, issuer, names, validity, names_match, chain_valid and
// error of `record` (ok is left as it is). chain_der is leaf first, as served.
void JudgeServedChain(const std::vector<std::string>& chain_der, const std::string& expected_name,
                      const ProbeTrust& trust, TimePoint now, store::ProbeRecord& record);

// Connects to `endpoint` and judges what it serves at `now`. Never fails: a
// connection or handshake that does not complete is a record with ok=false and
// the reason in error. live_match and `at` are left for the caller. Safe to
// call from several threads at once.
store::ProbeRecord ProbeEndpoint(const EndpointSettings& endpoint, const ProbeTrust& trust,
                                 TimePoint now);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_PROBE_TLS_H_
