// Post-deploy verification: does the server now serve the deployed certificate?
//
// For each endpoint and each domain, a TLS connection with SNI = the domain
// (SniNameFor() for wildcards) fetches the served leaf, and its SHA-256 is compared
// with the deployed one. The comparison is exact, so no trust decision is needed:
// the verifying connection accepts any chain, on its own SSL_CTX only.
// A server may need a moment after its reload, so each check is retried with
// growing intervals, all checks together bounded by VerifyOptions::total_timeout.
#ifndef CERTKEEPER_HOOKS_TLS_VERIFY_H_
#define CERTKEEPER_HOOKS_TLS_VERIFY_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "hooks/endpoint.h"

namespace certkeeper::hooks {

struct VerifyOptions {
  std::chrono::milliseconds total_timeout{10000};  // for all endpoints and domains
  int max_attempts = 8;                            // per endpoint and domain
  std::chrono::milliseconds first_interval{100};   // doubled after each attempt
  std::chrono::milliseconds max_interval{2000};
};

// One attempt: connects to endpoint (each resolved address in turn), completes a
// TLS handshake with SNI `server_name` within `timeout`, returns the lower-case
// hex SHA-256 of the leaf's DER. kUnavailable when nothing answers, kTls when the
// handshake fails, kDeadlineExceeded on timeout. Name resolution uses the system
// resolver and is not covered by the timeout; use addresses for local servers.
Result<std::string> FetchServedFingerprint(const Endpoint& endpoint,
                                           const std::string& server_name,
                                           std::chrono::milliseconds timeout);

// Checks every endpoint x domain. OK when each serves expected_fingerprint;
// otherwise the last failure, e.g. "127.0.0.1:443 serves a3f1... for
// www.example.com, not the deployed b27c..." (kFailedPrecondition) with a hint.
// Sleeps between attempts go through `clock`.
Status VerifyServedCertificates(const std::vector<Endpoint>& endpoints,
                                const std::vector<std::string>& domains,
                                std::string_view expected_fingerprint,
                                const VerifyOptions& options, Clock& clock);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_TLS_VERIFY_H_
