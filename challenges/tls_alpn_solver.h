// TLS-ALPN-01 (RFC 8737) answered by a TLS listener of our own: for hosts where
// port 443 is free (or where a proxy hands "acme-tls/1" connections to us).
#ifndef CERTKEEPER_CHALLENGES_TLS_ALPN_SOLVER_H_
#define CERTKEEPER_CHALLENGES_TLS_ALPN_SOLVER_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "challenges/self_check.h"
#include "challenges/solver.h"

namespace certkeeper::challenges {

class TlsAlpnListener;

// The ALPN protocol name of RFC 8737 §6.2 and the OID of the id-pe-acmeIdentifier
// certificate extension (RFC 8737 §6.1).
inline constexpr std::string_view kAcmeTlsAlpnProtocol = "acme-tls/1";
inline constexpr std::string_view kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";

struct TlsAlpnOptions {
  // "host:port", "[ipv6]:port" or ":port" (see ParseListenAddress).
  std::string listen = ":443";
  // A client must finish its handshake within this time, or it is dropped.
  std::chrono::milliseconds handshake_timeout{10000};
  // Bound on the self-connection after Present (connect plus handshake).
  std::chrono::milliseconds self_check_timeout{3000};
};

// A TLS 1.2/1.3 listener on its own thread. For a ClientHello that offers ALPN
// "acme-tls/1" and names one of the presented identifiers in its SNI, it
// negotiates "acme-tls/1" and presents a freshly generated self-signed
// certificate (EC P-256) whose only subjectAltName is that name and which
// carries the critical acmeIdentifier extension holding
// SHA-256(key authorization) as a DER OCTET STRING (RFC 8737 §3). Every other
// client is refused during the handshake: without acme-tls/1 with a
// no_application_protocol alert, with an unknown or missing SNI with an
// unrecognized_name alert. No application data is ever exchanged.
//
// One thread multiplexes every connection's non-blocking handshake with poll(),
// so idle or slow clients cannot hold the listener: each has handshake_timeout
// to finish (at most 3 s while it has sent nothing), at most 256 are open at
// once, and at the cap a new client closes the oldest one that has sent nothing
// (or else the oldest). Memory stays within a few MB.
//
// The listener runs from the first Present until CleanUp has removed the last
// identifier (or the solver is destroyed); Present may be called again while it
// runs. Stopping wakes the thread, joins it and closes the listening socket,
// so the port is free when CleanUp returns.
//
// Self-checks: SelfCheck binds and releases the listen address. Present connects
// to the listener (to the loopback address when it listens on all addresses)
// offering acme-tls/1 with each identifier as SNI, and fails unless the
// certificate served is exactly the one generated, with the right extension.
class TlsAlpnSolver : public Solver {
 public:
  static Result<std::unique_ptr<TlsAlpnSolver>> Create(const TlsAlpnOptions& options);
  ~TlsAlpnSolver() override;
  TlsAlpnSolver(const TlsAlpnSolver&) = delete;
  TlsAlpnSolver& operator=(const TlsAlpnSolver&) = delete;

  std::string_view type() const override { return kTlsAlpn01; }
  Status SelfCheck(const std::vector<ChallengeTask>& tasks) override;
  Status Present(const std::vector<ChallengeTask>& tasks) override;
  Status CleanUp(const std::vector<ChallengeTask>& tasks) override;
  std::vector<SolverNote> TakeNotes() override;
  // Counts the acme-tls/1 handshakes completed for a task's name since Present.
  std::optional<ServedWaitResult> AwaitServed(const ChallengeTask& task,
                                              const ServedWaitOptions& options) override;

  const ListenAddress& listen_address() const { return address_; }
  // The port the listener is bound to (useful with port 0); 0 when stopped.
  int bound_port() const { return bound_port_; }
  bool listening() const { return listener_ != nullptr; }

 private:
  TlsAlpnSolver(const TlsAlpnOptions& options, ListenAddress address);
  Status Stop();
  // Connects as a validating server would (SNI sni, the identifier's name or
  // reverse-mapping name) and checks what is served.
  Status Probe(const ChallengeTask& task, const std::string& sni,
               const std::string& expected_der);

  TlsAlpnOptions options_;
  ListenAddress address_;
  std::unique_ptr<TlsAlpnListener> listener_;
  // Shared with the listener's thread, which counts each handshake by SNI.
  std::shared_ptr<ServedSignal> served_ = std::make_shared<ServedSignal>();
  int bound_port_ = 0;
  std::vector<SolverNote> notes_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_TLS_ALPN_SOLVER_H_
